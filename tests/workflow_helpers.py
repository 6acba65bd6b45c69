"""Running real snakemake on a private copy of the workflow, and reading its plan.

A run that trains goes to a ``snakemake`` process of its own (:func:`run`). A dry run, and
a run that must stop while the workflow is parsed, can run in this process instead
(:func:`in_process`, through Snakemake's own command-line entry point): the same
arguments and the same output, without a Python start and Snakemake's imports each time
(about 60 % of a dry run's CPU time).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_PARTS = ["Snakefile", "rules", "scripts", "config", "envs", "report", "aeflow", "profiles"]


def snakemake_bin() -> str:
    local = Path(sys.executable).with_name("snakemake")
    return str(local) if local.exists() else shutil.which("snakemake")


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow and the package, so that edits in a test touch only the copy."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / part)
    return dest


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def command(workflow: Path, configfile: Path, *args: str) -> list[str]:
    """snakemake on a workflow copy, run in that copy."""
    return [snakemake_bin(), "--snakefile", str(workflow / "Snakefile"), "--directory",
            str(workflow), *args, "--configfile", str(configfile)]  # fmt: skip


def environment(workflow: Path, **extra: str) -> dict:
    """The environment for it: the copy's package first on the import path."""
    return {**os.environ, **extra, "PYTHONPATH": str(workflow)}


def in_process(argv: list[str], env: dict) -> subprocess.CompletedProcess:
    """``snakemake *argv`` run in this process, under ``env`` (the process's environment
    while it runs): Snakemake's ``main``, its exit status and its output (stdout and
    stderr together, as ``stdout``). The working directory, environment and import path
    are restored afterwards (the Snakefile puts the workflow's folder first on both; a
    workflow copy's package is the repository's, byte for byte, so the one imported
    here is the same code)."""
    from snakemake.cli import main

    cwd, environ, path = os.getcwd(), dict(os.environ), list(sys.path)
    output = io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            try:
                main(argv)
                code = 0
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
    return subprocess.CompletedProcess(["snakemake", *argv], code, output.getvalue(), "")


def run(
    workflow: Path,
    configfile: Path,
    *args: str,
    check: bool = True,
    timeout=900,
    separate: bool = True,
    env: dict | None = None,
):
    """Run snakemake with the copy's package first on the import path: in a process of
    its own (``separate``, for runs that train), else in this one (:func:`in_process`:
    dry runs, and runs that must stop while the workflow is parsed). ``env``: the
    environment (:func:`environment` by default)."""
    env = environment(workflow) if env is None else env
    command_ = command(workflow, configfile, "--cores", "2", *args)
    if separate:
        result = subprocess.run(command_, capture_output=True, text=True, env=env, timeout=timeout)
    else:
        result = in_process(command_[1:], env)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
        )
    return result


def planned(workflow: Path, configfile: Path) -> dict[str, int]:
    """Jobs a dry run would execute, by rule (empty when nothing is to be done)."""
    result = run(workflow, configfile, "--dry-run", separate=False)
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:", 1)[1]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)
        if m.group(1) != "total"
    }


def finished_run(root: Path, make_config, name: str, n_train: int, n_test: int):
    """Synthetic IDX files, a workflow copy and a finished run of ``make_config(source,
    checksums)`` under ``root``; returns ``(workflow, config, root)``, the config written
    to ``root / f"{name}.yaml"``."""
    from conftest import write_idx_dataset

    source = root / "source"
    checksums = write_idx_dataset(source, n_train, n_test)
    workflow = copy_workflow(root / "wf")
    config = make_config(source, checksums)
    run(workflow, write_config(root / f"{name}.yaml", config))
    return workflow, config, root


def dry_run_jobs(workflow: Path, configfile: Path, *args: str) -> dict[tuple[str, str], set[str]]:
    """Jobs a dry run would execute: {(rule, its outputs; "" for none): its input files}."""
    result = run(workflow, configfile, "--dry-run", *args, separate=False)
    jobs = {}
    for block in re.split(r"^(?=(?:local)?rule \w+:$)", result.stdout + result.stderr,
                          flags=re.MULTILINE)[1:]:  # fmt: skip
        rule = re.match(r"(?:local)?rule (\w+):", block).group(1)
        output = re.search(r"^    output: (.*)$", block, re.MULTILINE)
        inputs = re.search(r"^    input: (.*)$", block, re.MULTILINE)
        key = (rule, output.group(1).strip() if output else "")
        jobs[key] = set(inputs.group(1).split(", ")) if inputs else set()
    return jobs


def planned_jobs(workflow: Path, configfile: Path, *args: str) -> set[tuple[str, str]]:
    """The exact plan of a dry run: each job as (rule, its outputs), where ``planned``
    counts jobs by rule."""
    return set(dry_run_jobs(workflow, configfile, *args))


def with_downstream(graph: dict[tuple[str, str], set[str]], jobs: set) -> set:
    """``jobs`` and every job of ``graph`` (from ``dry_run_jobs(..., "--forceall")``)
    that reads, directly or not, an output of one of them."""
    out = set(jobs)
    while True:
        made = {f for _, outputs in out for f in outputs.split(", ") if f}
        more = {job for job, inputs in graph.items() if job not in out and inputs & made}
        if not more:
            return out
        out |= more
