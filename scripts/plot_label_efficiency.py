"""Test accuracy against the number of labels, one line per initialisation (one study)."""

import pandas as pd

from aeflow.plan.logs import job_logger
from aeflow.report import efficiency, plots

log = job_logger(snakemake.log[0])
metrics = pd.read_parquet(snakemake.input.metrics)
rows = efficiency.study_rows(metrics, snakemake.params.model_ids, snakemake.params.all_labels)
plots.label_efficiency(efficiency.curves(rows), snakemake.output[0])
log(f"wrote {snakemake.output[0]}")
