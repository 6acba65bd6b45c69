"""Train one autoencoder or classifier configuration for one seed (both training rules)."""

from pathlib import Path

from aeflow import data, models, tables, training
from aeflow.logs import job_logger

log = job_logger(snakemake.log[0])
kind = "autoencoder" if snakemake.rule == "train_autoencoder" else "classifier"
model_id = snakemake.wildcards.get("ae") or snakemake.wildcards.get("clf")
seed = int(snakemake.wildcards.seed)
params = dict(snakemake.params.hp)
device = training.select_device(snakemake.params.device)
if snakemake.params.deterministic:
    training.use_deterministic_algorithms()
log(f"{kind} {model_id} seed {seed} on {device} with {snakemake.threads} threads: {params}")

dataset = data.load(snakemake.input.data)
checkpoint = Path(snakemake.output.model).with_name("resume.pt")
if kind == "autoencoder":
    model, result = training.fit_autoencoder(params, dataset, seed, device, checkpoint, log)
else:
    encoder_file = snakemake.input.get("encoder")
    encoder = models.load_checkpoint(encoder_file) if encoder_file else None
    model, result = training.fit_classifier(params, dataset, seed, device, encoder, checkpoint, log)

tables.write_parquet(
    tables.history_frame(result["history"], kind, model_id, seed, params), snakemake.output.history
)
training.save_model(
    training.model_file(kind, model_id, seed, params, model, result), snakemake.output.model
)
checkpoint.unlink(missing_ok=True)
log(f"done in {result['train_seconds']:.1f} s of training")
