"""Real snakemake runs on tiny synthetic IDX data: outputs' contents and what reruns."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import require
from workflow_helpers import (
    REPO,
    copy_workflow,
    dry_run_jobs,
    finished_run,
    planned,
    planned_jobs,
    run,
    snakemake_bin,
    with_downstream,
    write_config,
)

from aeflow.plan import studies
from aeflow.run import models

pytestmark = pytest.mark.workflow

N_TRAIN, N_TEST, N_VAL = 300, 100, 60
DIVERGING_LR = 1.0e6


def tiny_config(source, checksums) -> dict:
    return {
        "data": {
            "sources": [str(source)],
            "files": checksums,
            "classes": [f"class {i}" for i in range(10)],
            "train_images": N_TRAIN,
            "validation_size": N_VAL,
            "split_seed": 0,
        },
        "seeds": [0],
        "device": "cpu",
        "autoencoder": {
            "base": {"latent": 16, "epochs": 2, "batch_size": 30},
            "sweeps": {"latent": [8, 16], "optimizer": ["sgd", "adam"]},
        },
        "classifier": {
            "base": {
                "latent": 16,
                "hidden": 32,
                "epochs": 2,
                "batch_size": 30,
                "optimizer": "sgd",
                "lr": 0.01,
            },
            "initialisations": ["scratch", "frozen", "finetune"],
            "sweeps": {"lr": [0.01, DIVERGING_LR]},  # SGD with lr 1e6 diverges
        },
        "figures": {"reconstructions": 4},
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A workflow copy with a finished run of the tiny config."""
    root = tmp_path_factory.mktemp("workflow")
    return finished_run(root, tiny_config, "tiny", N_TRAIN, N_TEST)


def tables(workflow):
    return {
        name: pd.read_parquet(workflow / "results" / "tables" / f"{name}.parquet")
        for name in ("histories", "autoencoder_metrics", "classifier_metrics", "confusion_matrices")
    }


def test_tables_hold_every_model_with_its_hyperparameters(finished):
    workflow, _, _ = finished
    t = tables(workflow)
    ae, clf = t["autoencoder_metrics"], t["classifier_metrics"]
    # base (latent 16, adam) + latent 8 + sgd = 3 autoencoders; 2 lrs × 3 initialisations
    assert len(ae) == 3 and ae["model_id"].is_unique
    assert sorted(ae["latent"]) == [8, 16, 16]
    assert sorted(ae["optimizer"]) == ["adam", "adam", "sgd"]
    assert ae["test_mse"].between(0, 1).all() and not ae["diverged"].any()
    assert len(clf) == 6
    assert sorted(clf["initialisation"]) == ["finetune"] * 2 + ["frozen"] * 2 + ["scratch"] * 2
    assert clf.loc[clf.initialisation == "scratch", "autoencoder_id"].isna().all()
    base_ae = ae[(ae.latent == 16) & (ae.optimizer == "adam")]["model_id"].item()
    assert (clf.loc[clf.initialisation != "scratch", "autoencoder_id"] == base_ae).all()
    assert {"precision_class_3", "recall_class_3", "test_macro_f1"} <= set(clf.columns)

    hist = t["histories"]
    # epochs run × (train, validation) × loss for AEs; × (loss, accuracy) for classifiers
    assert hist.groupby("model_id").size().to_dict() == {
        **{m: 4 for m in ae["model_id"]},
        **{m: 4 * n for m, n in zip(clf["model_id"], clf["epochs_run"])},
    }
    assert set(hist["split"]) == {"train", "validation"}
    converged = clf.loc[~clf["diverged"], "model_id"]
    assert hist[hist["model_id"].isin(converged)]["value"].notna().all()


def test_diverged_runs_are_recorded_and_the_rest_goes_on(finished):
    workflow, _, _ = finished
    t = tables(workflow)
    clf = t["classifier_metrics"]
    diverging = clf["lr"] == DIVERGING_LR
    assert clf.loc[~diverging, "diverged"].eq(False).all()
    # the pretrained and scratch runs with SGD at lr 1e6 blow up
    assert clf.loc[diverging & (clf.initialisation != "frozen"), "diverged"].all()
    for _, row in clf[clf["diverged"]].iterrows():
        assert 1 <= row["diverged_epoch"] <= 2 and row["epochs_run"] == row["diverged_epoch"]
        history = t["histories"][t["histories"]["model_id"] == row["model_id"]]
        assert history["epoch"].max() == row["diverged_epoch"]
    html = (workflow / "results" / "report.html").read_text()
    assert "diverged" in html


def test_accuracy_agrees_with_the_confusion_matrix(finished):
    workflow, _, _ = finished
    t = tables(workflow)
    cm = t["confusion_matrices"]
    for (model_id, seed), cells in cm.groupby(["model_id", "seed"]):
        assert len(cells) == 100 and cells["count"].sum() == N_TEST
        diagonal = cells.loc[cells.true_label == cells.predicted_label, "count"].sum()
        row = t["classifier_metrics"].set_index(["model_id", "seed"]).loc[(model_id, seed)]
        assert row["test_accuracy"] == pytest.approx(diagonal / N_TEST)
    assert set(cm["true_name"]) == {f"class {i}" for i in range(10)}


