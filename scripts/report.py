"""Assemble results/report.html: setup, verdicts, test-metric tables, every figure."""

from pathlib import Path

import pandas as pd

import aeflow
from aeflow import efficiency, findings, report, stats
from aeflow import figures as aeflow_figures
from aeflow.logs import job_logger

log = job_logger(snakemake.log[0])
ae = pd.read_parquet(snakemake.input.autoencoder_metrics)
clf = pd.read_parquet(snakemake.input.classifier_metrics)
# claims on history-derived measures and on confusions read these
histories = pd.read_parquet(snakemake.input.histories)
confusion = pd.read_parquet(snakemake.input.confusion_matrices)
base_ids = dict(snakemake.params.base_classifiers)

# the headline; every study's own tables (the main grid's first) are in its section
sections = [
    (
        "Verdicts: the seed reports' claims, checked across seeds",
        stats.initialisation_verdicts(clf, base_ids),
    ),
]


def study_section(name, study):
    text = [f"Reproduces {study['source']}." if study["source"] else "", study["note"]]
    parts = [("Claims and verdicts", verdicts(study))] if study["claims"] else []
    if study["not_measurable"]:
        parts.append(
            ("The seed's conclusions not measurable here", findings.not_measurable_table(study))
        )
    reported = findings.reported_beside_replicated(study, ae, clf)
    if len(reported):
        parts.append(
            (
                "What the seed reported beside what aeflow measured",
                findings.reported_display(reported),
            )
        )
    parts += findings.summary_tables(study, ae, clf)
    differences = findings.differences_from_base(study, ae, clf)
    if len(differences):
        parts.append(("Each configuration against the base, paired by seed", differences))
    figures = [(aeflow_figures.heading(p), p, c) for p, c in snakemake.params.study_figures[name]]
    if name in snakemake.params.label_efficiency:
        text.insert(0, answers[name])
        parts[0:0] = [
            ("Gain of each pretrained arm over scratch, by number of labels", gain_table(name)),
            (
                "Did every run train to its plateau? (early stopping on the validation loss)",
                efficiency.plateau_table(label_rows[name]),
            ),
        ]
    return {"heading": study["title"], "text": text, "tables": parts, "figures": figures}


def verdicts(study):
    return findings.claim_verdicts(study, ae, clf, histories=histories, confusion=confusion)


def gain_table(name):
    return efficiency.gain_table(gains[name])


# label-efficiency studies: the gains over scratch, and the answer the report opens with
label_rows = {
    name: efficiency.study_rows(
        clf, snakemake.params.studies[name]["classifiers"], snakemake.params.all_labels
    )
    for name in snakemake.params.label_efficiency
}
gains = {name: efficiency.gains(rows) for name, rows in label_rows.items()}
answers = {name: efficiency.opening_paragraph(gain) for name, gain in gains.items()}

# every study's claims at a glance, first after the main verdicts
glance = [
    verdicts(study).assign(study=study["title"])
    for study in snakemake.params.studies.values()
    if study["claims"]
]
if glance:
    at_a_glance = pd.concat(glance, ignore_index=True)[["study", "claim", "verdict"]]
    sections.insert(1, ("Claims of every study at a glance", at_a_glance))

figures = [
    (aeflow_figures.heading(p), p, c)
    for p, c in zip(snakemake.input.figures, snakemake.params.captions)
]
# the checkout this code runs from (the workflow's package), the configuration files given
setup = {
    **report.setup_rows(**snakemake.params.setup),
    **report.provenance_rows(
        Path(aeflow.__file__).resolve().parent.parent,
        snakemake.params.config_files,
        snakemake.config["device"],
    ),
    "Wall time per stage": report.stage_times(
        {
            "autoencoder training": snakemake.input.autoencoder_benchmarks,
            "classifier training": snakemake.input.classifier_benchmarks,
        }
    ),
}

opening = None
if snakemake.params.label_efficiency:
    first = snakemake.params.label_efficiency[0]
    opening = {
        "text": [answers[first]],
        "figures": [
            ("Where pretraining pays", p, c)
            for p, c in snakemake.params.study_figures[first]
            if Path(p).stem == "label_efficiency"
        ],
    }
report.build_report(
    snakemake.output[0],
    "aeflow: does autoencoder pretraining help a Fashion-MNIST classifier?",
    setup,
    sections,
    figures,
    studies=[study_section(name, study) for name, study in snakemake.params.studies.items()],
    opening=opening,
)
log(f"wrote {snakemake.output[0]} with {len(figures)} figures")
