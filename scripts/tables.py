"""Aggregate the per-model files into the study's tidy tables."""

from aeflow.plan.logs import job_logger
from aeflow.report import tables

log = job_logger(snakemake.log[0])
for name in ("histories", "autoencoder_metrics", "classifier_metrics", "confusion_matrices"):
    frame = tables.combine(snakemake.input[name])
    tables.write_parquet(frame, snakemake.output[name])
    log(f"{name}: {len(frame)} rows")
