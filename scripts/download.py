"""Fetch one Fashion-MNIST file from the configured sources, checksummed."""

from aeflow.data import fetch
from aeflow.logs import job_logger

log = job_logger(snakemake.log[0])
name = snakemake.wildcards.file
source = fetch(name, snakemake.params.sources, snakemake.output[0], **snakemake.params.checksum)
log(f"{name}: copied from {source}, checksum ok")
