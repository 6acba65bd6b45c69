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
# engine.pack: all seeds of a configuration in one training job, as one stacked model
# (aeflow/packed.py); "auto" packs where training runs on a GPU. The other switches go
# to the training scripts (pack is left out, so the jobs' params stay as they were).
PACK_SEEDS = aeflow_machine.pack_seeds(
    config["engine"].get("pack", "auto"), TRAINING_GPU
)
TRAINING_ENGINE = {k: v for k, v in sorted(config["engine"].items()) if k != "pack"}


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
# {id: replicate seeds} per model kind: a study's own seeds (and, by number of labels,
# seeds_by_labels) where it has them, else SEEDS (aeflow.studies.model_seeds).
_ae_seeds, _clf_seeds = aeflow_studies.model_seeds(
    STUDIES, CLASSIFIERS, SEEDS, _train_size()
)
RUN_SEEDS = {
    "autoencoder": {i: _ae_seeds.get(i, SEEDS) for i in AUTOENCODERS},
    "classifier": {i: _clf_seeds.get(i, SEEDS) for i in CLASSIFIERS},
}
# The configurations that train as one pack: with engine.pack on, those whose seeds are
# the run's seeds (a study's own seeds, e.g. seeds_by_labels, train one job a seed).
PACKED = {
    kind: {i for i, seeds in by_id.items() if PACK_SEEDS and seeds == SEEDS}
    for kind, by_id in RUN_SEEDS.items()
}
# A configuration's id (a wildcard): its architecture or initialisation, a hash.
MODEL_ID = r"[a-z_]+-[0-9a-f]{10}"
# Of the two training rules of a kind (per seed, pack), each matches only its own
# configurations' files: its id wildcard's constraint names them ("(?!)" matches none).
NO_MATCH = "(?!)"


def _one_of(ids):
    return "|".join(re.escape(i) for i in sorted(ids)) or NO_MATCH


PACK_JOBS = {kind: _one_of(ids) for kind, ids in PACKED.items()}
GRIDS = {"autoencoder": AUTOENCODERS, "classifier": CLASSIFIERS}
PER_SEED_JOBS = {
    kind: (_one_of(set(GRIDS[kind]) - PACKED[kind]) if PACKED[kind] else MODEL_ID)
    for kind in GRIDS
}


def runs(pattern, kind):
    """`pattern` (wildcards {ae} or {clf}, and {seed}) for every configuration of `kind`
    and each of its replicate seeds (RUN_SEEDS)."""
    key = "ae" if kind == "autoencoder" else "clf"
    return [
        str(pattern).format(**{key: i, "seed": seed})
        for i, seeds in RUN_SEEDS[kind].items()
        for seed in seeds
    ]


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


def classifier_pack_inputs(wildcards):
    """A pack's inputs: data, code and, for a pretrained classifier, every seed's encoder."""
    inputs = {"data": DATASET, "code": code("train_seeds")}
    ae_id = CLASSIFIERS[wildcards.clf]["autoencoder_id"]
    if ae_id is not None:
        inputs["encoder"] = [
            f"results/autoencoder/{ae_id}/seed{seed}/encoder.pt" for seed in SEEDS
        ]
    return inputs


def model_paths(kind, model_id):
    """Every seed's model file of one configuration, as its training rule names them."""
    packed = model_id in PACKED[kind]
    pattern = getattr(
        rules, f"train_{kind}_seeds" if packed else f"train_{kind}"
    ).output.model
    if not packed:  # one job per seed
        return [
            pattern.format(ae=model_id, clf=model_id, seed=s)
            for s in RUN_SEEDS[kind][model_id]
        ]
    return [p.format(ae=model_id, clf=model_id) for p in pattern]  # one pack job


def training_benchmarks(kind):
    """Every training job's benchmark file: one per pack, one per seed otherwise."""
    key = "ae" if kind == "autoencoder" else "clf"
    packs = [
        str(getattr(rules, f"train_{kind}_seeds").benchmark).format(**{key: i})
        for i in sorted(PACKED[kind])
    ]
    single = str(getattr(rules, f"train_{kind}").benchmark)
    return packs + [
        single.format(**{key: i, "seed": seed})
        for i, seeds in RUN_SEEDS[kind].items()
        if i not in PACKED[kind]
        for seed in seeds
    ]


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


def trained(kind, model_id):
    """Whether each of a configuration's models is trained, as the plan counts it: in a
    pack job, none is until all are (a missing seed reruns the whole pack)."""
    exists = [Path(p).exists() for p in model_paths(kind, model_id)]
    return [all(exists)] * len(exists) if model_id in PACKED[kind] else exists


def plan_lines():
    """What this run trains, where, and for about how long (printed before the first job)."""
    models = {"autoencoder": AUTOENCODERS, "classifier": CLASSIFIERS}
    trainings = {
        kind: [
            (params, done) for i, params in grid.items() for done in trained(kind, i)
        ]
        for kind, grid in models.items()
    }
    try:  # --cores, but no more than the machine has
        cores = min(workflow.cores, os.cpu_count())
    except WorkflowError:  # no --cores (a dry run without the profile)
        cores = os.cpu_count()
    n_train, n_val = aeflow_cost.split_sizes(DATA)
    return aeflow_cost.plan_lines(
        trainings,
        n_train,
        n_val,
        TRAINING_DEVICE,
        GPUS,
        cores,
        rules.report.output[0],
        pack=len(SEEDS) if PACK_SEEDS else 1,
    )
