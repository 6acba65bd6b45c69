# aeflow: does autoencoder pretraining help a Fashion-MNIST classifier?
# Run:    snakemake --cores 8 --resources gpu=1
# Quick:  snakemake --cores 2 --configfile config/quick.yaml
# Report: snakemake --report report.html


from snakemake.utils import min_version, validate

min_version("9.0")


# A --configfile given on the command line replaces config/config.yaml (instead of
# being merged into it), so that its sweeps are the only sweeps.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


conda: "envs/aeflow.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/autoencoder.smk"
include: "rules/classifier.smk"
include: "rules/evaluate.smk"
include: "rules/figures.smk"
include: "rules/report.smk"


rule all:
    input:
        "results/report.html",
        TABLES,
    default_target: True
