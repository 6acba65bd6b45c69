"""Originals above, each configuration's reconstructions below."""

from aeflow.plan.logs import job_logger
from aeflow.report import plots
from aeflow.run import metrics

log = job_logger(snakemake.log[0])
saved = [metrics.load_reconstructions(p) for p in snakemake.input.reconstructions]
plots.reconstructions_grid(
    saved[0]["originals"],
    {label: s["reconstructions"] for label, s in zip(snakemake.params.labels, saved)},
    snakemake.output[0],
)
log(f"wrote {snakemake.output[0]}")
