"""Decode the IDX files and write the train / validation / test split as one file."""

from pathlib import Path

from aeflow.plan.logs import job_logger
from aeflow.run import data

log = job_logger(snakemake.log[0])
files = {Path(f).name: f for f in snakemake.input.files}
dataset = data.split(
    data.read_idx(files["train-images-idx3-ubyte.gz"], "images"),
    data.read_idx(files["train-labels-idx1-ubyte.gz"], "labels"),
    data.read_idx(files["t10k-images-idx3-ubyte.gz"], "images"),
    data.read_idx(files["t10k-labels-idx1-ubyte.gz"], "labels"),
    validation_size=snakemake.params.validation_size,
    seed=snakemake.params.split_seed,
    classes=snakemake.params.classes,
    subset=snakemake.params.subset,
    train_images_expected=snakemake.params.train_images,
)
data.save(dataset, snakemake.output[0])
for part in ("train", "validation", "test"):
    log(f"{part}: {len(dataset[f'{part}_images'])} images")
