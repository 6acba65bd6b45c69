"""Where a report's numbers come from: the code's commit (and whether the working tree
had uncommitted changes), the configuration files and their hashes, the versions of
Python, PyTorch and Snakemake, the machine's device, the date, and the wall time of
each stage (summed over its jobs, from Snakemake's benchmark files).

Plain functions of paths and strings: the caller (the report rule's script) passes the
workflow's folder and the configuration files it was run with.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

UNKNOWN = "unknown"


def git_commit(folder: str | Path) -> str:
    """``<commit> (clean)`` or ``<commit> (uncommitted changes)`` of the git checkout
    holding ``folder``; "not a git checkout" (or git missing) otherwise."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"{commit} ({'uncommitted changes' if dirty else 'clean'})"


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex; a missing file is a FileNotFoundError naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"configuration file {path} does not exist")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def config_digests(config_files) -> list[tuple[str, str]]:
    """``(file name, sha256)`` of each configuration file: what the report shows, and a
    value that does not change when the files or the checkout move (only when a file's
    content does), so that passing it to the report rule reruns nothing after a move."""
    return [(Path(f).name, file_sha256(f)) for f in config_files]


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def device_name(device: str) -> str:
    """The GPU's name for a CUDA device, else the CPU's model (``/proc/cpuinfo`` on Linux,
    ``platform.processor()`` elsewhere)."""
    import torch

    if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()):
        if torch.cuda.is_available():
            index = torch.device(device if device != "auto" else "cuda").index or 0
            return f"{torch.cuda.get_device_name(index)} ({device})"
    cpu = platform.processor() or UNKNOWN
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"CPU: {cpu} ({device})"


def provenance(
    folder: str | Path, config_digests, device: str, now: datetime | None = None
) -> dict:
    """The report's provenance rows, label → text; ``config_digests`` as made by
    :func:`config_digests`."""
    import torch

    now = now or datetime.now(UTC)
    configs = "; ".join(f"{name} (sha256 {sha[:16]})" for name, sha in config_digests) or "none"
    return {
        "Code commit": git_commit(folder),
        "Configuration files": configs,
        "Python": sys.version.split()[0],
        "PyTorch": torch.__version__,  # with its build (+cu130), which metadata drops
        "Snakemake": package_version("snakemake"),
        "Device of the report job": device_name(device),
        "Date (UTC)": now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
    }


def duration_text(seconds: float) -> str:
    """``3 h 05 min``, ``4 min 07 s``, ``12.3 s``."""
    if seconds >= 3600:
        hours, rest = divmod(round(seconds / 60), 60)
        return f"{hours} h {rest:02d} min"
    if seconds >= 60:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest:02d} s"
    return f"{seconds:.1f} s"


def stage_times(benchmarks: dict) -> str:
    """``{stage: [benchmark files]}`` → "autoencoder training 1 h 02 min over 60 jobs;
    …": the wall-clock seconds (column ``s``) Snakemake's ``benchmark:`` recorded for
    each job, summed per stage. A job resumed after an interruption counts its last
    run only."""
    import pandas as pd

    parts = []
    for stage, paths in benchmarks.items():
        paths = list(paths)
        seconds = sum(float(pd.read_csv(p, sep="\t")["s"].sum()) for p in paths)
        jobs = f"{len(paths)} job{'s' * (len(paths) != 1)}"
        parts.append(f"{stage} {duration_text(seconds)} over {jobs}")
    return "; ".join(parts) + " (each job's wall clock, summed; Snakemake benchmarks)"
