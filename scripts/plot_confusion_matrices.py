"""Confusion matrices of the classifiers a figure names, side by side."""

import pandas as pd

from aeflow.plan.logs import job_logger
from aeflow.report import plots

log = job_logger(snakemake.log[0])
confusion = pd.read_parquet(snakemake.input.confusion)
plots.confusion_matrices(confusion, snakemake.params.model_ids, snakemake.output[0])
log(f"wrote {snakemake.output[0]}: {', '.join(snakemake.params.model_ids)}")
