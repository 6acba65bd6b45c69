"""Shared fixtures: synthetic Fashion-MNIST-like IDX files and a tiny split of them;
and the rule that under CI no test may skip.

``write_idx_dataset`` is importable by any test module (``from conftest import
write_idx_dataset``) and writes the four gzipped IDX files in the real format, so
the same code path as the real data (checksums, decoding, splitting) is exercised.

A test that needs something the machine may lack (the real data, Chromium, Playwright,
SLURM, root, snakefmt) calls ``pytest.skip`` with what to install. Under CI (the ``CI``
variable set, as ``.ci/run`` does) every skip, ``pytest.importorskip`` and ``skipif``
included, is reported as a failure instead: a CI run that passes ran every test.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest_plugins = ["pytester"]  # tests/test_ci.py runs pytest on this conftest

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
CLASSES = [f"c{i}" for i in range(10)]


def under_ci() -> bool:
    """Whether this run is CI's: the ``CI`` variable set to anything but empty/0/false/no."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(condition: bool, why: str) -> None:
    """Skip the test unless ``condition`` holds; ``why`` says what to install. Under CI,
    a failure (see :func:`pytest_runtest_makereport`)."""
    if not condition:
        pytest.skip(why)


# The suite runs on every core with pytest-xdist (pyproject's addopts: --dist loadfile):
# each test module goes to one worker whole, so a workflow module's shared run (a
# module-scoped fixture) is made once; the quick config's run (``quick_run``), which
# tests/test_realdata.py and tests/test_slurm.py share, is made once for all workers (a
# file lock). The modules with the longest runs start first (a worker takes the next
# module when it is free), so that none of them is left for the end: the order of their
# setup times in `--durations`. xdist keeps this order only with --no-loadscope-reorder
# (pyproject's addopts): by default it reorders the modules by their number of tests, which
# left the SLURM and resume runs to the end (the suite 11:27 before, 9:40 after, with the
# faster job start-ups below; 2026-12-07). (xdist's loadgroup does not group under pytest
# 9.2: it renames node ids through an attribute pytest no longer reads.)
# Each worker's share of the cores for torch's (OpenMP's) threads, and its Snakemake jobs'
# (they inherit the variable): two workers with two threads each on two cores made the
# unit tests 2.9 times slower (82 s against 28 s, `-m "not workflow"`, 2026-12-07).
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1 and "OMP_NUM_THREADS" not in os.environ:
    os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // _WORKERS))
LONGEST_FIRST = ["test_studies_workflow.py", "test_label_efficiency_workflow.py",
                 "test_slurm.py", "test_realdata.py", "test_workflow.py", "test_resume.py"]  # fmt: skip


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: else as collected


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI a skipped test fails, with the skip's reason (an xfail stays an xfail)."""
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and under_ci():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"skipped under CI, where every test must run: {reason}\n"
            "(install what it needs: see .ci/run)"
        )
    return report


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """Raw (uncompressed) IDX bytes of a uint8 array: big-endian magic, dims, payload.

    ``magic`` defaults to the real one (2051 for 3-d images, 2049 for 1-d labels);
    pass another to build a malformed file.
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 + array.ndim  # unsigned byte type (0x08), then the number of dims
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def gzip_bytes(content: bytes, mtime: int = 0) -> bytes:
    """Deterministic gzip (fixed mtime, so the same content gives the same .gz)."""
    return gzip.compress(content, mtime=mtime)


def class_patterns() -> np.ndarray:
    """Ten distinct 28×28 uint8 patterns, one per class (bars, blocks, frames)."""
    patterns = np.zeros((10, 28, 28), dtype=np.uint8)
    for c in range(10):
        p = patterns[c]
        if c < 4:  # a horizontal bar at one of four heights
            p[4 + 6 * c : 8 + 6 * c, 2:26] = 255
        elif c < 8:  # a vertical bar at one of four positions
            k = c - 4
            p[2:26, 4 + 6 * k : 8 + 6 * k] = 255
        elif c == 8:  # a frame
            p[3:25, 3:25] = 255
            p[7:21, 7:21] = 0
        else:  # a centred block
            p[9:19, 9:19] = 255
    return patterns


def synthetic_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image: its class pattern (dimmed at random) plus uniform noise."""
    patterns = class_patterns().astype(np.float32)
    scale = rng.uniform(0.6, 1.0, size=(len(labels), 1, 1)).astype(np.float32)
    noise = rng.uniform(0, 60, size=(len(labels), 28, 28)).astype(np.float32)
    return np.clip(patterns[labels] * scale + noise, 0, 255).astype(np.uint8)


