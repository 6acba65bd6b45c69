"""The report's figures by file name: for each kind of figure, the pattern of its file
name, the caption file it is shown with (``report/<caption>.rst``) and its heading in
the HTML report.

Parse-time helper (standard library only): ``rules/common.smk`` reads the captions from
here on every ``snakemake`` start, ``scripts/report.py`` the headings. The run's own
figures lie in ``results/figures/``, a study's (the main grid is one) in
``results/figures/studies/<name>/``; the same file name may mean another figure in each
(the run's ``latent_maps`` is the base autoencoder's, with t-SNE).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# What a pattern's fields match: an initialisation has no underscore, a swept
# hyperparameter may have some (batch_size).
FIELDS = {"init": "[^_]+", "param": ".+"}


@dataclass(frozen=True)
class Figure:
    """One kind of figure: ``pattern`` is its file stem, with ``{init}`` and ``{param}``
    fields where it has them, ``caption`` the stem of its caption file in ``report/``,
    ``heading`` its report heading (a format string over the same fields)."""

    pattern: str
    caption: str
    heading: str

    def match(self, stem: str) -> dict[str, str] | None:
        """The fields of ``stem`` if it is a file of this kind, else None."""
        regex = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m[1]}>{FIELDS[m[1]]})", self.pattern)
        found = re.fullmatch(regex, stem)
        return found.groupdict() if found else None


# The run's own figures (results/figures/); every study's, the main grid's included, are
# below.
RUN = (
    Figure("latent_maps", "latent_maps", "Latent maps of the base autoencoder"),
    Figure(
        "probes",
        "probes",
        "Probes of every autoencoder: accuracy against reconstruction MSE and latent size",
    ),
)
# A study's figures (results/figures/studies/<name>/).
STUDY = (
    Figure("ae_sweep_{param}", "autoencoder_sweep", "Autoencoder sweep: {param}"),
    Figure("ae_curves", "study_autoencoder_curves", "Autoencoder loss curves"),
    Figure("reconstructions", "reconstructions", "Reconstructions (first seed)"),
    Figure("clf_sweep_{init}_{param}", "classifier_sweep", "Classifier sweep: {init} {param}"),
    Figure("clf_curves", "classifier_curves", "Classifier learning curves"),
    Figure("test_accuracy", "study_test_accuracy", "Test accuracy by configuration"),
    Figure(
        "confusion_matrices",
        "study_confusion_matrices",
        "Confusion matrices of the base classifiers and those its claims and numbers name",
    ),
    Figure("label_efficiency", "label_efficiency", "Test accuracy by number of labels"),
    Figure("latent_maps", "study_latent_maps", "Latent maps of the autoencoders (first seed)"),
)


def is_study_figure(path) -> bool:
    """Whether ``path`` is a study's figure (``…/studies/<name>/<file>``)."""
    return Path(path).parent.parent.name == "studies"


def kind(path) -> tuple[Figure, dict[str, str]]:
    """The kind of the figure at ``path`` and its fields; a ValueError for a file name
    that no kind has."""
    stem = Path(path).stem
    for figure in STUDY if is_study_figure(path) else RUN:
        fields = figure.match(stem)
        if fields is not None:
            return figure, fields
    raise ValueError(f"{path}: not a figure the report knows (aeflow/figures.py)")


def caption(path) -> str:
    """The stem of the caption file (``report/<stem>.rst``) of the figure at ``path``."""
    return kind(path)[0].caption


def heading(path) -> str:
    """The report heading of the figure at ``path``."""
    figure, fields = kind(path)
    return figure.heading.format(**fields)
