# Autoencoder grid: train every configuration once per seed, export its encoder.


rule train_autoencoder:
    input:
        data=DATASET,
        code=code("train"),
    output:
        model="results/autoencoder/{ae}/seed{seed}/model.pt",
        history="results/autoencoder/{ae}/seed{seed}/history.parquet",
    log:
        "logs/autoencoder/{ae}/seed{seed}/train.log",
    benchmark:
        "results/benchmarks/train_autoencoder/{ae}_seed{seed}.tsv"
    wildcard_constraints:
        ae=PLAN.job_ids("autoencoder", pack=False),
    conda:
        "../envs/aeflow.yaml"
    threads: 2
    resources:
        gpu=PLAN.training_gpu,
    params:
        hp=lambda w: PLAN.autoencoders[w.ae],
        device=config["device"],
        deterministic=config["deterministic"],
        gpu_slots=GPU_SLOTS,
        engine=PLAN.engine,
    script:
        script_path("train")


# Every seed of a configuration in one job, as one pack (engine.pack, rules/common.smk):
# the same files as train_autoencoder; of the two, only the one PLAN.pack picks matches any.
rule train_autoencoder_seeds:
    input:
        data=DATASET,
        code=code("train_seeds"),
    output:
        model=expand("results/autoencoder/{{ae}}/seed{seed}/model.pt", seed=PLAN.seeds),
        history=expand(
            "results/autoencoder/{{ae}}/seed{seed}/history.parquet", seed=PLAN.seeds
        ),
    log:
        "logs/autoencoder/{ae}/train_seeds.log",
    benchmark:
        "results/benchmarks/train_autoencoder/{ae}_seeds.tsv"
    wildcard_constraints:
        ae=PLAN.job_ids("autoencoder", pack=True),
    conda:
        "../envs/aeflow.yaml"
    threads: 2
    resources:
        gpu=PLAN.training_gpu,
    params:
        hp=lambda w: PLAN.autoencoders[w.ae],
        seeds=PLAN.seeds,
        device=config["device"],
        deterministic=config["deterministic"],
        gpu_slots=GPU_SLOTS,
        engine=PLAN.engine,
    script:
        script_path("train_seeds")


rule export_encoder:
    input:
        model="results/autoencoder/{ae}/seed{seed}/model.pt",
        code=code("export_encoder"),
    output:
        "results/autoencoder/{ae}/seed{seed}/encoder.pt",
    log:
        "logs/autoencoder/{ae}/seed{seed}/export.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    script:
        script_path("export_encoder")
