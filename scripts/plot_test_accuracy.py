"""Test accuracy by configuration (label -> model id), one point per seed."""

import pandas as pd

from aeflow.plan.logs import job_logger
from aeflow.report import plots

log = job_logger(snakemake.log[0])
metrics = pd.read_parquet(snakemake.input.metrics)
labels = {model_id: label for label, model_id in snakemake.params.model_ids.items()}
shown = metrics[metrics["model_id"].isin(list(labels))].copy()
shown[snakemake.params.group] = shown["model_id"].map(labels)
plots.accuracy_by_group(
    shown, snakemake.params.group, snakemake.output[0], order=list(snakemake.params.model_ids)
)
log(f"wrote {snakemake.output[0]}")
