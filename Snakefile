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


include: "rules/common.smk"


localrules:
    all,
    download,
    prepare,
    export_encoder,
    evaluate_autoencoder,
    evaluate_classifier,
    tables,
    plot_autoencoder_sweep,
    plot_reconstructions,
    plot_classifier_curves,
    plot_classifier_sweep,
    plot_confusion_matrices,
    plot_test_accuracy,
    plot_study_autoencoder_sweep,
    plot_study_autoencoder_curves,
    plot_study_reconstructions,
    plot_study_classifier_sweep,
    plot_study_classifier_curves,
    plot_study_test_accuracy,
    plot_study_confusion_matrices,
    report,


wildcard_constraints:
    seed=r"\d+",
    ae=r"[a-z_]+-[0-9a-f]{10}",
    clf=r"[a-z_]+-[0-9a-f]{10}",
    init="|".join(aeflow_grid.INITIALISATIONS),
    study="|".join(map(re.escape, STUDIES)) or "none",


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
