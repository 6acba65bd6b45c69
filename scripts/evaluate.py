"""Test-set metrics of one trained model (both evaluation rules)."""

from aeflow.plan.logs import job_logger
from aeflow.report import tables
from aeflow.run import data, devices, metrics, models, probes

log = job_logger(snakemake.log[0])
dataset = data.load(snakemake.input.data)
classes = dataset["classes"]
device = devices.select_device(snakemake.params.device)
model, saved = models.load_trained(snakemake.input.model, dict(snakemake.params.hp), len(classes))
model.to(device)
# the test images of the configuration's own subset (``images``), if it has one
dataset = data.configuration_data(dataset, saved["params"], saved["seed"])
images = dataset["test_images"].to(device)
labels = dataset["test_labels"]
summary = tables.summary_values(saved["summary"])
identity = (saved["kind"], saved["model_id"], saved["seed"], saved["params"])

if saved["kind"] == "autoencoder":
    values = {"test_mse": metrics.reconstruction_mse(model, images), **summary}
    values.update(probes.probe_values(model.encoder, dataset, device, seed=saved["seed"]))
    shown = snakemake.params.shown
    metrics.save_reconstructions(
        dataset["test_images"][:shown].clone(),
        metrics.reconstruct(model, images[:shown]).cpu(),
        snakemake.output.reconstructions,
    )
    log(
        f"test MSE {values['test_mse']:.5f}, k-NN accuracy {values['test_knn_accuracy']:.4f}, "
        f"linear probe accuracy {values['test_linear_probe_accuracy']:.4f}"
    )
else:
    scores = metrics.classification_scores(metrics.predict(model, images), labels)
    values = tables.classifier_values(scores, saved["summary"], classes)
    tables.write_parquet(
        tables.confusion_frame(
            saved["model_id"], saved["seed"], saved["params"], scores["confusion"], classes
        ),
        snakemake.output.confusion,
    )
    log(f"test accuracy {values['test_accuracy']:.4f}, macro-F1 {values['test_macro_f1']:.4f}")

tables.write_parquet(tables.metrics_frame(*identity, values), snakemake.output.metrics)
