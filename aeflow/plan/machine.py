"""The GPUs a run will see, read at parse time without importing torch.

The training rules' ``gpu`` resource depends on it: a training job that will run on the
CPU asks for no GPU, so ``--resources gpu=1`` does not queue CPU jobs one at a time.
CUDA's own count needs torch (1.7 s per ``snakemake`` start), so this reads what the
NVIDIA driver publishes instead: one folder per GPU under ``/proc/driver/nvidia/gpus``
(also in containers started with the NVIDIA toolkit), else ``nvidia-smi -L``, narrowed
by ``CUDA_VISIBLE_DEVICES`` as CUDA would. Other GPUs (ROCm) are not seen; their jobs
still take turns on each GPU through :mod:`aeflow.run.devices`' slots.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

NVIDIA_PROC = Path("/proc/driver/nvidia/gpus")


def physical_gpus(proc: Path = NVIDIA_PROC, smi: str | None = "nvidia-smi") -> int:
    """NVIDIA GPUs the driver reports on this machine (0 without a driver)."""
    if proc.is_dir():
        return sum(1 for entry in proc.iterdir() if entry.is_dir())
    found = shutil.which(smi) if smi else None
    if found is None:
        return 0
    try:
        listed = subprocess.run([found, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    if listed.returncode != 0:
        return 0
    return sum(1 for line in listed.stdout.splitlines() if line.startswith("GPU "))


def _listed(visible: str, physical: int) -> int:
    """GPUs named by a ``CUDA_VISIBLE_DEVICES`` value; like CUDA, the list ends at the
    first entry that names no device (``-1``, an index beyond the machine's)."""
    count = 0
    for entry in (e.strip() for e in visible.split(",")):
        if entry.isdigit() and int(entry) < physical:
            count += 1
        elif entry.startswith(("GPU-", "MIG-")):
            count += 1
        else:
            break
    return min(count, physical)


def gpu_count(
    environ: Mapping[str, str] = os.environ,
    proc: Path = NVIDIA_PROC,
    smi: str | None = "nvidia-smi",
) -> int:
    """The CUDA GPUs a process started here would see."""
    physical = physical_gpus(proc, smi)
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    return physical if visible is None else _listed(visible, physical)


def training_device(requested: str, gpus: int) -> str:
    """Where a training job with config ``device: requested`` runs: ``cpu`` or ``cuda``.

    ``cuda``/``cuda:N`` asked for without a GPU is reported as ``cuda``: the job fails
    when it starts, saying CUDA is not available (:func:`aeflow.run.training.select_device`).
    """
    if requested == "cpu" or (requested == "auto" and gpus == 0):
        return "cpu"
    return "cuda"


def training_gpu_resource(requested: str, gpus: int) -> int:
    """The ``gpu`` resource of one training job: 1 on a GPU, 0 on the CPU (the cores limit
    CPU jobs; ``--resources gpu=N`` limits only the jobs that use a GPU)."""
    return 1 if training_device(requested, gpus) == "cuda" and gpus > 0 else 0


PACK_CHOICES = ("auto", True, False)


def pack_seeds(choice, training_gpu: int) -> bool:
    """Whether a configuration's seeds train as one pack in one job (``engine.pack``):
    ``auto`` where the training jobs use a GPU, where one model leaves the chip idle; on
    the CPU per-seed jobs side by side already keep the cores busy, and a pack was not
    shown to beat them (``docs/performance.md``, "Many models per step"); else as set."""
    if choice not in PACK_CHOICES:
        raise ValueError(f"engine.pack must be auto, true or false, got {choice!r}")
    return bool(training_gpu) if choice == "auto" else choice
