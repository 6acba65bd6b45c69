"""Assemble results/report.html: setup, verdicts, test-metric tables, every figure
(aeflow.report.document.assemble)."""

from pathlib import Path

import pandas as pd

import aeflow
from aeflow.plan.logs import job_logger
from aeflow.report import document as report

log = job_logger(snakemake.log[0])
TABLES = ("autoencoder_metrics", "classifier_metrics", "histories", "confusion_matrices")
shown = report.assemble(
    snakemake.output[0],
    {name: pd.read_parquet(getattr(snakemake.input, name)) for name in TABLES},
    snakemake.params.studies,
    base_classifiers=dict(snakemake.params.base_classifiers),
    label_efficiency=snakemake.params.label_efficiency,
    all_labels=snakemake.params.all_labels,
    figures=list(zip(snakemake.input.figures, snakemake.params.captions)),
    study_figures=snakemake.params.study_figures,
    setup=snakemake.params.setup,
    config_files=snakemake.params.config_files,
    device=snakemake.config["device"],
    benchmarks={
        "autoencoder training": snakemake.input.autoencoder_benchmarks,
        "classifier training": snakemake.input.classifier_benchmarks,
    },
    # the checkout this code runs from (the workflow's package)
    folder=Path(aeflow.__file__).resolve().parent.parent,
)
log(f"wrote {snakemake.output[0]} with {shown} figures")
