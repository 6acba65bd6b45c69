"""Train every seed of one autoencoder or classifier configuration as one pack (the rules
train_autoencoder_seeds and train_classifier_seeds): the per-seed files of scripts/train.py."""

from pathlib import Path

from aeflow.plan.logs import job_logger
from aeflow.run import data, devices, models, packed, records, training

log = job_logger(snakemake.log[0])
kind = "autoencoder" if snakemake.rule == "train_autoencoder_seeds" else "classifier"
model_id = snakemake.wildcards.get("ae") or snakemake.wildcards.get("clf")
seeds = [int(s) for s in snakemake.params.seeds]
params = dict(snakemake.params.hp)
if snakemake.params.deterministic:
    training.use_deterministic_algorithms()
dataset = data.load(snakemake.input.data)
checkpoint = Path(snakemake.output.model[0]).parent.with_name("resume-seeds.pt")
encoder_files = snakemake.input.get("encoder")
encoders = [models.load_checkpoint(f) for f in encoder_files] if encoder_files else None

# A GPU of its own for the job's lifetime when there are several (see aeflow.run.devices).
with devices.job_device(snakemake.params.device, snakemake.params.gpu_slots, log) as device:
    log(f"{kind} {model_id} seeds {seeds} as one pack on {device}: {params}")
    trained = packed.fit_pack(
        kind,
        [(params, seed) for seed in seeds],
        dataset,
        device,
        checkpoint,
        log,
        encoders,
        dict(snakemake.params.engine),
    )

for seed, (model, result), model_path, history_path in zip(
    seeds, trained, snakemake.output.model, snakemake.output.history
):
    records.write_parquet(
        records.history_rows(result["history"], kind, model_id, seed, params), history_path
    )
    training.save_model(
        training.model_file(kind, model_id, seed, params, model, result), model_path
    )
checkpoint.unlink(missing_ok=True)
log(f"done in {sum(r['train_seconds'] for _, r in trained):.1f} s of training")
