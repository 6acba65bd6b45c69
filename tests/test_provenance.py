"""The report's provenance: commit and dirty tree, configuration hashes, versions, date."""

import hashlib
import shutil
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from aeflow.plan import logs, provenance
from aeflow.report import document as report

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(folder, *args):
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


@needs_git
def test_commit_and_whether_the_tree_was_dirty(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "config.yaml").write_text("a: 1\n")
    git(tmp_path, "add", "config.yaml")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert provenance.git_commit(tmp_path) == f"{head} (clean)"
    (tmp_path / "config.yaml").write_text("a: 2\n")
    assert provenance.git_commit(tmp_path) == f"{head} (uncommitted changes)"


def test_outside_a_checkout_says_so(tmp_path):
    assert provenance.git_commit(tmp_path / "nowhere") == "not a git checkout"


def test_configuration_files_are_hashed_and_a_missing_one_is_named(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_bytes(b"seeds: [0]\n")
    assert provenance.file_sha256(config) == hashlib.sha256(b"seeds: [0]\n").hexdigest()
    with pytest.raises(FileNotFoundError, match="configuration file .*missing.yaml does not exist"):
        provenance.file_sha256(tmp_path / "missing.yaml")


def test_provenance_rows(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_bytes(b"x: 1\n")
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    digests = provenance.config_digests([config])
    assert digests == [("c.yaml", hashlib.sha256(b"x: 1\n").hexdigest())]
    rows = report.provenance_rows(tmp_path, digests, "cpu", now=when)
    digest = hashlib.sha256(b"x: 1\n").hexdigest()[:16]
    assert rows["Configuration files"] == f"c.yaml (sha256 {digest})"
    assert rows["Python"] == sys.version.split()[0]
    import torch

    assert rows["PyTorch"] == torch.__version__
    assert rows["Snakemake"][0].isdigit()
    assert rows["Device of the report job"].startswith("CPU: ") and rows[
        "Device of the report job"
    ].endswith("(cpu)")
    assert rows["Date (UTC)"] == "2026-01-02 03:04:05"
    assert provenance.package_version("no-such-package-aeflow") == "not installed"


def test_wall_time_per_stage_sums_the_benchmark_files(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    paths = []
    for k, seconds in enumerate([3000.5, 900.0, 0.25]):
        path = tmp_path / f"job{k}.tsv"
        path.write_text(header + f"{seconds}\t0:00:00\t1\t1\t1\t1\t0\t0\t50\t{seconds}\n")
        paths.append(path)
    text = report.stage_times({"autoencoder training": paths[:2], "classifier training": paths[2:]})
    assert text == (
        "autoencoder training 1h05m over 2 jobs; classifier training 0s over 1 job "
        "(each job's wall clock, summed; Snakemake benchmarks)"
    )
    assert logs.duration_text(247) == "4m07s"  # the one duration format: logs'
