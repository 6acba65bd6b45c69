"""Workflow overhead of the training jobs of a finished run: each job's wall time (from
Snakemake's ``benchmark:`` files) minus its training time (from the tables).

    .venv/bin/snakemake --cores 2 --configfile config/quick.yaml
    .venv/bin/python benchmarks/workflow_overhead.py            # reads ./results

What is left is start-up (Python, torch, pandas), loading the split, and writing the
model and its history: the cost of one job that does not depend on epochs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def overhead(results: Path) -> pd.DataFrame:
    trained = pd.concat(
        pd.read_parquet(results / "tables" / f"{kind}_metrics.parquet")[
            ["model_id", "seed", "train_seconds"]
        ]
        for kind in ("autoencoder", "classifier")
    )
    rows = []
    for rule in ("train_autoencoder", "train_classifier"):
        for tsv in sorted((results / "benchmarks" / rule).glob("*_seed*.tsv")):
            model_id, seed = tsv.stem.rsplit("_seed", 1)
            wall = pd.read_csv(tsv, sep="\t")["s"].iloc[0]
            row = trained[(trained.model_id == model_id) & (trained.seed == int(seed))]
            if row.empty:  # a benchmark of a configuration no longer in the tables
                continue
            train = float(row["train_seconds"].iloc[0])
            rows.append({"rule": rule, "model_id": model_id, "seed": int(seed),
                         "wall_s": wall, "train_s": train, "overhead_s": wall - train})  # fmt: skip
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    args = parser.parse_args()
    table = overhead(args.results)
    if table.empty:
        raise SystemExit(f"no training benchmarks under {args.results}: run the workflow first")
    print(table.to_string(index=False, float_format="%.2f"))
    print()
    print(table.groupby("rule")["overhead_s"].describe()[["count", "min", "50%", "max"]]
          .rename(columns={"50%": "median"}).to_string(float_format="%.2f"))  # fmt: skip


if __name__ == "__main__":
    main()
