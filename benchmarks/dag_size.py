"""How long Snakemake takes to plan the workflow (``snakemake -n``) as the grid grows.

Writes a config that amends ``config/quick.yaml`` with an autoencoder sweep of N latent
sizes (N configurations, each trained once per seed, exported, evaluated), runs a dry run
on it in a scratch folder, and prints the jobs planned and the seconds taken for each N:

    .venv/bin/python benchmarks/dag_size.py                 # N = 100 and 1 000
    .venv/bin/python benchmarks/dag_size.py --sizes 10 100 1000 --seeds 0 1 2

Nothing is trained; the dry run only reads the config, builds the grids and the DAG.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def dry_run(workdir: Path, size: int, seeds: list[int]) -> tuple[int, float]:
    amend = workdir / f"grid-{size}.yaml"
    amend.write_text(
        yaml.safe_dump(
            {"seeds": seeds, "autoencoder": {"sweeps": {"latent": list(range(1, size + 1))}}}
        )
    )
    command = [str(SNAKEMAKE), "-n", "--quiet", "rules", "--cores", "2",
               "--configfile", "config/quick.yaml", str(amend)]  # fmt: skip
    started = time.perf_counter()
    out = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"snakemake -n failed for {size} configurations:\n{out.stderr[-3000:]}")
    total = re.search(r"^total\s+(\d+)", out.stdout + out.stderr, re.MULTILINE)
    return int(total.group(1)) if total else -1, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        for name in ("Snakefile", "rules", "scripts", "config", "report", "profiles"):
            source = ROOT / name
            copy = shutil.copytree if source.is_dir() else shutil.copy2
            copy(source, workdir / name)
        print(f"snakemake -n, quick config + an autoencoder sweep, seeds {args.seeds}\n")
        print("| autoencoder configurations | jobs planned | seconds |")
        print("|---|---|---|")
        for size in args.sizes:
            jobs, seconds = dry_run(workdir, size, args.seeds)
            print(f"| {size:,} | {jobs:,} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
