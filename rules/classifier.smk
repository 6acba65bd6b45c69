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
    wildcard_constraints:
        clf=PER_SEED_JOBS["classifier"],
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
        engine=TRAINING_ENGINE,
    script:
        script_path("train")


# Every seed of a configuration in one job, as one pack (engine.pack, rules/common.smk):
# the same files as train_classifier; of the two, only the one PACK_SEEDS picks matches any.
rule train_classifier_seeds:
    input:
        unpack(classifier_pack_inputs),
    output:
        model=expand("results/classifier/{{clf}}/seed{seed}/model.pt", seed=SEEDS),
        history=expand(
            "results/classifier/{{clf}}/seed{seed}/history.parquet", seed=SEEDS
        ),
    log:
        "logs/classifier/{clf}/train_seeds.log",
    benchmark:
        "results/benchmarks/train_classifier/{clf}_seeds.tsv"
    wildcard_constraints:
        clf=PACK_JOBS["classifier"],
    conda:
        "../envs/aeflow.yaml"
    threads: 2
    resources:
        gpu=TRAINING_GPU,
    params:
        hp=lambda w: CLASSIFIERS[w.clf],
        seeds=SEEDS,
        device=config["device"],
        deterministic=config["deterministic"],
        gpu_slots=GPU_SLOTS,
        engine=TRAINING_ENGINE,
    script:
        script_path("train_seeds")
