"""Job logs: one line per event, flushed at once so a running job's log can be followed."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def job_logger(path: str | Path, name: str = "aeflow"):
    """Return a ``log(message)`` function writing timestamped lines to ``path``.

    Warnings and uncaught errors of the job (stderr) go to the same file, so the
    log holds the whole story of a failed job.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = open(path, "a", buffering=1)  # line-buffered
    sys.stderr = stream
    logger = logging.getLogger(f"{name}.{path}")
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    logger.addHandler(handler)
    logger.propagate = False
    return logger.info


def duration_text(seconds: float) -> str:
    """``40s``, ``3m12s``, ``2h05m``."""
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
