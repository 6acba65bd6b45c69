"""aeflow.run.memory: glibc keeps freed memory in the process once training starts."""

import ctypes
import json
import subprocess
import sys

import pytest

from aeflow.run import memory

# A fresh process allocates and frees a 32 MB tensor and reports, from glibc's
# mallinfo2, where it came from and whether its memory stayed with the process.
PROBE = """
import ctypes, json, sys
import torch
from aeflow.run import memory

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks",
        "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
set_up = memory.keep_freed_memory() if sys.argv[1] == "keep" else None
before = libc.mallinfo2()
block = torch.empty(32 << 20, dtype=torch.uint8)
held = libc.mallinfo2()
del block
after = libc.mallinfo2()
mib = lambda v: v / (1 << 20)
print(json.dumps({"set_up": set_up,
    "mapped": mib(held.hblkhd - before.hblkhd), "heap": mib(held.arena - before.arena),
    "free_in_heap_after": mib(after.fordblks - before.fordblks)}))
"""


def _glibc(*functions: str) -> bool:
    try:
        libc = ctypes.CDLL(None)
        for name in ("gnu_get_libc_version", *functions):
            getattr(libc, name)
    except (OSError, AttributeError):
        return False
    return sys.platform.startswith("linux")


def probe(mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


@pytest.mark.skipif(not _glibc("mallinfo2"), reason="glibc ≥ 2.33 only")
def test_freed_blocks_stay_in_the_process():
    plain = probe("plain")
    # glibc's default: a 32 MB block is mapped, and unmapped when freed
    assert plain["mapped"] >= 32 and plain["free_in_heap_after"] < 1
    kept = probe("keep")
    assert kept["set_up"] is True
    # with the setting: it comes from the heap and stays there, free, for the next step
    # (within half a MiB: the heap may have held a little free memory before, which the
    # block used, and the imports before it vary with the package's layout)
    assert kept["mapped"] < 1 and kept["heap"] >= 31.5
    assert kept["free_in_heap_after"] >= 31.5


def test_idempotent_and_honest_about_the_platform():
    first = memory.keep_freed_memory()
    assert memory.keep_freed_memory() is first
    assert first is _glibc()  # in effect on glibc, and says False elsewhere


def test_training_on_the_cpu_sets_it(tiny_split, monkeypatch):
    from aeflow.run import training

    calls = []
    monkeypatch.setattr(training, "keep_freed_memory", lambda: calls.append(1) or True)
    params = {"architecture": "mlp", "latent": 8, "dropout": 0.0, "output_activation": "sigmoid",
              "epochs": 1, "batch_size": 50, "optimizer": "adam", "lr": 1e-3}  # fmt: skip
    training.fit_autoencoder(
        params, tiny_split, 0, training.torch.device("cpu"), log=lambda m: None
    )
    assert calls
