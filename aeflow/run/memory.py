"""Keep freed memory in the process, so that training does not page-fault on every step.

A training step on the CPU allocates and frees the same large activation buffers
hundreds of times an epoch. glibc's ``malloc`` serves blocks that size from its heap
only after raising its dynamic ``mmap`` threshold, and it gives the top of the heap back
to the kernel whenever more than twice that threshold is free there; the next step's
buffers then come back as fresh pages, and each page costs a fault and a zero-fill by
the kernel. (The counts and timings: ``docs/performance.md``, "What makes it faster".)

:func:`keep_freed_memory` sets two ``mallopt`` parameters for the process: blocks up to
``mmap_threshold`` come from the heap, and the heap keeps up to ``trim_threshold`` of
free memory instead of returning it. The cost is that much resident memory kept after a
peak, at most. It changes nothing but where memory comes from: results are identical.
Elsewhere than glibc (macOS, musl) it does nothing and says so.

Also the layout of a model's weights in memory (:func:`preferred_memory_format`,
:func:`set_memory_format`): ``channels_last`` on the CPU.
"""

from __future__ import annotations

import ctypes
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the layout helpers import torch when called: importing this module
    import torch  # changes no allocation (tests/test_memory.py measures the heap)
    from torch import nn

M_TRIM_THRESHOLD = -1  # glibc's <malloc.h>
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 64 << 20  # larger blocks (the data splits) are still mapped
TRIM_THRESHOLD = 256 << 20

_done: bool | None = None


def keep_freed_memory(
    mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD
) -> bool:
    """Tell glibc's allocator to keep freed memory (see the module's text); once per
    process. Returns whether the settings are in effect (False where the C library is not
    glibc)."""
    global _done
    if _done is None:
        _done = _set(mmap_threshold, trim_threshold)
    return _done


def _set(mmap_threshold: int, trim_threshold: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        _ = libc.gnu_get_libc_version  # only glibc has it (musl's mallopt does nothing)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(M_TRIM_THRESHOLD, trim_threshold)
    )


# --- memory layout -------------------------------------------------------------------------


def preferred_memory_format(device) -> torch.memory_format:
    """The layout aeflow trains and evaluates encoders in: ``channels_last`` on the CPU,
    where oneDNN's max-pooling is much faster in it (``docs/performance.md``), and
    PyTorch's default elsewhere (not measured on a GPU yet)."""
    import torch

    return torch.channels_last if torch.device(device).type == "cpu" else torch.contiguous_format


def set_memory_format(model: nn.Module, memory_format: torch.memory_format) -> bool:
    """Lay out ``model``'s 4-d weights (and their gradients) in ``memory_format``, in
    place: the parameters stay the same objects, so an optimizer built on them still
    works. Returns whether anything had to be converted. Values, and so state dicts, do
    not change; only strides do. (The whole model: converting the encoder alone, where
    the max-pooling is, gained nothing.)"""
    changed = any(
        p.dim() == 4 and not p.is_contiguous(memory_format=memory_format)
        for p in model.parameters()
    )
    if changed:
        model.to(memory_format=memory_format)
    return changed
