"""Loss curves for one swept hyperparameter: of the autoencoders, or of the classifiers
of one initialisation (``params.kind``)."""

import pandas as pd

from aeflow.plan.logs import job_logger
from aeflow.report import plots

log = job_logger(snakemake.log[0])
histories = pd.read_parquet(snakemake.input.histories)
plots.sweep_curves(
    histories,
    snakemake.params.kind,
    snakemake.params.base,
    snakemake.wildcards.param,
    snakemake.output[0],
    model_ids=snakemake.params.model_ids,
)
log(f"wrote {snakemake.output[0]}")
