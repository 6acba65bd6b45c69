"""The label-efficiency study through real snakemake on tiny synthetic data: labelled
subsets and min_steps reach the classifiers, the linear-probe arm trains without hidden
layers, the probes reach the autoencoder table and their figure, and the report opens
with the computed answer (naming every arm) and the figure."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from test_studies_workflow import tiny_base
from test_workflow import N_TEST, N_TRAIN
from workflow_helpers import finished_run

from aeflow.plan import studies

pytestmark = pytest.mark.workflow

SIZES = [30, 120, 240]  # the training split has N_TRAIN - N_VAL = 240 images


def config(source, checksums) -> dict:
    return {
        **tiny_base(source, checksums, ["scratch"]),
        "studies": {
            "label-efficiency": {
                "title": "Where pretraining pays",
                "classifier": {
                    "base": {"labels": 240, "min_steps": 12},
                    "initialisations": ["scratch", "frozen", "finetune"],
                    "linear_probe": True,
                    "sweeps": {"labels": SIZES},
                },
            },
        },
    }  # fmt: skip


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return finished_run(tmp_path_factory.mktemp("labels"), config, "labels", N_TRAIN, N_TEST)


def read(workflow, name):
    return pd.read_parquet(workflow / "results" / "tables" / f"{name}.parquet")


def test_labels_and_min_steps_reach_the_classifiers(finished):
    workflow, _, _ = finished
    clf = read(workflow, "classifier_metrics")
    study = clf[clf["labels"].notna()]
    assert sorted(study["labels"].astype(int).unique()) == SIZES
    assert study.groupby(["initialisation", "hidden", "labels"])["seed"].nunique().eq(2).all()
    assert len(study) == 4 * len(SIZES) * 2  # scratch, frozen, finetune, linear probe
    # only the linear probe (a frozen encoder) lost its hidden layer, at every size
    arms = study.groupby(["initialisation", "hidden"])["labels"].unique().map(sorted).to_dict()
    assert arms == {(init, "32"): SIZES for init in ("scratch", "frozen", "finetune")} | {
        ("frozen", "none"): SIZES
    }
    # batches of 30: 1, 4 and 8 steps per epoch; 12 steps at least, 2 epochs at least
    epochs = study.groupby("labels")["epochs_run"].unique().map(list).to_dict()
    assert epochs == {30: [12], 120: [3], 240: [2]}
    main = clf[clf["labels"].isna()]
    assert set(main["initialisation"]) == {"scratch"} and len(main) == 2


def test_probes_of_every_autoencoder(finished):
    workflow, _, _ = finished
    ae = read(workflow, "autoencoder_metrics")
    for column in ("test_knn_accuracy", "test_linear_probe_accuracy"):
        assert ae[column].between(0, 1).all() and ae[column].notna().all()
    png = workflow / "results" / "figures" / "probes.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    log = (workflow / "logs" / "figures" / "probes.log").read_text()
    assert f"from {ae['model_id'].nunique()} autoencoders" in log
    html = (workflow / "results" / "report.html").read_text()
    assert "Probes of every autoencoder: accuracy against reconstruction MSE" in html
    main = html.index(f"<h2>{studies.MAIN_TITLE}</h2>")  # the main grid's section
    start = html.index(">Autoencoders</h3>", main)
    table = html[start : html.index("</table>", start)]
    assert "test_knn_accuracy mean" in table and "test_linear_probe_accuracy mean" in table


def test_latent_maps_of_the_base_autoencoder(finished):
    workflow, _, _ = finished
    png = workflow / "results" / "figures" / "latent_maps.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    log = (workflow / "logs" / "figures" / "latent_maps.log").read_text()
    assert f"from {N_TEST} test images" in log  # fewer test images than latent_points
    assert (
        "Latent maps of the base autoencoder" in (workflow / "results" / "report.html").read_text()
    )


def test_report_opens_with_the_answer_and_the_figure(finished):
    workflow, _, _ = finished
    figure = (
        workflow / "results" / "figures" / "studies" / "label-efficiency" / "label_efficiency.png"
    )
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (workflow / "results" / "report.html").read_text()
    opening = html[html.index("</h1>") : html.index('<nav aria-label="Contents">')]
    assert re.search(
        r"With 30 labels, fine-tuning the pretrained encoder gives [+-]\d+\.\d points", opening
    )
    assert "the frozen pretrained encoder gives" in opening
    assert re.search(
        r"With 30 labels, the linear probe \(Linear\(n, 10\) on the frozen pretrained "
        r"encoder\) gives [+-]\d+\.\d points",
        opening,
    )
    assert opening.count("<img") == 1
    start = html.index("<h2>Where pretraining pays</h2>")
    section = html[start : html.index("</section>", start)]
    assert "Gain of each pretrained arm over scratch, by number of labels" in section
    assert "verdict changes sign between" in section
    gains = section[section.index("Gain of each pretrained arm") :]
    gains = gains[: gains.index("</table>")]
    assert gains.count("<td>linear probe</td>") == len(SIZES)
    plateau = section[section.index("Did every run train to its plateau?") :]
    plateau = plateau[: plateau.index("</table>")]
    # min_steps 12 in batches of 30: 12 one-step epochs at 30 labels, in every arm; without
    # patience every run keeps its last epoch and none stopped early
    assert plateau.count("<td>linear probe</td>") == len(SIZES)
    assert plateau.count("<td>12/12, 12/12</td>") == 4
    assert plateau.count("<td>0 of 2</td>") == 4 * len(SIZES)
