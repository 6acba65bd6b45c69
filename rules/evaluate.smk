# Evaluation on the test images, then the study's tidy tables.


rule evaluate_autoencoder:
    input:
        data=DATASET,
        model="results/autoencoder/{ae}/seed{seed}/model.pt",
        code=code("evaluate"),
    output:
        metrics="results/autoencoder/{ae}/seed{seed}/metrics.parquet",
        reconstructions="results/autoencoder/{ae}/seed{seed}/reconstructions.pt",
    log:
        "logs/autoencoder/{ae}/seed{seed}/evaluate.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        hp=lambda w: PLAN.autoencoders[w.ae],
        device=config["device"],
        shown=config["figures"]["reconstructions"],
    script:
        script_path("evaluate")


rule evaluate_classifier:
    input:
        data=DATASET,
        model="results/classifier/{clf}/seed{seed}/model.pt",
        code=code("evaluate"),
    output:
        metrics="results/classifier/{clf}/seed{seed}/metrics.parquet",
        confusion="results/classifier/{clf}/seed{seed}/confusion.parquet",
    log:
        "logs/classifier/{clf}/seed{seed}/evaluate.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        hp=lambda w: PLAN.classifiers[w.clf],
        device=config["device"],
    script:
        script_path("evaluate")


rule tables:
    input:
        histories=runs(
            "results/autoencoder/{ae}/seed{seed}/history.parquet", "autoencoder"
        )
        + runs("results/classifier/{clf}/seed{seed}/history.parquet", "classifier"),
        autoencoder_metrics=runs(
            "results/autoencoder/{ae}/seed{seed}/metrics.parquet", "autoencoder"
        ),
        classifier_metrics=runs(
            "results/classifier/{clf}/seed{seed}/metrics.parquet", "classifier"
        ),
        confusion_matrices=runs(
            "results/classifier/{clf}/seed{seed}/confusion.parquet", "classifier"
        ),
        code=code("tables"),
    output:
        histories=report(
            TABLE["histories"],
            caption=caption("histories"),
            category="Tables",
        ),
        autoencoder_metrics=report(
            TABLE["autoencoder_metrics"],
            caption=caption("autoencoder_metrics"),
            category="Tables",
        ),
        classifier_metrics=report(
            TABLE["classifier_metrics"],
            caption=caption("classifier_metrics"),
            category="Tables",
        ),
        confusion_matrices=report(
            TABLE["confusion_matrices"],
            caption=caption("confusion_matrices"),
            category="Tables",
        ),
    log:
        "logs/tables.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    script:
        script_path("tables")
