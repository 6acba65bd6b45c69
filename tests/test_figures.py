"""The figure table (aeflow/plan/figures.py): each figure file's caption and report heading,
and agreement with the captions the rules give their figure outputs."""

import re
from pathlib import Path

import pytest

from aeflow.plan import figures

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("path", "caption", "heading"),
    [
        ("results/figures/latent_maps.png", "latent_maps", "Latent maps of the base autoencoder"),
        ("results/figures/studies/main/latent_maps.png", "study_latent_maps",
         "Latent maps of the autoencoders (first seed)"),
        ("results/figures/studies/main/clf_curves.png", "classifier_curves",
         "Classifier learning curves"),
        ("results/figures/studies/main/confusion_matrices.png", "study_confusion_matrices",
         "Confusion matrices of the base classifiers and those its claims and numbers name"),
        ("results/figures/probes.png", "probes",
         "Probes of every autoencoder: accuracy against reconstruction MSE and latent size"),
        ("results/figures/studies/004/ae_sweep_dropout.png", "autoencoder_sweep",
         "Autoencoder sweep: dropout"),
        ("results/figures/studies/004/clf_sweep_frozen_lr.png", "classifier_sweep",
         "Classifier sweep: frozen lr"),
        ("results/figures/studies/004/test_accuracy.png", "study_test_accuracy",
         "Test accuracy by configuration"),
        ("results/figures/studies/labels/label_efficiency.png", "label_efficiency",
         "Test accuracy by number of labels"),
    ],
)  # fmt: skip
def test_caption_and_heading_by_file_name(path, caption, heading):
    assert figures.caption(path) == caption
    assert figures.heading(path) == heading


def test_every_caption_file_exists_and_every_pattern_is_one_kind():
    for table in (figures.RUN, figures.STUDY):
        for figure in table:
            assert (ROOT / "report" / f"{figure.caption}.rst").is_file(), figure
        stems = [f.pattern.format(init="scratch", param="lr") for f in table]
        for stem in stems:  # no file name matches two kinds
            assert sum(f.match(stem) is not None for f in table) == 1, stem


def test_an_unknown_figure_is_an_error():
    with pytest.raises(ValueError, match="not a figure the report knows"):
        figures.caption("results/figures/test_accuracy.png")  # a study's, not the run's
    with pytest.raises(ValueError, match="not a figure the report knows"):
        figures.heading("results/figures/studies/x/probes.png")


def test_the_rules_give_each_figure_the_tables_caption():
    """Every report() figure output of the figure rules names the caption the table
    gives its file (with sample wildcards), so the rules and the report agree."""
    outputs = re.compile(r'report\(\s*"([^"]+\.png)",\s*caption=caption\("(\w+)"\)')
    found = []
    for smk in ("figures.smk", "studies.smk"):
        for path, caption in outputs.findall((ROOT / "rules" / smk).read_text()):
            path = path.format(param="batch_size", init="finetune", study="004")
            found.append(path)
            assert figures.caption(path) == caption, path
    assert len(found) == len(figures.RUN) + len(figures.STUDY)


def _study(**overrides) -> dict:
    """The keys of a study (aeflow.plan.studies) that decide its figures."""
    return {
        "autoencoders": {"a1": "base"}, "autoencoder_sweeps": ["lr"],
        "autoencoder_configurations": [], "classifiers": {"c1": "base"},
        "classifier_sweeps": ["lr"], "base_classifiers": {"scratch": "c1", "frozen": "c2"},
        "classifier_configurations": [], **overrides,
    }  # fmt: skip


def test_a_studys_figures_follow_its_models():
    assert figures.study_figure_names(_study(), label_efficiency=False) == [
        "ae_sweep_lr.png", "reconstructions.png", "latent_maps.png",
        "clf_sweep_scratch_lr.png", "clf_sweep_frozen_lr.png", "clf_curves.png",
        "test_accuracy.png", "confusion_matrices.png",
    ]  # fmt: skip
    # configurations without a sweep: the curves; no classifiers: no classifier figures
    only_ae = _study(autoencoder_sweeps=[], autoencoder_configurations=[{"lr": 0.1}],
                     classifiers={})  # fmt: skip
    assert figures.study_figure_names(only_ae, label_efficiency=False) == [
        "ae_curves.png", "reconstructions.png", "latent_maps.png",
    ]  # fmt: skip
    labels = figures.study_figure_names(
        _study(autoencoders={}, base_classifiers={"scratch": "c1"}, classifier_sweeps=["labels"]),
        label_efficiency=True,
    )
    assert labels == ["label_efficiency.png", "clf_sweep_scratch_labels.png",
                      "test_accuracy.png", "confusion_matrices.png"]  # fmt: skip
    # every name is one the figure table knows, with a caption and a heading
    for name in figures.study_figure_names(_study(), False) + labels:
        path = f"results/figures/studies/s/{name}"
        assert figures.caption(path) and figures.heading(path)


def test_the_runs_own_figures():
    assert figures.run_figure_names() == ["latent_maps.png", "probes.png"]
