# Shared helpers: the expanded grids, input functions and paths every step uses.

import mimetypes
import os
import sys
from pathlib import Path

# Tables in `snakemake --report` are offered as parquet downloads, not as text.
mimetypes.add_type("application/vnd.apache.parquet", ".parquet")

# The workflow's own package is the one that runs: first on the import path of
# this process and of every job (script jobs inherit the environment).
sys.path.insert(0, workflow.basedir)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        [workflow.basedir, *filter(None, [os.getenv("PYTHONPATH")])]
    )
)

import aeflow
from aeflow import grid as aeflow_grid
from snakemake.exceptions import WorkflowError

try:
    AUTOENCODERS = aeflow_grid.autoencoder_grid(config["autoencoder"])
    AE_BASE = aeflow_grid.canonical(
        {k: config["autoencoder"]["base"][k] for k in aeflow_grid.AUTOENCODER_KEYS}
    )
    CLASSIFIERS = aeflow_grid.classifier_grid(
        config["classifier"], AE_BASE, AUTOENCODERS
    )
except aeflow_grid.GridError as err:
    raise WorkflowError(f"Invalid config: {err}")

CLF_BASE = aeflow_grid.canonical(
    {k: config["classifier"]["base"][k] for k in aeflow_grid.CLASSIFIER_KEYS}
)
SEEDS = config["seeds"]


DATA = config["data"]
DATASET = "results/data/fashion_mnist.pt"
GPU_SLOTS = ".snakemake/aeflow-gpu-slots"  # lock files: one GPU per local training job
IDX_FILES = list(DATA["files"])
AE_SWEEPS = list(config["autoencoder"].get("sweeps") or {})
CLF_SWEEPS = list(config["classifier"].get("sweeps") or {})
INITIALISATIONS = config["classifier"]["initialisations"]


def _train_size():
    subset = DATA.get("subset") or {}
    return subset.get("train") or 60000 - DATA["validation_size"]


for _where, _grid in (("autoencoder", AUTOENCODERS), ("classifier", CLASSIFIERS)):
    for _params in _grid.values():
        if _params["batch_size"] > _train_size():
            raise WorkflowError(
                f"Invalid config: {_where} batch_size {_params['batch_size']} is larger "
                f"than the training set ({_train_size()} images)"
            )


def code(*modules):
    """The package modules a rule's results depend on: editing one reruns the rule."""
    root = Path(aeflow.__file__).parent
    return [str(root / f"{m}.py") for m in modules]


def base_classifier(init):
    """Id of the base classifier configuration with this initialisation."""
    for clf_id, params in CLASSIFIERS.items():
        if params["initialisation"] == init and all(
            params[k] == v for k, v in CLF_BASE.items()
        ):
            return clf_id
    raise WorkflowError(f"no base classifier for initialisation {init}")


def base_classifiers():
    return {init: base_classifier(init) for init in INITIALISATIONS}


def classifier_inputs(wildcards):
    """Data, code and, for a pretrained classifier, the encoder it starts from."""
    inputs = {"data": DATASET, "code": code("models", "training")}
    ae_id = CLASSIFIERS[wildcards.clf]["autoencoder_id"]
    if ae_id is not None:
        inputs["encoder"] = (
            f"results/autoencoder/{ae_id}/seed{wildcards.seed}/encoder.pt"
        )
    return inputs


def caption(name):
    """Path of a report caption, relative to the .smk files."""
    return f"../report/{name}.rst"


def caption_text(name):
    return (Path(workflow.basedir) / "report" / f"{name}.rst").read_text().strip()


TABLES = expand(
    "results/tables/{table}.parquet",
    table=[
        "histories",
        "autoencoder_metrics",
        "classifier_metrics",
        "confusion_matrices",
    ],
)
FIGURES = (
    [f"results/figures/autoencoder_{p}.png" for p in AE_SWEEPS]
    + ["results/figures/reconstructions.png", "results/figures/classifier_curves.png"]
    + [
        f"results/figures/classifier_{init}_{p}.png"
        for init in INITIALISATIONS
        for p in CLF_SWEEPS
    ]
    + [
        "results/figures/confusion_matrices.png",
        "results/figures/test_accuracy.png",
    ]
)


def figure_caption(path):
    """Caption file name of a figure path."""
    name = Path(path).stem
    if name.startswith("autoencoder_"):
        return "autoencoder_sweep"
    if name.startswith("classifier_") and name != "classifier_curves":
        return "classifier_sweep"
    if name == "confusion_matrices":
        return "confusion_matrices_figure"
    return name


def listing(params):
    """Hyperparameters as "key=value, ..." for the report."""
    return ", ".join(f"{k}={v}" for k, v in params.items())
