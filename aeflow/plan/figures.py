"""The report's figures by file name: for each kind of figure, the pattern of its file
name, the caption file it is shown with (``report/<caption>.rst``) and its heading in
the HTML report.

Parse-time helper (standard library only): ``rules/common.smk`` asks it which figures a
study has (:func:`study_figure_names`) and their captions on every ``snakemake`` start,
``scripts/report.py`` their headings. The run's own
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

    def file_name(self, **fields: str) -> str:
        """The PNG file name of this kind of figure with ``fields`` filled in."""
        return self.pattern.format(**fields) + ".png"

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


STUDY_KIND = {figure.pattern.split("_{")[0]: figure for figure in STUDY}


def study_figure_names(study: dict, label_efficiency: bool) -> list[str]:
    """The file names of one study's figures (the main grid is one), as it has models for
    them: sweeps, curves of its explicit configurations and of its base classifiers by
    initialisation, reconstructions, latent maps, test accuracy and confusion matrices,
    and, first, the label-efficiency figure where it sweeps the number of labels.
    ``study``: a study as :mod:`aeflow.plan.studies` describes it."""
    kind = STUDY_KIND
    out = []
    if study["autoencoders"]:
        out += [kind["ae_sweep"].file_name(param=p) for p in study["autoencoder_sweeps"]]
        if study["autoencoder_configurations"] or not study["autoencoder_sweeps"]:
            out.append(kind["ae_curves"].file_name())
        out += [kind["reconstructions"].file_name(), kind["latent_maps"].file_name()]
    if study["classifiers"]:
        out += [
            kind["clf_sweep"].file_name(init=init, param=p)
            for init in study["base_classifiers"]
            for p in study["classifier_sweeps"]
        ]
        if (
            study["classifier_configurations"]
            or not study["classifier_sweeps"]
            or len(study["base_classifiers"]) > 1
        ):
            out.append(kind["clf_curves"].file_name())
        out += [kind["test_accuracy"].file_name(), kind["confusion_matrices"].file_name()]
        if label_efficiency:
            out.insert(0, kind["label_efficiency"].file_name())
    return out


def run_figure_names() -> list[str]:
    """The file names of the run's own figures (in ``results/figures/``)."""
    return [figure.file_name() for figure in RUN]


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
    raise ValueError(f"{path}: not a figure the report knows (aeflow/plan/figures.py)")


def caption(path) -> str:
    """The stem of the caption file (``report/<stem>.rst``) of the figure at ``path``."""
    return kind(path)[0].caption


def heading(path) -> str:
    """The report heading of the figure at ``path``."""
    figure, fields = kind(path)
    return figure.heading.format(**fields)
