# aeflow: does autoencoder pretraining help a Fashion-MNIST classifier?
# Run:    snakemake --cores 8 --resources gpu=1
# Quick:  snakemake --cores 2 --configfile config/quick.yaml
# Report: snakemake --report report.html


import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")

# The workflow's own package is the one that runs: first on the import path of
# this process and of every job (script jobs inherit the environment).
sys.path.insert(0, workflow.basedir)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        [workflow.basedir, *filter(None, [os.getenv("PYTHONPATH")])]
    )
)

from aeflow.plan import schema as aeflow_schema

# config/config.yaml is the `configfile` of the default profile (profiles/default), so a
# --configfile on the command line replaces it (command-line options override a
# profile's) instead of being merged into it: its sweeps are the only sweeps.
if not config:
    raise WorkflowError(
        "no configuration: give --configfile config/config.yaml (profiles/default, "
        "the workflow profile, gives it unless --workflow-profile none)"
    )


# YAML reads 1e-3 as text: where the schema wants a number, it is read as one.
try:
    aeflow_schema.read_numbers(
        config,
        aeflow_schema.load(os.path.join(workflow.basedir, "config", "schema.yaml")),
    )
except aeflow_schema.NumberError as err:
    raise WorkflowError(f"Invalid config: {err}")
validate(config, "config/schema.yaml")


include: "rules/common.smk"


wildcard_constraints:
    seed=r"\d+",
    ae=aeflow_plan.MODEL_ID,
    clf=aeflow_plan.MODEL_ID,
    init="|".join(aeflow_grid.INITIALISATIONS),
    study="|".join(map(re.escape, PLAN.studies)) or "none",


include: "rules/data.smk"
include: "rules/autoencoder.smk"
include: "rules/classifier.smk"
include: "rules/evaluate.smk"
include: "rules/figures.smk"
include: "rules/studies.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        "results/report.html",
        TABLES,
    localrule: True


# The plan, once, before the DAG (not again in the jobs of a cluster run).
if workflow.is_main_process:
    for line in plan_lines():
        logger.info(line)