def balanced_labels(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` labels 0..9, as equal per class as ``n`` allows, shuffled."""
    return rng.permutation(np.arange(n) % 10).astype(np.uint8)


def write_idx_dataset(folder, n_train: int = 300, n_test: int = 100, seed: int = 0) -> dict:
    """Write the four Fashion-MNIST IDX ``.gz`` files of a learnable synthetic set.

    Returns ``{file name: {"md5": md5 of the .gz bytes, "sha256": sha256 of the
    decompressed bytes}}``: the shape of the ``data.files`` config key.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    train_labels = balanced_labels(n_train, rng)
    test_labels = balanced_labels(n_test, rng)
    arrays = {
        "train_images": synthetic_images(train_labels, rng),
        "train_labels": train_labels,
        "test_images": synthetic_images(test_labels, rng),
        "test_labels": test_labels,
    }
    checksums = {}
    for key, name in IDX_FILES.items():
        content = idx_bytes(arrays[key])
        raw = gzip_bytes(content)
        (folder / name).write_bytes(raw)
        checksums[name] = {
            "md5": hashlib.md5(raw).hexdigest(),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
    return checksums


@pytest.fixture(scope="session")
def idx_dir(tmp_path_factory):
    """A folder with the four synthetic IDX files (300 train, 100 test images)."""
    folder = tmp_path_factory.mktemp("idx")
    write_idx_dataset(folder)
    return folder


@pytest.fixture(scope="session")
def idx_checksums(idx_dir):
    """{file name: {"md5", "sha256"}} of the files in ``idx_dir``."""
    out = {}
    for name in IDX_FILES.values():
        raw = (idx_dir / name).read_bytes()
        out[name] = {
            "md5": hashlib.md5(raw).hexdigest(),
            "sha256": hashlib.sha256(gzip.decompress(raw)).hexdigest(),
        }
    return out


def _load_split(folder):
    from aeflow.run import data

    def read(key, kind):
        return data.read_idx(Path(folder) / IDX_FILES[key], kind)

    return data.split(
        read("train_images", "images"),
        read("train_labels", "labels"),
        read("test_images", "images"),
        read("test_labels", "labels"),
        validation_size=60,
        seed=0,
        classes=CLASSES,
    )


@pytest.fixture(scope="session")
def _tiny_split_cached(idx_dir):
    return _load_split(idx_dir)


@pytest.fixture
def tiny_split(_tiny_split_cached):
    """``aeflow.run.data.split`` of the synthetic files: 240 train, 60 validation, 100 test.

    A fresh dict of cloned tensors for every test, so no test can alter another's data.
    """
    return {k: v.clone() if hasattr(v, "clone") else list(v) for k, v in _tiny_split_cached.items()}


DEBIAN_DATA = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """A workflow copy with a finished run of ``config/quick.yaml`` on the real
    Fashion-MNIST (Debian's dataset-fashion-mnist): what tests/test_realdata.py checks
    and opens in Chromium, and the local run tests/test_slurm.py compares SLURM's with."""
    from workflow_helpers import copy_workflow, run

    require(DEBIAN_DATA.is_dir(), "apt-get install dataset-fashion-mnist")
    # under pytest-xdist the workers share their base folder's parent: the first worker
    # to ask makes the run, the others wait for it and use it
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    workflow = shared / "quick-run" / "wf"
    with open(shared / "quick-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        finished = workflow.parent / "finished"
        if not finished.exists():
            shutil.rmtree(workflow.parent, ignore_errors=True)  # an earlier try that failed
            copy_workflow(workflow)
            run(workflow, workflow / "config" / "quick.yaml")
            finished.touch()
    return workflow
