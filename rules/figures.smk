# The run's own figures: the base autoencoder's latent map and the probes of every
# autoencoder (each study's figures are in rules/studies.smk).


rule plot_latent_maps:
    input:
        data=DATASET,
        models=lambda w: [
            f"results/autoencoder/{PLAN.base_autoencoder()}/seed{PLAN.seeds[0]}/model.pt"
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
        hps=lambda w: [PLAN.autoencoders[PLAN.base_autoencoder()]],
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
