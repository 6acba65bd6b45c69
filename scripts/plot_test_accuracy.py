"""Test accuracy of the base classifiers by initialisation, one point per seed."""

import pandas as pd

from aeflow import plots
from aeflow.logs import job_logger

log = job_logger(snakemake.log[0])
metrics = pd.read_parquet(snakemake.input.metrics)
base = metrics[metrics["model_id"].isin(list(snakemake.params.model_ids.values()))]
plots.accuracy_by_group(base, "initialisation", snakemake.output[0])
log(f"wrote {snakemake.output[0]}")
