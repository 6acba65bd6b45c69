"""The named studies through real snakemake on tiny synthetic data: every architecture,
the training options, shared configurations, figures and report sections with verdicts."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import time
from modulefinder import ModuleFinder
from pathlib import Path

import pandas as pd
import pytest
from test_workflow import N_TEST, N_TRAIN, N_VAL
from workflow_helpers import (
    REPO,
    WORKFLOW_PARTS,
    copy_workflow,
    dry_run_jobs,
    finished_run,
    planned,
    planned_jobs,
    with_downstream,
    write_config,
)

pytestmark = pytest.mark.workflow

FULL = N_TRAIN - N_VAL  # the training split: "full" batch
VERDICTS = ("holds", "contradicted", "not settled")


def tiny_base(source, checksums, initialisations) -> dict:
    """The tiny data, two seeds and small base models that study tests build on."""
    return {
        "data": {"sources": [str(source)], "files": checksums,
                 "classes": [f"class {i}" for i in range(10)], "train_images": N_TRAIN,
                 "validation_size": N_VAL, "split_seed": 0},
        "seeds": [0, 1],
        "device": "cpu",
        "autoencoder": {"base": {"latent": 16, "epochs": 2, "batch_size": 30}},
        "classifier": {"base": {"latent": 16, "hidden": 32, "epochs": 2, "batch_size": 30},
                       "initialisations": initialisations},
        "figures": {"reconstructions": 4},
    }  # fmt: skip


def studies_config(source, checksums) -> dict:
    return {
        **tiny_base(source, checksums, ["scratch", "frozen"]),
        "studies": {
            "models": {
                "title": "Every autoencoder",
                "source": "reports 001 and 004",
                "note": "A tiny study of every architecture.",
                "autoencoder": {
                    "base": {"dropout": 0.0},
                    "sweeps": {"lr": [0.001, 0.01]},
                    "configurations": [
                        {"architecture": "conv_bn", "pooling": "max-avg", "channels": "8-12"},
                        {"architecture": "conv_deep"},
                        {"architecture": "mlp", "latent": 32},
                    ],
                },
                "classifier": {"initialisations": ["scratch", "frozen", "finetune"],
                               "configurations": [{"architecture": "conv_deep"},
                                                  {"hidden": "none", "dropout": 0.5,
                                                   "dropout_at": "flatten"}]},
                "reported": [
                    {"model": "classifier", "configuration": {"initialisation": "finetune"},
                     "metric": "test_accuracy", "value": 0.9237, "source": "report 000, fig. 9"},
                ],
                "claims": [
                    {"claim": "the deep autoencoder reconstructs better", "source": "report 001",
                     "quote": "Los autoencoders con mejor desempeño",
                     "model": "autoencoder", "a": {"architecture": "conv_deep"}, "b": {},
                     "metric": "test_mse", "better": "lower"},
                    {"claim": "fine-tuning beats frozen", "model": "classifier",
                     "a": {"initialisation": "finetune"}, "b": {"initialisation": "frozen"},
                     "metric": "test_accuracy", "better": "higher"},
                    {"claim": "fine-tuned and frozen end alike", "kind": "equivalence",
                     "model": "classifier", "a": {"initialisation": "finetune"},
                     "b": {"initialisation": "frozen"}, "metric": "gap_accuracy",
                     "margin": 0.05},
                    {"claim": "the deep classifier reaches 20 % sooner", "model": "classifier",
                     "a": {"architecture": "conv_deep"}, "b": {},
                     "metric": {"epochs_to": {"validation_accuracy": 0.2}}, "better": "lower"},
                    {"claim": "the deep classifier confuses classes 0 to 3", "kind": "confusion",
                     "model": "classifier", "configuration": {"architecture": "conv_deep"},
                     "classes": ["class 0", "class 1", "class 2", "class 3"], "top": 2},
                ],
                "not_measurable": [
                    {"quote": "La precisión aumenta de forma progresiva", "source": "report 004",
                     "reason": "the smoothness of a curve is not a measure here"},
                ],
            },
            "mlp": {
                "title": "Feed-forward classifier",
                "source": "reports 002 and 003",
                "classifier": {
                    "base": {"architecture": "mlp", "latent": 32, "hidden": "16-8",
                             "batch_size": "full", "optimizer": "sgd", "lr": 0.1,
                             "lr_min": 0.01, "lr_epochs": 2, "epochs": 3},
                    "sweeps": {"lr_schedule": ["none", "linear"]},
                    "configurations": [
                        {"batch_size": 30},
                        {"images": "90-30-50"},
                        {"optimizer": "adam", "lr": 0.01, "latent": 128, "patience": 1,
                         "weight_decay": 0.01, "epochs": 12},
                    ],
                },
                "claims": [
                    {"claim": "mini-batches beat full batch", "model": "classifier",
                     "a": {"batch_size": 30}, "b": {}, "metric": "final_validation_loss",
                     "better": "lower"},
                ],
            },
        },
    }  # fmt: skip


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    root = tmp_path_factory.mktemp("studies")
    return finished_run(root, studies_config, "studies", N_TRAIN, N_TEST)


def read(workflow, name):
    return pd.read_parquet(workflow / "results" / "tables" / f"{name}.parquet")


def test_every_architecture_trained_and_evaluated(finished):
    workflow, _, _ = finished
    ae = read(workflow, "autoencoder_metrics")
    assert set(ae["architecture"]) == {"conv", "conv_bn", "conv_deep", "mlp"}
    assert ae.groupby("model_id")["seed"].nunique().eq(2).all()
    assert (ae["test_mse"] > 0).all() and not ae["diverged"].any()
    clf = read(workflow, "classifier_metrics")
    deep = clf[clf["architecture"] == "conv_deep"]
    assert set(deep["initialisation"]) == {"scratch", "frozen", "finetune"}
    bn = ae[ae["architecture"] == "conv_bn"]
    assert set(bn["channels"]) == {"8-12"} and set(bn["pooling"]) == {"max-avg"}
    # a configuration in the main grid and in a study trains once
    assert not clf.duplicated(["model_id", "seed"]).any()
    assert not ae.duplicated(["model_id", "seed"]).any()


def test_training_options_reach_the_models(finished):
    workflow, _, _ = finished
    clf = read(workflow, "classifier_metrics")
    mlp = clf[clf["architecture"] == "mlp"]
    assert set(mlp["hidden"]) == {"16-8"} | {"16-8"}
    assert FULL in set(mlp["batch_size"]) and 30 in set(mlp["batch_size"])
    histories = read(workflow, "histories")
    linear = histories[(histories["lr_schedule"] == "linear") & (histories["metric"] == "lr")]
    by_epoch = linear.groupby("epoch")["value"].unique()
    # η(t) = max(η_min, η₀ (1 - t/T)) with η₀ 0.1, η_min 0.01, T 2
    assert [list(v) for v in by_epoch] == [[0.1], [0.05], [0.01]]
    stopped = mlp[mlp["patience"] == 1]
    assert len(stopped) == 2
    for row in stopped.itertuples():
        assert row.epochs_run <= 12
        assert row.best_epoch <= row.epochs_run
        if row.stopped_early:
            assert row.epochs_run == row.best_epoch + 1
        run_history = histories[(histories["model_id"] == row.model_id)
                                & (histories["seed"] == row.seed)]  # fmt: skip
        val = run_history[(run_history["split"] == "validation")
                          & (run_history["metric"] == "loss")].sort_values("epoch")  # fmt: skip
        assert row.best_epoch == int(val.loc[val["value"].idxmin(), "epoch"])
        assert row.final_validation_loss == pytest.approx(val["value"].min())


def test_a_configuration_with_its_own_images_trains_and_is_tested_on_them(finished):
    """``images: 90-30-50`` (report 003's per-study subset): full batch is its 90
    training images, its validation accuracy counts 30 images and its test confusion
    matrix 50; the other configurations keep the whole split."""
    workflow, _, _ = finished
    clf = read(workflow, "classifier_metrics")
    own = clf[clf["images"] == "90-30-50"]
    assert len(own) == 2 and set(own["batch_size"]) == {90}
    confusion = read(workflow, "confusion_matrices")
    totals = confusion.groupby(["model_id", "seed"])["count"].sum()
    for model_id, seed in own[["model_id", "seed"]].itertuples(index=False):
        assert totals[(model_id, seed)] == 50
    others = totals.drop(index=list(own["model_id"]), level="model_id")
    assert len(others) and (others == N_TEST).all()
    histories = read(workflow, "histories")
    mine = histories[histories["model_id"].isin(own["model_id"])
                     & (histories["metric"] == "accuracy")]  # fmt: skip
    for split, n in (("train", 90), ("validation", 30)):
        values = mine[mine["split"] == split]["value"] * n
        assert len(values) and ((values - values.round()).abs() < 1e-6).all()


def test_every_study_has_its_figures_and_report_section(finished):
    workflow, config, _ = finished
    folder = workflow / "results" / "figures" / "studies"
    assert sorted(p.name for p in (folder / "models").iterdir()) == sorted([
        "ae_sweep_lr.png", "ae_curves.png", "reconstructions.png", "latent_maps.png",
        "clf_curves.png", "test_accuracy.png", "confusion_matrices.png",
    ])  # fmt: skip
    # one PCA panel per autoencoder of the study (figures.study_latent_maps: [pca])
    log = (workflow / "logs" / "figures" / "studies" / "models" / "latent_maps.log").read_text()
    assert f"from {N_TEST} test images, 5 maps" in log
    assert sorted(p.name for p in (folder / "mlp").iterdir()) == sorted([
        "clf_sweep_scratch_lr_schedule.png", "clf_curves.png", "test_accuracy.png",
        "confusion_matrices.png",
    ])  # fmt: skip
    for png in folder.rglob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    html = (workflow / "results" / "report.html").read_text()
    start = html.index("<h2>Claims of every study at a glance (")
    glance = html[start : html.index("</table>", start)]
    claims = [c for s in config["studies"].values() for c in s["claims"]]
    assert glance.count("<tr>") == len(claims)  # one row per claim (the header row has a style)
    for claim in claims:
        assert claim["claim"] in glance
    for name, study in config["studies"].items():
        start = html.index(f"<h2>{study['title']}</h2>")
        section = html[start : html.index("</section>", start)]
        assert f"Reproduces {study['source']}." in section
        assert "Claims and verdicts" in section
        assert "paired by seed" in section
        for claim in study["claims"]:
            row = section[section.index(claim["claim"]) :]
            row = row[: row.index("</tr>")]
            assert "(n=2)" in row  # two seeds, paired
            assert re.search("|".join(VERDICTS), row)
        assert section.count("<img") == len(list((folder / name).iterdir()))


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c["studies"]["mlp"]["claims"][0].update(claim="mini-batches win"),
        lambda c: c["studies"]["mlp"].update(title="Feed-forward classifiers, retitled"),
        lambda c: c["studies"]["models"].update(note="Another note."),
    ],
    ids=["claim", "title", "note"],
)
def test_editing_a_claim_title_or_note_reruns_only_the_report(finished, edit):
    workflow, config, root = finished
    changed = copy.deepcopy(config)
    edit(changed)
    jobs = planned_jobs(workflow, write_config(root / "edited.yaml", changed))
    assert jobs == {("report", "results/report.html"), ("all", "")}


def test_a_configuration_added_to_a_study_runs_its_jobs_and_the_aggregates(finished):
    workflow, config, root = finished
    assert planned(workflow, root / "studies.yaml") == {}
    added = copy.deepcopy(config)
    added["studies"]["mlp"]["classifier"]["configurations"].append({"momentum": 0.9})
    added_file = write_config(root / "added.yaml", added)
    jobs = planned_jobs(workflow, added_file)
    old = dry_run_jobs(workflow, root / "studies.yaml", "--forceall")
    new = dry_run_jobs(workflow, added_file, "--forceall")
    assert jobs == with_downstream(new, set(new) - set(old))
    rules = [rule for rule, _ in jobs]
    assert rules.count("train_classifier") == 2 and rules.count("evaluate_classifier") == 2
    assert "train_autoencoder" not in rules


# What reruns after a code edit, computed here independently of the workflow's own
# code(): the rules come from the rule files, the modules a script reaches from the
# standard library's modulefinder, and "those rules and everything downstream" from
# Snakemake's own --forcerun.

CODE_FILES = sorted(
    str(p.relative_to(REPO)) for p in [*REPO.glob("aeflow/**/*.py"), *REPO.glob("scripts/*.py")]
)


def rules_running_each_script() -> dict[str, set[str]]:
    """{script name: the rules whose `script:` it is}, read from rules/*.smk."""
    by_script: dict[str, set[str]] = {}
    for smk in (REPO / "rules").glob("*.smk"):
        for block in re.split(r"^(?=rule )", smk.read_text(), flags=re.MULTILINE)[1:]:
            rule = re.match(r"rule (\w+):", block).group(1)
            script = re.search(r"script:\s*\n\s*(?:script_path\(\"|\"\.\./scripts/)(\w+)", block)
            if script:
                by_script.setdefault(script.group(1), set()).add(rule)
    return by_script


def files_each_script_runs(workflow: Path) -> dict[str, set[str]]:
    """{script name: the script and the aeflow files it imports, transitively}."""
    out = {}
    for script in (workflow / "scripts").glob("*.py"):
        finder = ModuleFinder(path=[str(workflow)])
        finder.run_script(str(script))
        files = {f"scripts/{script.name}"}
        for name, module in finder.modules.items():
            if name.split(".")[0] == "aeflow" and module.__file__:
                files.add(str(Path(module.__file__).relative_to(workflow)))
        out[script.stem] = files
    return out


@pytest.fixture(scope="module")
def reaching(finished):
    """{code file: the rules whose script reaches it}, read once (modulefinder is slow)."""
    workflow, _, _ = finished
    runs = files_each_script_runs(workflow)
    by_script = rules_running_each_script()
    return {
        edited: frozenset(
            rule for script, rules in by_script.items() if edited in runs[script] for rule in rules
        )
        for edited in CODE_FILES
    }


@pytest.fixture(scope="module")
def forced(finished):
    """The plan of --forcerun for a set of rules (cached): the expected job set."""
    workflow, _, root = finished
    cache = {}

    def plan(rules: frozenset[str]) -> set:
        if not rules:
            return set()
        if rules not in cache:
            cache[rules] = planned_jobs(workflow, root / "studies.yaml", "--forcerun", *rules)
        return cache[rules]

    return plan


def test_every_rule_runs_a_known_script():
    by_script = rules_running_each_script()
    assert {"train", "evaluate", "report", "download", "prepare"} <= set(by_script)
    assert by_script["train"] == {"train_autoencoder", "train_classifier"}
    assert set(by_script) == {p.stem for p in (REPO / "scripts").glob("*.py")}


@pytest.mark.parametrize("edited", CODE_FILES)
def test_a_code_edit_reruns_exactly_the_rules_that_run_it(finished, reaching, forced, edited):
    workflow, _, root = finished
    rules = reaching[edited]
    path = workflow / edited
    original = path.read_text()
    path.write_text(original + "\n# an edit\n")
    try:
        jobs = planned_jobs(workflow, root / "studies.yaml")
    finally:
        path.write_text(original)
    assert jobs == forced(rules), sorted(jobs ^ forced(rules))
    if edited in ("aeflow/run/optim.py", "aeflow/run/memory.py", "aeflow/run/devices.py"):
        assert {"train_autoencoder", "train_classifier"} <= rules  # the examples
    if edited in ("aeflow/plan/codedeps.py", "aeflow/plan/machine.py", "aeflow/plan/cost.py"):
        assert not jobs  # read when the workflow is parsed; no job runs it
    if edited == "aeflow/run/training.py":  # the same content again, newer: nothing to do
        assert planned(workflow, root / "studies.yaml") == {}


def test_touching_every_file_reruns_nothing(finished):
    workflow, _, root = finished
    later = time.time() + 5
    for part in WORKFLOW_PARTS:
        for path in [workflow / part, *(workflow / part).rglob("*")]:
            if path.is_file():
                os.utime(path, (later, later))
    assert planned(workflow, root / "studies.yaml") == {}


def test_a_fresh_clone_with_the_results_moved_in_is_finished(finished, tmp_path):
    workflow, _, root = finished
    source = copy_workflow(tmp_path / "source")  # the same code, as a repository
    for part in WORKFLOW_PARTS:
        if (workflow / part).is_dir():
            shutil.rmtree(source / part)
            shutil.copytree(workflow / part, source / part)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=source, check=True)
    subprocess.run([*git, "add", "."], cwd=source, check=True)
    subprocess.run([*git, "commit", "-qm", "workflow"], cwd=source, check=True)
    clone = tmp_path / "elsewhere" / "clone"
    subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True)
    for part in ("results", "resources", ".snakemake"):  # moved: mtimes kept
        shutil.copytree(workflow / part, clone / part, symlinks=True)
    assert planned(clone, root / "studies.yaml") == {}
    # and the control: an edit in the clone is still seen
    with open(clone / "scripts" / "report.py", "a") as script:
        script.write("\n# an edit\n")
    assert planned(clone, root / "studies.yaml") == {"report": 1, "all": 1}


def test_claim_kinds_the_not_measurable_list_and_named_confusions_reach_the_report(finished):
    workflow, config, _ = finished
    html = (workflow / "results" / "report.html").read_text()
    start = html.index("<h2>Every autoencoder</h2>")
    section = html[start : html.index("</section>", start)]
    for claim, kind, measured in [
        ("fine-tuned and frozen end alike", "equivalence (±5.00 points)", "gap_accuracy ("),
        ("the deep classifier reaches 20 % sooner", "comparison (lower)",
         "epochs to validation accuracy ≥ 0.2: (architecture=conv_deep) − (base)"),
        ("the deep classifier confuses classes 0 to 3", "confusion (top 2)",
         "largest 2 confusions of the mean matrix"),
    ]:  # fmt: skip
        row = section[section.index(claim) :]
        row = row[: row.index("</tr>")]
        assert kind in row and measured in row and "(n=2)" in row
        assert re.search("<td>(holds|contradicted|not settled[^<]*)</td>", row)
    assert "The seed&#39;s conclusions not measurable here" in section
    assert "La precisión aumenta de forma progresiva" in section
    assert "the smoothness of a curve is not a measure here" in section
    # the reported number in percent, as the replicated one beside it
    assert "92.37 %" in section and "0.9237" not in section
    # the confusion figure shows the base classifiers and the deep one the claims name
    log = workflow / "logs" / "figures" / "studies" / "models" / "confusion_matrices.log"
    assert (
        log.read_text()
        .rstrip()
        .endswith(
            "confusion_matrices.png: scratch, frozen, finetune, scratch: architecture=conv_deep"
        )
    )
    # the setup's wall time per stage, summed over the training jobs' benchmarks
    jobs = {kind: len(list((workflow / "results" / "benchmarks" / f"train_{kind}").iterdir()))
            for kind in ("autoencoder", "classifier")}  # fmt: skip
    assert re.search(
        rf"autoencoder training [0-9][^;]* over {jobs['autoencoder']} jobs; classifier training "
        rf"[0-9][^;(]* over {jobs['classifier']} jobs",
        html,
    )


def test_seed_heads_reported_numbers_and_provenance_reach_the_report(finished):
    workflow, _, _ = finished
    clf = read(workflow, "classifier_metrics")
    seed001 = clf[clf["hidden"] == "none"]
    assert set(seed001["dropout_at"]) == {"flatten"} and len(seed001) == 3 * 2  # inits x seeds
    assert set(clf[clf["hidden"] != "none"]["dropout_at"]) == {"hidden"}
    html = (workflow / "results" / "report.html").read_text()
    start = html.index("<h2>Every autoencoder</h2>")
    section = html[start : html.index("</section>", start)]
    assert "What the seed reported beside what aeflow measured" in section
    assert "report 000, fig. 9" in section and "92.37 %" in section
    assert "Los autoencoders con mejor desempeño" in section  # the claim's quote
    for label in ("Code commit", "Configuration files", "PyTorch", "Snakemake", "Date (UTC)"):
        assert f"<th>{label}</th>" in html or f">{label}<" in html
