"""The quick config on the real Fashion-MNIST (Debian's dataset-fashion-mnist), and its
report opened in headless Chromium (the run: conftest's ``quick_run``, which
tests/test_slurm.py shares)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import require

pytestmark = [pytest.mark.workflow, pytest.mark.realdata]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_quick_config_on_real_data(quick_run):
    tables = quick_run / "results" / "tables"
    clf = pd.read_parquet(tables / "classifier_metrics.parquet")
    ae = pd.read_parquet(tables / "autoencoder_metrics.parquet")
    cm = pd.read_parquet(tables / "confusion_matrices.parquet")
    assert len(clf) == 6 and len(ae) == 3
    # 2 epochs on 2 000 images: far from the seeds' 92 %, but well above chance (10 %)
    assert (clf["test_accuracy"] > 0.25).all(), clf[["initialisation", "lr", "test_accuracy"]]
    assert (ae["test_mse"] < 0.2).all()
    assert (cm.groupby("model_id")["count"].sum() == 1000).all()  # the stratified test subset
    assert set(cm["true_name"]) >= {"T-shirt/top", "Ankle boot"}
    log = (quick_run / "logs" / "data" / "download_train-images-idx3-ubyte.gz.log").read_text()
    assert "checksum ok" in log


def test_report_renders_every_figure_in_chromium(quick_run):
    require(Path(CHROMIUM).exists(), "apt-get install chromium")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    page_path = quick_run / "results" / "report.html"
    figures = list((quick_run / "results" / "figures").rglob("*.png"))  # studies' too
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
            ],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(page_path.as_uri())
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
        )
        page.screenshot(path=str(quick_run / "results" / "report-screenshot.png"))
        browser.close()
    assert len(images) == len(figures) >= 12
    for alt, complete, width in images:
        assert complete and width > 100, f"figure not rendered: {alt}"
