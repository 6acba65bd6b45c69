# Figures of every study (the main grid is the first, studies.MAIN), from the tables.


rule plot_study_autoencoder_sweep:
    input:
        histories=TABLE["histories"],
        code=code("plot_sweep"),
    output:
        report(
            "results/figures/studies/{study}/ae_sweep_{param}.png",
            caption=caption("autoencoder_sweep"),
            category="Studies",
            subcategory="{study}",
            labels={"figure": "autoencoder loss by {param}"},
        ),
    log:
        "logs/figures/studies/{study}/ae_sweep_{param}.log",
    wildcard_constraints:
        param="|".join(aeflow_grid.AUTOENCODER_KEYS),
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        kind="autoencoder",
        base=lambda w: PLAN.studies[w.study].autoencoder_base,
        model_ids=lambda w: list(PLAN.studies[w.study].autoencoders),
    script:
        script_path("plot_sweep")


rule plot_study_autoencoder_curves:
    input:
        histories=TABLE["histories"],
        code=code("plot_autoencoder_curves"),
    output:
        report(
            "results/figures/studies/{study}/ae_curves.png",
            caption=caption("study_autoencoder_curves"),
            category="Studies",
            subcategory="{study}",
            labels={"figure": "autoencoder loss curves"},
        ),
    log:
        "logs/figures/studies/{study}/ae_curves.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        model_ids=lambda w: PLAN.study_labels(w.study, "autoencoder"),
    script:
        script_path("plot_autoencoder_curves")


rule plot_study_reconstructions:
    input:
        reconstructions=lambda w: expand(
            "results/autoencoder/{ae}/seed{seed}/reconstructions.pt",
            ae=PLAN.studies[w.study].autoencoders,
            seed=PLAN.seeds[0],
        ),
        code=code("plot_reconstructions"),
    output:
        report(
            "results/figures/studies/{study}/reconstructions.png",
            caption=caption("reconstructions"),
            category="Studies",
            subcategory="{study}",
            labels={"figure": "reconstructions"},
        ),
    log:
        "logs/figures/studies/{study}/reconstructions.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        labels=lambda w: list(PLAN.studies[w.study].autoencoders.values()),
    script:
        script_path("plot_reconstructions")


rule plot_study_classifier_sweep:
    input:
        histories=TABLE["histories"],
        code=code("plot_sweep"),
    output:
        report(
            "results/figures/studies/{study}/clf_sweep_{init}_{param}.png",
            caption=caption("classifier_sweep"),
            category="Studies",
            subcategory="{study}",
            labels={"figure": "{init} classifier by {param}"},
        ),
    log:
        "logs/figures/studies/{study}/clf_sweep_{init}_{param}.log",
    wildcard_constraints:
        param="|".join(aeflow_grid.CLASSIFIER_KEYS),
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        kind="classifier",
        base=lambda w: {
            **PLAN.studies[w.study].classifier_base,
            "initialisation": w.init,
        },
        model_ids=lambda w: list(PLAN.studies[w.study].classifiers),
    script:
        script_path("plot_sweep")


rule plot_study_classifier_curves:
    input:
        histories=TABLE["histories"],
        code=code("plot_classifier_curves"),
    output:
        report(
            "results/figures/studies/{study}/clf_curves.png",
            caption=caption("classifier_curves"),
            category="Studies",
            subcategory="{study}",
            labels={"figure": "classifier learning curves"},
        ),
    log:
        "logs/figures/studies/{study}/clf_curves.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        model_ids=lambda w: PLAN.studies[w.study].curve_classifiers,
    script:
        script_path("plot_classifier_curves")


rule plot_study_test_accuracy:
    input:
        metrics=TABLE["classifier_metrics"],
        code=code("plot_test_accuracy"),
    output:
        report(
            "results/figures/studies/{study}/test_accuracy.png",
            caption=caption("study_test_accuracy"),
            category="Studies",
            subcategory="{study}",
            labels={"figure": "test accuracy by configuration"},
        ),
    log:
        "logs/figures/studies/{study}/test_accuracy.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        model_ids=lambda w: PLAN.study_labels(w.study, "classifier"),
        group="configuration",
    script:
        script_path("plot_test_accuracy")


rule plot_study_confusion_matrices:
    input:
        confusion=TABLE["confusion_matrices"],
        code=code("plot_confusion_matrices"),
    output:
        report(
            "results/figures/studies/{study}/confusion_matrices.png",
            caption=caption("study_confusion_matrices"),
            category="Studies",
            subcategory="{study}",
            labels={"figure": "confusion matrices (percent)"},
        ),
    log:
        "logs/figures/studies/{study}/confusion_matrices.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        model_ids=lambda w: PLAN.studies[w.study].confusion_classifiers,
    script:
        script_path("plot_confusion_matrices")


rule plot_study_label_efficiency:
    input:
        metrics=TABLE["classifier_metrics"],
        code=code("plot_label_efficiency"),
    output:
        report(
            "results/figures/studies/{study}/label_efficiency.png",
            caption=caption("label_efficiency"),
            category="Studies",
            subcategory="{study}",
            labels={"figure": "test accuracy by number of labels"},
        ),
    log:
        "logs/figures/studies/{study}/label_efficiency.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        model_ids=lambda w: list(PLAN.studies[w.study].classifiers),
        all_labels=PLAN.train_size,
    script:
        script_path("plot_label_efficiency")


rule plot_study_latent_maps:
    input:
        data=DATASET,
        models=lambda w: expand(
            "results/autoencoder/{ae}/seed{seed}/model.pt",
            ae=PLAN.studies[w.study].autoencoders,
            seed=PLAN.seeds[0],
        ),
        code=code("plot_latent_maps"),
    output:
        report(
            "results/figures/studies/{study}/latent_maps.png",
            caption=caption("study_latent_maps"),
            category="Studies",
            subcategory="{study}",
            labels={"figure": "latent maps"},
        ),
    log:
        "logs/figures/studies/{study}/latent_maps.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        hps=lambda w: [PLAN.autoencoders[i] for i in PLAN.studies[w.study].autoencoders],
        labels=lambda w: list(PLAN.studies[w.study].autoencoders.values()),
        methods=config["figures"]["study_latent_maps"],
        title=lambda w: f"Test-set latents of the autoencoders of {PLAN.studies[w.study].title}",
        device=config["device"],
        points=config["figures"]["latent_points"],
    script:
        script_path("plot_latent_maps")
