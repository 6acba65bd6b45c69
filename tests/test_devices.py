"""GPU slots without GPUs: claiming, waiting, and slots freed by jobs that die."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from aeflow.run import devices


def test_each_holder_gets_its_own_slot(tmp_path):
    gpus = ["0", "1", "2"]
    with devices.gpu_slot(tmp_path, gpus) as a, devices.gpu_slot(tmp_path, gpus) as b:
        with devices.gpu_slot(tmp_path, gpus) as c:
            assert sorted([a, b, c]) == [0, 1, 2]
        # c's slot is free again, a and b still held
        with devices.gpu_slot(tmp_path, gpus) as d:
            assert d == c


def test_waits_while_all_slots_are_held(tmp_path):
    with devices.gpu_slot(tmp_path, ["0"]):
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="stayed claimed"):
            with devices.gpu_slot(tmp_path, ["0"], poll=0.05, timeout=0.3):
                pass
        assert time.monotonic() - started >= 0.3
    with devices.gpu_slot(tmp_path, ["0"], timeout=0) as slot:
        assert slot == 0


def test_a_job_that_dies_frees_its_slot(tmp_path):
    holder = textwrap.dedent(
        f"""
        import sys, time
        from aeflow.run import devices
        with devices.gpu_slot({str(tmp_path)!r}, ["0", "1"]) as slot:
            print(slot, flush=True)
            time.sleep(60)
        """
    )
    job = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    assert job.stdout.readline().strip() == "0"
    with devices.gpu_slot(tmp_path, ["0", "1"]) as slot:
        assert slot == 1  # 0 is held by the running job
    os.kill(job.pid, signal.SIGKILL)
    job.wait()
    with devices.gpu_slot(tmp_path, ["0", "1"], timeout=5) as slot:
        assert slot == 0  # the kernel released the dead job's lock


def test_visible_gpus_honours_the_scheduler(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert devices.visible_gpus() == ["3", "5"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert devices.visible_gpus() == ["0", "1"]


def test_job_device_without_gpus_is_the_requested_device(tmp_path):
    with devices.job_device("auto", tmp_path) as device:
        assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    with devices.job_device("cpu", tmp_path) as device:
        assert device == torch.device("cpu")
