# Classifiers: scratch, frozen and fine-tuned encoders, once per configuration and seed.


rule train_classifier:
    input:
        unpack(classifier_inputs),
    output:
        model="results/classifier/{clf}/seed{seed}/model.pt",
        history="results/classifier/{clf}/seed{seed}/history.parquet",
    log:
        "logs/classifier/{clf}/seed{seed}/train.log",
    benchmark:
        "results/benchmarks/train_classifier/{clf}_seed{seed}.tsv"
    conda:
        "../envs/aeflow.yaml"
    threads: 2
    resources:
        gpu=TRAINING_GPU,
    params:
        hp=lambda w: CLASSIFIERS[w.clf],
        device=config["device"],
        deterministic=config["deterministic"],
        gpu_slots=GPU_SLOTS,
        engine=dict(sorted(config["engine"].items())),
    script:
        script_path("train")
