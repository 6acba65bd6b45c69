"""Train one autoencoder or classifier configuration for one seed (both training rules)."""

from pathlib import Path

from aeflow.plan.logs import job_logger
from aeflow.run import data, devices, models, records, training

log = job_logger(snakemake.log[0])
kind = "autoencoder" if snakemake.rule == "train_autoencoder" else "classifier"
model_id = snakemake.wildcards.get("ae") or snakemake.wildcards.get("clf")
seed = int(snakemake.wildcards.seed)
params = dict(snakemake.params.hp)
if snakemake.params.deterministic:
    training.use_deterministic_algorithms()
dataset = data.load(snakemake.input.data)
checkpoint = Path(snakemake.output.model).with_name("resume.pt")
encoder_file = snakemake.input.get("encoder")
encoder = models.load_checkpoint(encoder_file) if encoder_file else None

# A GPU of its own for the job's lifetime when there are several (see aeflow.run.devices).
with devices.job_device(snakemake.params.device, snakemake.params.gpu_slots, log) as device:
    log(f"{kind} {model_id} seed {seed} on {device} with {snakemake.threads} threads: {params}")
    if kind == "autoencoder":
        model, result = training.fit_autoencoder(
            params, dataset, seed, device, checkpoint, log, **snakemake.params.engine
        )
    else:
        model, result = training.fit_classifier(
            params, dataset, seed, device, encoder, checkpoint, log, **snakemake.params.engine
        )

records.write_parquet(
    records.history_rows(result["history"], kind, model_id, seed, params),
    snakemake.output.history,
)
training.save_model(
    training.model_file(kind, model_id, seed, params, model, result), snakemake.output.model
)
checkpoint.unlink(missing_ok=True)
log(f"done in {result['train_seconds']:.1f} s of training")
