"""Classifier loss and accuracy curves: scratch vs frozen vs finetune."""

import pandas as pd

from aeflow.plan.logs import job_logger
from aeflow.report import plots

log = job_logger(snakemake.log[0])
histories = pd.read_parquet(snakemake.input.histories)
plots.classifier_curves(histories, snakemake.params.model_ids, snakemake.output[0])
log(f"wrote {snakemake.output[0]}")
