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
        # the raw facts; aeflow.report.document.setup_rows writes the setup table's text
        setup={
            "data": DATA,
            "seeds": PLAN.seeds,
            "device": config["device"],
            "autoencoder": {
                "base": PLAN.ae_base,
                "sweeps": config["autoencoder"].get("sweeps"),
            },
            "classifier": {
                "base": PLAN.clf_base,
                "initialisations": config["classifier"]["initialisations"],
                "sweeps": config["classifier"].get("sweeps"),
            },
            "counts": {
                "autoencoder": len(PLAN.autoencoders),
                "classifier": len(PLAN.classifiers),
            },
        },
        # names and content hashes: a moved checkout or config file reruns nothing
        config_files=aeflow_provenance.config_digests(workflow.configfiles),
        captions=[figure_caption_text(f) for f in FIGURES],
        base_classifiers=PLAN.base_classifiers(),
        studies=PLAN.study_data(),
        label_efficiency=PLAN.label_efficiency_studies(),
        all_labels=PLAN.train_size,
        study_figures={
            name: [(f, figure_caption_text(f)) for f in figures]
            for name, figures in STUDY_FIGURES.items()
        },
    script:
        script_path("report")
