"""The figure table (aeflow/figures.py): each figure file's caption and report heading,
and agreement with the captions the rules give their figure outputs."""

import re
from pathlib import Path

import pytest

from aeflow import figures

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
