"""Probe accuracy (k-NN, linear) of every autoencoder against its test MSE and latent size."""

import pandas as pd

from aeflow.plan.logs import job_logger
from aeflow.report import plots

log = job_logger(snakemake.log[0])
metrics = pd.read_parquet(snakemake.input.metrics)
plots.probes(metrics, snakemake.output[0])
log(f"wrote {snakemake.output[0]} from {metrics['model_id'].nunique()} autoencoders")
