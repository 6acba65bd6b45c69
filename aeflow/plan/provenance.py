"""Where a report's numbers come from: the code's commit (and whether the working tree
had uncommitted changes), the configuration files and their hashes, package versions.

Parse time (standard library only): ``rules/report.smk`` hashes the configuration files
on every ``snakemake`` start. Plain functions of paths and strings: the caller passes
the workflow's folder and the configuration files it was run with. The report's rows
that need PyTorch or pandas (the device, the wall time per stage) are
:func:`aeflow.report.document.provenance_rows` and :func:`aeflow.report.document.stage_times`.
"""

from __future__ import annotations

import hashlib
import subprocess
from importlib import metadata
from pathlib import Path


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
