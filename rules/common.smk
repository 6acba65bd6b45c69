# Shared helpers: the expanded grids, input functions and paths every step uses.

import mimetypes
import os
import re
from pathlib import Path

# Tables in `snakemake --report` are offered as parquet downloads, not as text.
mimetypes.add_type("application/vnd.apache.parquet", ".parquet")

from aeflow import codedeps as aeflow_codedeps
from aeflow import cost as aeflow_cost
from aeflow import figures as aeflow_figures
from aeflow import grid as aeflow_grid
from aeflow import machine as aeflow_machine
from aeflow import provenance as aeflow_provenance
from aeflow import studies as aeflow_studies
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

DATA = config["data"]
DATASET = "results/data/fashion_mnist.pt"
GPU_SLOTS = ".snakemake/aeflow-gpu-slots"  # lock files: one GPU per local training job
IDX_FILES = list(DATA["files"])
INITIALISATIONS = config["classifier"]["initialisations"]

# Training jobs on the CPU ask for no GPU, so that --resources gpu=N limits only the
# jobs that use one (read once, without torch; see aeflow/machine.py).
GPUS = aeflow_machine.gpu_count()
TRAINING_DEVICE = aeflow_machine.training_device(config["device"], GPUS)
TRAINING_GPU = aeflow_machine.training_gpu_resource(config["device"], GPUS)


def _train_size():
    return aeflow_cost.split_sizes(DATA)[0]


# The main grid (first alone, so that its errors name the top-level keys), then every
# study around the same bases; a configuration in several of them has one id and
# trains once.
try:
    AUTOENCODERS = aeflow_grid.autoencoder_grid(
        config["autoencoder"], train_size=_train_size()
    )
    AE_BASE = aeflow_grid.canonical(
        aeflow_grid.base_params(
            config["autoencoder"]["base"], aeflow_grid.AUTOENCODER_KEYS
        ),
        _train_size(),
    )
    CLASSIFIERS = aeflow_grid.classifier_grid(
        config["classifier"], AE_BASE, AUTOENCODERS, train_size=_train_size()
    )
    # the main grid is the first study (studies.MAIN): one set of figure rules and
    # one report section for every study
    STUDIES, _study_ae, _study_clf = aeflow_studies.expand_studies(
        aeflow_studies.with_main(config), AUTOENCODERS, _train_size()
    )
    aeflow_grid.check_images(
        {**CLASSIFIERS, **_study_clf}, aeflow_cost.split_parts(DATA)
    )
except aeflow_grid.GridError as err:
    raise WorkflowError(f"Invalid config: {err}")
AUTOENCODERS.update(_study_ae)
CLASSIFIERS.update(_study_clf)

CLF_BASE = aeflow_grid.canonical(
    aeflow_grid.base_params(config["classifier"]["base"], aeflow_grid.CLASSIFIER_KEYS),
    _train_size(),
)
SEEDS = config["seeds"]


def script_path(name):
    """The `script:` of a rule that runs scripts/<name>.py (relative to rules/)."""
    return f"../scripts/{name}.py"


def code(name):
    """The code inputs of the jobs that run scripts/<name>.py, i.e. the script and
    every aeflow module it reaches through imports (read with ast, transitively), so
    that an edit to any of them reruns the jobs. Paths are relative to the working
    directory, so a moved or copied folder is still finished; they are compared by
    content, not mtime (rerun-triggers in profiles/default/config.yaml)."""
    if name not in _CODE:
        base = Path(workflow.basedir)
        _CODE[name] = aeflow_codedeps.code_files(
            base / "scripts" / f"{name}.py", base / "aeflow", Path.cwd()
        )
    return _CODE[name]


_CODE = {}  # script name: its code files, read once per snakemake start


MAIN = STUDIES[aeflow_studies.MAIN]


def base_autoencoder():
    """Id of the main grid's base autoencoder (its configuration is the base's)."""
    return MAIN["base_autoencoder"]


def base_classifiers():
    """{initialisation: id} of the main grid's base classifiers."""
    return MAIN["base_classifiers"]


def classifier_inputs(wildcards):
    """Data, code and, for a pretrained classifier, the encoder it starts from."""
    inputs = {"data": DATASET, "code": code("train")}
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


def figure_caption_text(path):
    """The caption of the figure at `path` (its kind's, in aeflow/figures.py)."""
    return caption_text(aeflow_figures.caption(path))


# The four tables, each named once: TABLE["histories"] is its path.
TABLE = {
    name: f"results/tables/{name}.parquet"
    for name in (
        "histories",
        "autoencoder_metrics",
        "classifier_metrics",
        "confusion_matrices",
    )
}
TABLES = list(TABLE.values())
# The run's own figures (every study's are in STUDY_FIGURES): the base autoencoder's
# latent map (PCA and t-SNE) and the probes of every autoencoder of the run.
FIGURES = [f"results/figures/{n}" for n in aeflow_figures.run_figure_names()]


def study_figures(name):
    """The figures of one study (the main grid is one): aeflow/figures.py knows which."""
    names = aeflow_figures.study_figure_names(
        STUDIES[name], label_efficiency_study(name)
    )
    return [f"results/figures/studies/{name}/{n}" for n in names]


def label_efficiency_study(name):
    """Whether a study sweeps the number of labels: its label-efficiency figure and
    gains over scratch (the first such study also opens the report)."""
    return "labels" in STUDIES[name]["classifier_sweeps"]


STUDY_FIGURES = {name: study_figures(name) for name in STUDIES}


def study_labels(name, kind):
    """{label: model id} of a study's autoencoders or classifiers, in config order;
    classifier labels start with the initialisation when the study has several."""
    study = STUDIES[name]
    if kind == "autoencoder":
        return {label: i for i, label in study["autoencoders"].items()}
    several = len(study["base_classifiers"]) > 1
    return {
        (f"{study['initialisations'][i]}: {label}" if several else label): i
        for i, label in study["classifiers"].items()
    }


def plan_lines():
    """What this run trains, where, and for about how long (printed before the first job)."""
    models = {"autoencoder": AUTOENCODERS, "classifier": CLASSIFIERS}
    trainings = {
        kind: [
            (params, Path(pattern.format(ae=i, clf=i, seed=seed)).exists())
            for i, params in grid.items()
            for seed in SEEDS
        ]
        for kind, grid in models.items()
        for pattern in [getattr(rules, f"train_{kind}").output.model]
    }
    try:  # --cores, but no more than the machine has
        cores = min(workflow.cores, os.cpu_count())
    except WorkflowError:  # no --cores (a dry run without the profile)
        cores = os.cpu_count()
    n_train, n_val = aeflow_cost.split_sizes(DATA)
    return aeflow_cost.plan_lines(
        trainings, n_train, n_val, TRAINING_DEVICE, GPUS, cores, rules.report.output[0]
    )
