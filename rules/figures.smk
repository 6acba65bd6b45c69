# Figures (PNG) from the tables; each is also an item of Snakemake's report.


rule plot_autoencoder_sweep:
    input:
        histories="results/tables/histories.parquet",
        code=code("plots"),
    output:
        report(
            "results/figures/autoencoder_{param}.png",
            caption=caption("autoencoder_sweep"),
            category="Autoencoder",
            labels={"figure": "loss curves by {param}"},
        ),
    log:
        "logs/figures/autoencoder_{param}.log",
    wildcard_constraints:
        param="|".join(AE_SWEEPS) or "none",
    conda:
        "../envs/aeflow.yaml"
    params:
        base=AE_BASE,
        model_ids=MAIN_AUTOENCODERS,
    script:
        "../scripts/plot_autoencoder_sweep.py"


rule plot_reconstructions:
    input:
        reconstructions=expand(
            "results/autoencoder/{ae}/seed{seed}/reconstructions.pt",
            ae=MAIN_AUTOENCODERS,
            seed=SEEDS[0],
        ),
        code=code("plots", "metrics"),
    output:
        report(
            "results/figures/reconstructions.png",
            caption=caption("reconstructions"),
            category="Autoencoder",
            labels={"figure": "reconstructions"},
        ),
    log:
        "logs/figures/reconstructions.log",
    conda:
        "../envs/aeflow.yaml"
    params:
        labels=[
            aeflow_grid.describe(AUTOENCODERS[i], AE_BASE) for i in MAIN_AUTOENCODERS
        ],
    script:
        "../scripts/plot_reconstructions.py"


rule plot_classifier_curves:
    input:
        histories="results/tables/histories.parquet",
        code=code("plots"),
    output:
        report(
            "results/figures/classifier_curves.png",
            caption=caption("classifier_curves"),
            category="Classifier",
            labels={"figure": "learning curves by initialisation"},
        ),
    log:
        "logs/figures/classifier_curves.log",
    conda:
        "../envs/aeflow.yaml"
    params:
        model_ids=base_classifiers(),
    script:
        "../scripts/plot_classifier_curves.py"


rule plot_classifier_sweep:
    input:
        histories="results/tables/histories.parquet",
        code=code("plots"),
    output:
        report(
            "results/figures/classifier_{init}_{param}.png",
            caption=caption("classifier_sweep"),
            category="Classifier",
            labels={"figure": "{init} classifier by {param}"},
        ),
    log:
        "logs/figures/classifier_{init}_{param}.log",
    wildcard_constraints:
        param="|".join(CLF_SWEEPS) or "none",
    conda:
        "../envs/aeflow.yaml"
    params:
        base=lambda w: {**CLF_BASE, "initialisation": w.init},
        model_ids=MAIN_CLASSIFIERS,
    script:
        "../scripts/plot_classifier_sweep.py"


rule plot_confusion_matrices:
    input:
        confusion="results/tables/confusion_matrices.parquet",
        code=code("plots"),
    output:
        report(
            "results/figures/confusion_matrices.png",
            caption=caption("confusion_matrices_figure"),
            category="Classifier",
            labels={"figure": "confusion matrices"},
        ),
    log:
        "logs/figures/confusion_matrices.log",
    conda:
        "../envs/aeflow.yaml"
    params:
        model_ids=base_classifiers(),
    script:
        "../scripts/plot_confusion_matrices.py"


rule plot_test_accuracy:
    input:
        metrics="results/tables/classifier_metrics.parquet",
        code=code("plots"),
    output:
        report(
            "results/figures/test_accuracy.png",
            caption=caption("test_accuracy"),
            category="Classifier",
            labels={"figure": "test accuracy by initialisation"},
        ),
    log:
        "logs/figures/test_accuracy.log",
    conda:
        "../envs/aeflow.yaml"
    params:
        model_ids=base_classifiers(),
        group="initialisation",
    script:
        "../scripts/plot_test_accuracy.py"
