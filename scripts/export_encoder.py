"""Export a trained autoencoder's encoder: weights plus what rebuilds it."""

from aeflow.plan.logs import job_logger
from aeflow.run import models, training

log = job_logger(snakemake.log[0])
model, saved = models.load_trained(snakemake.input.model)
export = models.encoder_export(model, saved["params"], saved["model_id"])
training.save_model(export, snakemake.output[0])
log(f"encoder of {saved['model_id']} (latent {export['latent']}) exported")
