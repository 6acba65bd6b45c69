# Figures (PNG) from the tables; each is also an item of Snakemake's report.


rule plot_autoencoder_sweep:
    input:
        histories=TABLE["histories"],
        code=code("plot_autoencoder_sweep"),
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
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        base=AE_BASE,
        model_ids=MAIN_AUTOENCODERS,
    script:
        script_path("plot_autoencoder_sweep")


rule plot_reconstructions:
    input:
        reconstructions=expand(
            "results/autoencoder/{ae}/seed{seed}/reconstructions.pt",
            ae=MAIN_AUTOENCODERS,
            seed=SEEDS[0],
        ),
        code=code("plot_reconstructions"),
    output:
        report(
            "results/figures/reconstructions.png",
            caption=caption("reconstructions"),
            category="Autoencoder",
            labels={"figure": "reconstructions"},
        ),
    log:
        "logs/figures/reconstructions.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        labels=[
            aeflow_grid.describe(AUTOENCODERS[i], AE_BASE) for i in MAIN_AUTOENCODERS
        ],
    script:
        script_path("plot_reconstructions")


rule plot_classifier_curves:
    input:
        histories=TABLE["histories"],
        code=code("plot_classifier_curves"),
    output:
        report(
            "results/figures/classifier_curves.png",
            caption=caption("classifier_curves"),
            category="Classifier",
            labels={"figure": "learning curves by initialisation"},
        ),
    log:
        "logs/figures/classifier_curves.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        model_ids=base_classifiers(),
    script:
        script_path("plot_classifier_curves")


rule plot_classifier_sweep:
    input:
        histories=TABLE["histories"],
        code=code("plot_classifier_sweep"),
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
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        base=lambda w: {**CLF_BASE, "initialisation": w.init},
        model_ids=MAIN_CLASSIFIERS,
    script:
        script_path("plot_classifier_sweep")


rule plot_confusion_matrices:
    input:
        confusion=TABLE["confusion_matrices"],
        code=code("plot_confusion_matrices"),
    output:
        report(
            "results/figures/confusion_matrices.png",
            caption=caption("confusion_matrices_figure"),
            category="Classifier",
            labels={"figure": "confusion matrices"},
        ),
    log:
        "logs/figures/confusion_matrices.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        model_ids=base_classifiers(),
    script:
        script_path("plot_confusion_matrices")


rule plot_test_accuracy:
    input:
        metrics=TABLE["classifier_metrics"],
        code=code("plot_test_accuracy"),
    output:
        report(
            "results/figures/test_accuracy.png",
            caption=caption("test_accuracy"),
            category="Classifier",
            labels={"figure": "test accuracy by initialisation"},
        ),
    log:
        "logs/figures/test_accuracy.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        model_ids=base_classifiers(),
        group="initialisation",
    script:
        script_path("plot_test_accuracy")


rule plot_latent_maps:
    input:
        data=DATASET,
        models=lambda w: [
            f"results/autoencoder/{base_autoencoder()}/seed{SEEDS[0]}/model.pt"
        ],
        code=code("plot_latent_maps"),
    output:
        report(
            "results/figures/latent_maps.png",
            caption=caption("latent_maps"),
            category="Autoencoder",
            labels={"figure": "latent maps (PCA, t-SNE)"},
        ),
    log:
        "logs/figures/latent_maps.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        hps=lambda w: [AUTOENCODERS[base_autoencoder()]],
        labels=[""],
        methods=["pca", "tsne"],
        title="Test-set latents of the base autoencoder",
        device=config["device"],
        points=config["figures"]["latent_points"],
    script:
        script_path("plot_latent_maps")


rule plot_probes:
    input:
        metrics=TABLE["autoencoder_metrics"],
        code=code("plot_probes"),
    output:
        report(
            "results/figures/probes.png",
            caption=caption("probes"),
            category="Autoencoder",
            labels={"figure": "probe accuracy against MSE and latent size"},
        ),
    log:
        "logs/figures/probes.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    script:
        script_path("plot_probes")
