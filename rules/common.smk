# Shared helpers: the expanded grids, input functions and paths every step uses.

import mimetypes
import os
import re
from pathlib import Path

# Tables in `snakemake --report` are offered as parquet downloads, not as text.
mimetypes.add_type("application/vnd.apache.parquet", ".parquet")

from aeflow.plan import codedeps as aeflow_codedeps
from aeflow.plan import cost as aeflow_cost
from aeflow.plan import figures as aeflow_figures
from aeflow.plan import grid as aeflow_grid
from aeflow.plan import machine as aeflow_machine
from aeflow.plan import plan as aeflow_plan
from aeflow.plan import provenance as aeflow_provenance
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

DATA = config["data"]
DATASET = "results/data/fashion_mnist.pt"
GPU_SLOTS = ".snakemake/aeflow-gpu-slots"  # lock files: one GPU per local training job
IDX_FILES = list(DATA["files"])

# Every configuration, study, seed and where training runs (aeflow/plan/plan.py): training
# jobs on the CPU ask for no GPU, so that --resources gpu=N limits only the jobs that
# use one (GPUs counted once, without torch; see aeflow/plan/machine.py).
try:
    PLAN = aeflow_plan.build(config, aeflow_machine.gpu_count())
except aeflow_grid.GridError as err:
    raise WorkflowError(f"Invalid config: {err}")


def runs(pattern, kind):
    """`pattern` (wildcards {ae} or {clf}, and {seed}) for every configuration of `kind`
    and each of its replicate seeds (PLAN.run_seeds)."""
    key = "ae" if kind == "autoencoder" else "clf"
    return [
        str(pattern).format(**{key: i, "seed": seed})
        for i, seeds in PLAN.run_seeds[kind].items()
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


def classifier_inputs(wildcards):
    """Data, code and, for a pretrained classifier, the encoder it starts from."""
    inputs = {"data": DATASET, "code": code("train")}
    ae_id = PLAN.classifiers[wildcards.clf]["autoencoder_id"]
    if ae_id is not None:
        inputs["encoder"] = (
            f"results/autoencoder/{ae_id}/seed{wildcards.seed}/encoder.pt"
        )
    return inputs


def classifier_pack_inputs(wildcards):
    """A pack's inputs: data, code and, for a pretrained classifier, every seed's encoder."""
    inputs = {"data": DATASET, "code": code("train_seeds")}
    ae_id = PLAN.classifiers[wildcards.clf]["autoencoder_id"]
    if ae_id is not None:
        inputs["encoder"] = [
            f"results/autoencoder/{ae_id}/seed{seed}/encoder.pt" for seed in PLAN.seeds
        ]
    return inputs


def model_paths(kind, model_id):
    """Every seed's model file of one configuration, as its training rule names them."""
    packed = model_id in PLAN.packed[kind]
    pattern = getattr(
        rules, f"train_{kind}_seeds" if packed else f"train_{kind}"
    ).output.model
    if not packed:  # one job per seed
        return [
            pattern.format(ae=model_id, clf=model_id, seed=s)
            for s in PLAN.run_seeds[kind][model_id]
        ]
    return [p.format(ae=model_id, clf=model_id) for p in pattern]  # one pack job


def training_benchmarks(kind):
    """Every training job's benchmark file: one per pack, one per seed otherwise."""
    key = "ae" if kind == "autoencoder" else "clf"
    packs = [
        str(getattr(rules, f"train_{kind}_seeds").benchmark).format(**{key: i})
        for i in sorted(PLAN.packed[kind])
    ]
    single = str(getattr(rules, f"train_{kind}").benchmark)
    return packs + [
        single.format(**{key: i, "seed": seed})
        for i, seeds in PLAN.run_seeds[kind].items()
        if i not in PLAN.packed[kind]
        for seed in seeds
    ]


def caption(name):
    """Path of a report caption, relative to the .smk files."""
    return f"../report/{name}.rst"


def caption_text(name):
    return (Path(workflow.basedir) / "report" / f"{name}.rst").read_text().strip()


def figure_caption_text(path):
    """The caption of the figure at `path` (its kind's, in aeflow/plan/figures.py)."""
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


STUDY_FIGURES = {
    name: [f"results/figures/studies/{name}/{n}" for n in PLAN.study_figure_names(name)]
    for name in PLAN.studies
}


def trained(kind, model_id):
    """Whether each of a configuration's models is trained, as the plan counts it: in a
    pack job, none is until all are (a missing seed reruns the whole pack)."""
    exists = [Path(p).exists() for p in model_paths(kind, model_id)]
    return [all(exists)] * len(exists) if model_id in PLAN.packed[kind] else exists


def plan_lines():
    """What this run trains, where, and for about how long (printed before the first job)."""
    trainings = {
        kind: [
            (params, done)
            for i, params in PLAN.grid(kind).items()
            for done in trained(kind, i)
        ]
        for kind in aeflow_plan.KINDS
    }
    try:  # --cores, but no more than the machine has
        cores = min(workflow.cores, os.cpu_count())
    except WorkflowError:  # no --cores (a dry run without the profile)
        cores = os.cpu_count()
    return aeflow_cost.plan_lines(
        trainings,
        PLAN.train_size,
        PLAN.validation_size,
        PLAN.device,
        PLAN.gpus,
        cores,
        rules.report.output[0],
        pack=len(PLAN.seeds) if PLAN.pack else 1,
    )
