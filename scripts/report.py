"""Assemble results/report.html: setup, test-metric tables, every figure with its caption."""

from pathlib import Path

import pandas as pd

from aeflow import report, tables
from aeflow.logs import job_logger

log = job_logger(snakemake.log[0])
ae = pd.read_parquet(snakemake.input.autoencoder_metrics)
clf = pd.read_parquet(snakemake.input.classifier_metrics)
base_ids = list(snakemake.params.base_classifiers.values())

ae_columns = [
    "architecture",
    "latent",
    "dropout",
    "optimizer",
    "lr",
    "batch_size",
    "output_activation",
    "epochs",
]
clf_columns = [
    "initialisation",
    "architecture",
    "latent",
    "hidden",
    "dropout",
    "optimizer",
    "lr",
    "batch_size",
    "epochs",
]
sections = [
    (
        "Base classifier: test metrics by initialisation",
        tables.summarise(
            clf[clf["model_id"].isin(base_ids)],
            ["initialisation"],
            ["test_accuracy", "test_macro_f1", "test_loss"],
        ),
    ),
    (
        "All classifiers: test metrics",
        tables.summarise(clf, clf_columns, ["test_accuracy", "test_macro_f1"]),
    ),
    (
        "All autoencoders: test reconstruction MSE",
        tables.summarise(ae, ae_columns, ["test_mse", "final_validation_loss"]),
    ),
]


def heading(path):
    name = Path(path).stem
    if name.startswith("autoencoder_"):
        return f"Autoencoder sweep: {name.removeprefix('autoencoder_')}"
    if name.startswith("classifier_") and name != "classifier_curves":
        init, param = name.removeprefix("classifier_").split("_", 1)
        return f"Classifier sweep ({init}): {param}"
    return name.replace("_", " ").capitalize()


figures = [(heading(p), p, c) for p, c in zip(snakemake.input.figures, snakemake.params.captions)]
report.build_report(
    snakemake.output[0],
    "aeflow: does autoencoder pretraining help a Fashion-MNIST classifier?",
    snakemake.params.setup,
    sections,
    figures,
)
log(f"wrote {snakemake.output[0]} with {len(figures)} figures")
