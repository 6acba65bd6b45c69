# Autoencoder grid: train every configuration once per seed, export its encoder.


rule train_autoencoder:
    input:
        data=DATASET,
        code=code("models", "training", "records"),
    output:
        model="results/autoencoder/{ae}/seed{seed}/model.pt",
        history="results/autoencoder/{ae}/seed{seed}/history.parquet",
    log:
        "logs/autoencoder/{ae}/seed{seed}/train.log",
    benchmark:
        "results/benchmarks/train_autoencoder/{ae}_seed{seed}.tsv"
    conda:
        "../envs/aeflow.yaml"
    threads: 2
    resources:
        gpu=TRAINING_GPU,
    params:
        hp=lambda w: AUTOENCODERS[w.ae],
        device=config["device"],
        deterministic=config["deterministic"],
        gpu_slots=GPU_SLOTS,
        engine=dict(sorted(config["engine"].items())),
    script:
        "../scripts/train.py"


rule export_encoder:
    input:
        model="results/autoencoder/{ae}/seed{seed}/model.pt",
        code=code("models"),
    output:
        "results/autoencoder/{ae}/seed{seed}/encoder.pt",
    log:
        "logs/autoencoder/{ae}/seed{seed}/export.log",
    conda:
        "../envs/aeflow.yaml"
    script:
        "../scripts/export_encoder.py"