def test_report_embeds_every_figure(finished):
    workflow, config, _ = finished
    html = (workflow / "results" / "report.html").read_text()
    folder = workflow / "results" / "figures"
    figures = {str(p.relative_to(folder)) for p in folder.rglob("*.png")}
    # the run's own two, then the main grid's as a study: 2 autoencoder sweeps, its
    # reconstructions and latent maps, 3 initialisations × 1 classifier sweep, the curves
    # of the base classifiers, their confusion matrices and the test accuracy
    main = "studies/main"
    assert figures == {
        "latent_maps.png", "probes.png",
        *(f"{main}/ae_sweep_{p}.png" for p in config["autoencoder"]["sweeps"]),
        f"{main}/reconstructions.png", f"{main}/latent_maps.png",
        *(f"{main}/clf_sweep_{i}_lr.png" for i in ("scratch", "frozen", "finetune")),
        f"{main}/clf_curves.png", f"{main}/confusion_matrices.png", f"{main}/test_accuracy.png",
    }  # fmt: skip
    assert len(figures) == 2 + 2 + 2 + 3 + 3
    assert html.count("data:image/png;base64,") == len(figures)
    assert "Test accuracy by configuration" in html and "http://" not in html
    # the main grid's section: its title, its tables, the curves of its base classifiers
    section = html[html.index(f"<h2>{studies.MAIN_TITLE}</h2>") :]
    for heading in ("Autoencoders", "Classifiers", "Classifier learning curves"):
        assert heading in section


def test_training_logs_one_line_per_epoch(finished):
    workflow, _, _ = finished
    clf = tables(workflow)["classifier_metrics"]
    for row in clf.itertuples():
        text = (workflow / "logs" / "classifier" / row.model_id / "seed0" / "train.log").read_text()
        epochs = re.findall(r" epoch \d+/2 ", text)
        assert len(epochs) == row.epochs_run
        assert epochs[0] == " epoch 1/2 " and "validation_accuracy=" in text
        assert ("diverged: training loss not finite" in text) == row.diverged


def test_exported_encoder_loads_weights_only(finished):
    workflow, _, _ = finished
    exports = list((workflow / "results" / "autoencoder").rglob("encoder.pt"))
    assert len(exports) == 1  # only the base autoencoder feeds classifiers
    raw = torch.load(exports[0], weights_only=True)
    assert raw["latent"] == 16 and raw["architecture"] == "conv"
    encoder = models.load_encoder(exports[0])
    assert not encoder.training
    assert all(not p.requires_grad for p in encoder.parameters())
    assert encoder(torch.rand(2, 1, 28, 28)).shape == (2, 16)


def test_nothing_reruns_after_a_finished_run(finished):
    workflow, _, root = finished
    assert planned(workflow, root / "tiny.yaml") == {}


def expected_after_config_edit(workflow, before, after):
    """What an edit of the config should rerun, derived from the two configs' full job
    graphs: the jobs that did not exist before, and everything downstream of them."""
    old = dry_run_jobs(workflow, before, "--forceall")
    new = dry_run_jobs(workflow, after, "--forceall")
    return with_downstream(new, set(new) - set(old))


def test_changing_one_hyperparameter_reruns_only_that_configuration(finished):
    workflow, config, root = finished
    changed = copy.deepcopy(config)
    changed["classifier"]["sweeps"]["lr"] = [0.01, 0.02]
    changed_file = write_config(root / "changed.yaml", changed)
    jobs = planned_jobs(workflow, changed_file)
    assert jobs == expected_after_config_edit(workflow, root / "tiny.yaml", changed_file)
    rules = Counter(rule for rule, _ in jobs)
    assert rules["train_classifier"] == 3  # lr 0.02 (instead of 1e6) for each initialisation
    assert rules["evaluate_classifier"] == 3 and rules["tables"] == 1 and rules["report"] == 1
    assert not {"train_autoencoder", "export_encoder", "evaluate_autoencoder", "prepare"} & set(
        rules
    )


def test_adding_a_configuration_runs_only_its_jobs(finished):
    workflow, config, root = finished
    added = copy.deepcopy(config)
    added["autoencoder"]["configurations"] = [{"dropout": 0.5}]
    added_file = write_config(root / "added.yaml", added)
    jobs = planned_jobs(workflow, added_file)
    assert jobs == expected_after_config_edit(workflow, root / "tiny.yaml", added_file)
    rules = Counter(rule for rule, _ in jobs)
    assert rules["train_autoencoder"] == 1 and rules["evaluate_autoencoder"] == 1
    assert not {"train_classifier", "export_encoder", "prepare"} & set(rules)


def test_snakemake_report_has_every_figure_and_table(finished):
    workflow, _, root = finished
    out = root / "snakemake-report.zip"
    run(workflow, root / "tiny.yaml", "--report", str(out), separate=False)
    names = zipfile.ZipFile(out).namelist()
    assert sum(n.endswith(".png") for n in names) >= 9
    assert sum(n.endswith(".parquet") for n in names) == 4
    # Snakemake's own page plus aeflow's report.html as one of its items
    assert sum(n.endswith("/report.html") for n in names) == 2


def test_bad_config_fails_before_any_job_naming_the_key(tmp_path):
    workflow = copy_workflow(tmp_path / "wf")
    config = tiny_config(tmp_path / "nowhere", {})
    config["autoencoder"]["base"]["lr"] = -0.1
    result = run(workflow, write_config(tmp_path / "bad.yaml", config), check=False, separate=False)
    assert result.returncode != 0
    assert "On instance['autoencoder']['base']['lr']:" in result.stderr + result.stdout
    assert not (workflow / "results").exists() and not (workflow / "resources").exists()


def test_lint_and_format_are_clean():
    lint = subprocess.run([snakemake_bin(), "--lint"], cwd=REPO, capture_output=True, text=True)
    assert "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr
    snakefmt = Path(sys.executable).with_name("snakefmt")
    require(snakefmt.exists(), f'{snakefmt} is missing: pip install -e ".[test]"')
    fmt = subprocess.run(
        [str(snakefmt), "--check", "Snakefile", "rules"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stderr
