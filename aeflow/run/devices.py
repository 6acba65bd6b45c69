"""One GPU per training job on a machine with several.

Snakemake counts a ``gpu`` resource but does not tell a job which GPU is its own, so
two jobs would both use the first one. A job here claims a slot for its lifetime: an
exclusive ``flock`` on one lock file per GPU in a folder shared by the jobs of a
machine. The kernel releases the lock when the job's process ends, however it ends,
so a job that dies never keeps its slot. Where a scheduler has set
``CUDA_VISIBLE_DEVICES`` (SLURM does for ``--gpus``), its GPUs are the candidates, and
the lock files are named by host and physical id, so jobs with other sets, or on other
hosts sharing the folder, do not collide.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from pathlib import Path

import torch


class DeviceError(ValueError):
    """A device that this machine does not have; the message names it."""


def select_device(requested: str = "auto") -> torch.device:
    """``auto`` → CUDA when available, else the CPU; ``cpu``/``cuda``/``cuda:N`` forced."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {requested!r} asked for, but CUDA is not available")
    return device


def visible_gpus() -> list[str]:
    """Physical ids of the GPUs this process may use, in CUDA's order."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        ids = [i.strip() for i in listed.split(",") if i.strip()]
        return ids[:count] if count else []
    return [str(i) for i in range(count)]


@contextlib.contextmanager
def gpu_slot(
    lock_dir: str | Path, gpu_ids: list[str], poll: float = 0.5, timeout: float | None = None
):
    """Claim one of ``gpu_ids`` for the duration of the block; yields its position.

    Waits (polling every ``poll`` s) while every GPU is held by another job; raises
    ``TimeoutError`` after ``timeout`` seconds if one was given.
    """
    if not gpu_ids:
        raise ValueError("no GPU to claim")
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    while True:
        for position, gpu in enumerate(gpu_ids):
            handle = open(lock_dir / f"gpu-{socket.gethostname()}-{gpu}.lock", "a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                handle.seek(0)
                handle.truncate()
                handle.write(f"{os.getpid()}\n")
                handle.flush()
                yield position
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        if timeout is not None and time.monotonic() - started > timeout:
            raise TimeoutError(
                f"every GPU in {gpu_ids} stayed claimed for {timeout} s ({lock_dir})"
            )
        time.sleep(poll)


@contextlib.contextmanager
def job_device(requested: str, lock_dir: str | Path, log=print):
    """The device a training job should use, held for the duration of the block.

    ``auto`` or ``cuda`` with CUDA available claims a free GPU slot; anything else
    (``cpu``, an explicit ``cuda:N``, no CUDA) is used as it is.
    """
    gpus = visible_gpus()
    if requested not in ("auto", "cuda") or not gpus:
        yield select_device(requested)
        return
    with gpu_slot(lock_dir, gpus) as position:
        log(f"claimed GPU {gpus[position]} (cuda:{position}) of {', '.join(gpus)}")
        torch.cuda.set_device(position)
        yield torch.device("cuda", position)
