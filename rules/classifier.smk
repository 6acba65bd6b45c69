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
        clf=PLAN.job_ids("classifier", pack=False),
    conda:
        "../envs/aeflow.yaml"
    threads: 2
    resources:
        gpu=PLAN.training_gpu,
    params:
        hp=lambda w: PLAN.classifiers[w.clf],
        device=config["device"],
        deterministic=config["deterministic"],
        gpu_slots=GPU_SLOTS,
        engine=PLAN.engine,
    script:
        script_path("train")


# Every seed of a configuration in one job, as one pack (engine.pack, rules/common.smk):
# the same files as train_classifier; of the two, only the one PLAN.pack picks matches any.
rule train_classifier_seeds:
    input:
        unpack(classifier_pack_inputs),
    output:
        model=expand("results/classifier/{{clf}}/seed{seed}/model.pt", seed=PLAN.seeds),
        history=expand(
            "results/classifier/{{clf}}/seed{seed}/history.parquet", seed=PLAN.seeds
        ),
    log:
        "logs/classifier/{clf}/train_seeds.log",
    benchmark:
        "results/benchmarks/train_classifier/{clf}_seeds.tsv"
    wildcard_constraints:
        clf=PLAN.job_ids("classifier", pack=True),
    conda:
        "../envs/aeflow.yaml"
    threads: 2
    resources:
        gpu=PLAN.training_gpu,
    params:
        hp=lambda w: PLAN.classifiers[w.clf],
        seeds=PLAN.seeds,
        device=config["device"],
        deterministic=config["deterministic"],
        gpu_slots=GPU_SLOTS,
        engine=PLAN.engine,
    script:
        script_path("train_seeds")
