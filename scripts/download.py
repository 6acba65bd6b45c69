"""Fetch one Fashion-MNIST file from the configured sources, checksummed."""

from aeflow.plan.logs import job_logger
from aeflow.run.fetch import fetch

log = job_logger(snakemake.log[0])
name = snakemake.wildcards.file
source, skipped = fetch(
    name, snakemake.params.sources, snakemake.output[0], **snakemake.params.checksum
)
for reason in skipped:
    log(f"{name}: skipped {reason.strip()}")
log(f"{name}: copied from {source}, checksum ok")
