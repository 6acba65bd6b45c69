"""PCA and t-SNE maps of the base autoencoder's test latents, coloured by class."""

from aeflow import data, devices, embedding, models, plots, probes
from aeflow.logs import job_logger

log = job_logger(snakemake.log[0])
dataset = data.load(snakemake.input.data)
points = snakemake.params.points
device = devices.select_device(snakemake.params.device)
model, _ = models.load_trained(
    snakemake.input.model, dict(snakemake.params.hp), len(dataset["classes"])
)
latents = probes.encode(model.encoder, dataset["test_images"][:points], device)
labels = dataset["test_labels"][:points].numpy()
maps = {
    "PCA": embedding.embed(latents.numpy(), "pca"),
    "t-SNE": embedding.embed(latents.numpy(), "tsne"),
}
plots.latent_maps(maps, labels, dataset["classes"], snakemake.output[0])
log(f"wrote {snakemake.output[0]} from {len(labels)} test images")
