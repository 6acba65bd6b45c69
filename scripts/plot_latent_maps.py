"""Two-dimensional maps (PCA, t-SNE) of autoencoders' test latents, coloured by class:
the base autoencoder's (both methods), or one panel per autoencoder of a study."""

from aeflow.plan.logs import job_logger
from aeflow.report import embedding, plots
from aeflow.run import data, devices, models, probes

log = job_logger(snakemake.log[0])
dataset = data.load(snakemake.input.data)
points = snakemake.params.points
methods = snakemake.params.methods
device = devices.select_device(snakemake.params.device)
images = dataset["test_images"][:points]
maps = {}
for path, hp, label in zip(snakemake.input.models, snakemake.params.hps, snakemake.params.labels):
    model, _ = models.load_trained(path, dict(hp), len(dataset["classes"]))
    latents = probes.encode(model.encoder, images, device).numpy()
    for method in methods:
        name = " · ".join(filter(None, [label, embedding.NAMES[method]]))
        maps[name] = embedding.embed(latents, method)
labels = dataset["test_labels"][:points].numpy()
columns = len(methods) * max(1, 6 // len(methods))  # one autoencoder's maps side by side
plots.latent_maps(
    maps, labels, dataset["classes"], snakemake.output[0], snakemake.params.title, columns
)
log(f"wrote {snakemake.output[0]} from {len(labels)} test images, {len(maps)} maps")
