# The study's one-page HTML report (figures embedded) from the tables and figures.


rule report:
    input:
        figures=FIGURES,
        study_figures=[f for figures in STUDY_FIGURES.values() for f in figures],
        autoencoder_metrics=TABLE["autoencoder_metrics"],
        classifier_metrics=TABLE["classifier_metrics"],
        histories=TABLE["histories"],
        confusion_matrices=TABLE["confusion_matrices"],
        # each training job's wall clock (the setup's time per stage)
        autoencoder_benchmarks=training_benchmarks("autoencoder"),
        classifier_benchmarks=training_benchmarks("classifier"),
        code=code("report"),
    output:
        report(
            "results/report.html",
            caption=caption("report_page"),
            category="Report",
        ),
    log:
        "logs/report.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        # the raw facts; aeflow.report.setup_rows writes the setup table's text
        setup={
            "data": DATA,
            "seeds": SEEDS,
            "device": config["device"],
            "autoencoder": {
                "base": AE_BASE,
                "sweeps": config["autoencoder"].get("sweeps"),
            },
            "classifier": {
                "base": CLF_BASE,
                "initialisations": INITIALISATIONS,
                "sweeps": config["classifier"].get("sweeps"),
            },
            "counts": {
                "autoencoder": len(AUTOENCODERS),
                "classifier": len(CLASSIFIERS),
            },
        },
        # names and content hashes: a moved checkout or config file reruns nothing
        config_files=aeflow_provenance.config_digests(workflow.configfiles),
        captions=[figure_caption_text(f) for f in FIGURES],
        base_classifiers=base_classifiers(),
        studies=STUDIES,
        label_efficiency=[name for name in STUDIES if label_efficiency_study(name)],
        all_labels=_train_size(),
        study_figures={
            name: [(f, figure_caption_text(f)) for f in figures]
            for name, figures in STUDY_FIGURES.items()
        },
    script:
        script_path("report")
