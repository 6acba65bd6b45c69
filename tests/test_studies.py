"""Named studies: expansion into shared configurations, claims resolved to model ids,
and the verdicts and tables of a study computed from synthetic tables with known answers."""

import copy

import pandas as pd
import pytest

from aeflow import grid, studies
from aeflow.grid import GridError

AE_BASE = {"architecture": "conv", "latent": 16, "dropout": 0.2, "optimizer": "adam",
           "lr": 0.001, "batch_size": 100, "output_activation": "sigmoid", "epochs": 2}  # fmt: skip
CLF_BASE = {"architecture": "conv", "latent": 16, "hidden": 32, "dropout": 0.2,
            "optimizer": "adam", "lr": 0.001, "batch_size": 100, "epochs": 2}  # fmt: skip


def config(study_blocks):
    return {
        "autoencoder": {"base": dict(AE_BASE)},
        "classifier": {"base": dict(CLF_BASE), "initialisations": ["scratch"]},
        "studies": copy.deepcopy(study_blocks),
    }


STEPWISE = {
    "title": "Stepwise",
    "source": "seed 004",
    "autoencoder": {
        "configurations": [
            {"dropout": 0.0},
            {"dropout": 0.0, "architecture": "conv_bn", "channels": "64-96"},
        ]
    },
    "classifier": {
        "base": {"architecture": "conv_bn", "channels": [64, 96]},
        "initialisations": ["frozen", "finetune"],
        "configurations": [{"hidden": 64}],
    },
    "claims": [
        {"claim": "dropout 0 is better", "model": "autoencoder", "a": {"dropout": 0.0},
         "b": {}, "metric": "test_mse", "better": "lower"},
        {"claim": "fine-tuning beats frozen", "model": "classifier",
         "a": {"initialisation": "finetune"}, "b": {"initialisation": "frozen"},
         "metric": "test_accuracy", "better": "higher"},
    ],
}  # fmt: skip
MLP = {
    "classifier": {
        "base": {"architecture": "mlp", "latent": 128, "hidden": "64", "batch_size": "full"},
        "sweeps": {"optimizer": ["sgd", "adam"]},
    },
    "claims": [
        {"claim": "Adam beats SGD", "model": "classifier", "a": {"optimizer": "adam"},
         "b": {"optimizer": "sgd"}, "metric": "test_accuracy", "better": "higher"},
    ],
}  # fmt: skip


def expanded(blocks, train_size=5000):
    cfg = config(blocks)
    main = grid.autoencoder_grid(cfg["autoencoder"], train_size=train_size)
    return studies.expand_studies(cfg, main, train_size)


def test_studies_expand_around_the_top_level_bases():
    found, ae, clf = expanded({"004": STEPWISE, "mlp": MLP})
    s = found["004"]
    assert list(s["autoencoders"].values()) == [
        "base",
        "dropout=0.0",
        "architecture=conv_bn, channels=64-96, dropout=0.0",
    ]
    assert set(s["autoencoders"]) <= set(ae)
    # the study's base is the top-level base with its overrides
    assert s["classifier_base"]["architecture"] == "conv_bn"
    assert s["classifier_base"]["channels"] == "64-96"
    assert s["classifier_base"]["lr"] == CLF_BASE["lr"]
    # the pretrained classifiers start from the study's only conv_bn 64-96 autoencoder
    improved = next(i for i, label in s["autoencoders"].items() if "conv_bn" in label)
    for clf_id in s["classifiers"]:
        assert clf[clf_id]["autoencoder_id"] == improved
    assert set(s["base_classifiers"]) == {"frozen", "finetune"}
    # full batch is the training set
    m = found["mlp"]
    assert {clf[i]["batch_size"] for i in m["classifiers"]} == {5000}
    assert {clf[i]["hidden"] for i in m["classifiers"]} == {"64"}
    assert list(m["initialisations"].values()) == ["scratch", "scratch"]


def test_a_configuration_shared_by_studies_trains_once():
    same = {"autoencoder": {"sweeps": {"latent": [16, 32]}}}
    found, ae, _ = expanded({"x": same, "y": same})
    assert found["x"]["autoencoders"] == found["y"]["autoencoders"]
    assert len(ae) == 2


def test_claims_resolve_to_the_configurations_they_compare():
    found, ae, clf = expanded({"004": STEPWISE})
    dropout, finetune = found["004"]["claims"]
    assert ae[dropout["a"]]["dropout"] == 0.0 and ae[dropout["a"]]["architecture"] == "conv"
    assert ae[dropout["b"]]["dropout"] == 0.2
    assert clf[finetune["a"]]["initialisation"] == "finetune"
    assert clf[finetune["b"]]["initialisation"] == "frozen"
    assert finetune["a_label"] == "finetune" and dropout["a_label"] == "dropout=0.0"


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda b: b["claims"][0]["a"].update(dropout=0.5), r"studies.004.claims\[0\].a: .* not a configuration"),
        (lambda b: b["claims"][0]["a"].update(colour=1), r"claims\[0\].a: unknown hyperparameter\(s\) colour"),
        (lambda b: b["claims"][1]["b"].update(initialisation="finetune"), "the same configuration"),
        (lambda b: b.pop("autoencoder"), r"studies.004.classifier \(frozen, latent 16\): its autoencoder"),
        (lambda b: b["classifier"].update(sweeps={"colour": [1]}), "studies.004.classifier.sweeps.colour: unknown"),
    ],
)  # fmt: skip
def test_bad_study_names_the_key(change, match):
    block = copy.deepcopy(STEPWISE)
    change(block)
    with pytest.raises(GridError, match=match):
        expanded({"004": block})


def test_a_study_needs_models():
    with pytest.raises(GridError, match="studies.empty: neither"):
        expanded({"empty": {"title": "nothing"}})


LABELS = {
    "classifier": {
        "base": {"labels": 1000, "min_steps": 100},
        "initialisations": ["scratch", "finetune"],
        "sweeps": {"labels": [100, 1000]},
        "linear_probe": True,
    },
}


def test_linear_probe_is_one_more_arm_without_hidden_layers():
    found, ae, clf = expanded({"labels": LABELS})
    s = found["labels"]
    arms = sorted(
        (clf[i]["initialisation"], clf[i]["hidden"], clf[i]["labels"]) for i in s["classifiers"]
    )
    assert arms == [
        ("finetune", "32", 100), ("finetune", "32", 1000),
        ("frozen", "none", 100), ("frozen", "none", 1000),
        ("scratch", "32", 100), ("scratch", "32", 1000),
    ]  # fmt: skip
    probes = [i for i in s["classifiers"] if clf[i]["hidden"] == "none"]
    # the probe starts from the same encoder as the fine-tuned arm, with the study's base
    finetune = next(i for i in s["classifiers"] if clf[i]["initialisation"] == "finetune")
    assert {clf[i]["autoencoder_id"] for i in probes} == {clf[finetune]["autoencoder_id"]}
    assert all(clf[i]["min_steps"] == 100 for i in probes)
    assert [s["classifiers"][i] for i in probes] == ["hidden=none", "hidden=none, labels=100"]
    # the arms' base classifiers are the study's (with hidden layers) only
    assert list(s["base_classifiers"]) == ["scratch", "finetune"]


def test_linear_probe_with_a_hidden_sweep_is_refused():
    block = copy.deepcopy(LABELS)
    block["classifier"]["sweeps"]["hidden"] = [16, 32]
    with pytest.raises(GridError, match="studies.labels.classifier.linear_probe: .* hidden"):
        expanded({"labels": block})


# --- analysis on synthetic tables -------------------------------------------------------


def metrics_table(values_by_model, column):
    """{model_id: [value per seed]} -> a metrics table."""
    rows = [
        {"model_id": m, "seed": s, column: v, "diverged": False, "epochs_run": 2,
         "final_train_loss": 0.1, "final_validation_loss": 0.1, "test_mse": v,
         "test_macro_f1": 0.5, "final_validation_accuracy": 0.5, "initialisation": "scratch"}
        for m, values in values_by_model.items()
        for s, v in enumerate(values)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def mlp_study():
    found, _, clf = expanded({"mlp": MLP})
    s = found["mlp"]
    ids = {clf[i]["optimizer"]: i for i in s["classifiers"]}
    return s, ids


def test_claim_holds_when_every_seed_agrees():
    s, ids = mlp_study()
    table = metrics_table({ids["adam"]: [0.90, 0.91, 0.92], ids["sgd"]: [0.80, 0.82, 0.81]},
                          "test_accuracy")  # fmt: skip
    out = studies.claim_verdicts(s, table.iloc[0:0], table)
    assert list(out["verdict"]) == ["holds"]
    assert "10.00 points" in out["measured"][0]  # mean of 0.10, 0.09, 0.11
    assert "(base) − (optimizer=sgd)" in out["measured"][0]  # the base is Adam


def test_claim_contradicted_and_not_settled():
    s, ids = mlp_study()
    worse = metrics_table({ids["adam"]: [0.70, 0.71, 0.72], ids["sgd"]: [0.80, 0.82, 0.81]},
                          "test_accuracy")  # fmt: skip
    assert list(studies.claim_verdicts(s, worse.iloc[0:0], worse)["verdict"]) == ["contradicted"]
    noisy = metrics_table({ids["adam"]: [0.90, 0.70, 0.85], ids["sgd"]: [0.80, 0.82, 0.81]},
                          "test_accuracy")  # fmt: skip
    verdict = studies.claim_verdicts(s, noisy.iloc[0:0], noisy)["verdict"][0]
    assert verdict.startswith("not settled")


def test_differences_from_base_and_summary():
    s, ids = mlp_study()
    table = metrics_table({ids["adam"]: [0.90, 0.91, 0.92], ids["sgd"]: [0.80, 0.82, 0.81]},
                          "test_accuracy")  # fmt: skip
    diff = studies.differences_from_base(s, table.iloc[0:0], table)
    assert list(diff["configuration"]) == ["optimizer=sgd"]  # the base (Adam) is not compared
    assert list(diff["than the base"]) == ["worse"]
    assert diff["difference from base"][0].startswith("test_accuracy: -10.00 points [-12.48")
    ((heading, summary),) = studies.summary_tables(s, table.iloc[0:0], table)
    assert heading == "Classifiers"
    row = summary.set_index("configuration").loc["base"]
    assert row["test_accuracy mean"] == pytest.approx(0.91)
    assert row["test_accuracy ci95"] == pytest.approx(4.303 * 0.01 / 3**0.5, rel=1e-3)
    assert row["seeds"] == 3


def test_parsing_the_workflow_imports_neither_torch_nor_pandas():
    """rules/common.smk imports these modules on every Snakefile parse (every dry run,
    and on a cluster every job's own snakemake): torch and pandas would add ~1.7 s,
    scipy (report-time statistics) more."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    parse_time = root.joinpath("Snakefile").read_text() + (root / "rules/common.smk").read_text()
    modules = sorted(set(re.findall(r"^from aeflow import (\w+)", parse_time, re.MULTILINE)))
    assert {"grid", "studies", "machine", "cost", "schema"} <= set(modules)
    code = (
        f"import sys; import aeflow; from aeflow import {', '.join(modules)}; "
        f"machine.gpu_count(); "
        "print(sorted(m for m in ('torch', 'pandas', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


# --- `better: lower` on autoencoder metrics (the direction of most real claims) ---------

AE_ONLY = {
    "autoencoder": {"sweeps": {"dropout": [0.0, 0.2]}},
    "claims": [
        {"claim": "dropout 0 reconstructs better", "source": "seed 004", "model": "autoencoder",
         "a": {"dropout": 0.0}, "b": {}, "metric": "test_mse", "better": "lower"},
    ],
}  # fmt: skip


def ae_study():
    found, ae, _ = expanded({"ae": AE_ONLY})
    s = found["ae"]
    assert s["classifiers"] == {}  # the classifier table is empty: only autoencoders count
    ids = {ae[i]["dropout"]: i for i in s["autoencoders"]}
    return s, ids[0.0], ids[0.2]


@pytest.mark.parametrize(
    "dropout0, base, verdict, measured, than_base",
    [
        # a − b = −0.010, −0.011, −0.012: lower on every seed; sd 0.001, half 4.303·0.001/√3
        ([0.020, 0.021, 0.019], [0.030, 0.032, 0.031], "holds",
         "-0.01100 [-0.01348, -0.00852] (n=3)", "better"),
        # a − b = +0.010, +0.009, +0.011: higher MSE on every seed, the claim is wrong
        ([0.040, 0.041, 0.042], [0.030, 0.032, 0.031], "contradicted",
         "0.01000 [0.00752, 0.01248] (n=3)", "worse"),
        # a − b = +0.005, −0.006, +0.001: mean 0, sd √(31e-6), the interval spans 0
        ([0.035, 0.026, 0.032], [0.030, 0.032, 0.031], "not settled (the interval includes 0)",
         "0.00000 [-0.01383, 0.01383] (n=3)", "not settled"),
        # a − b = 0 on every seed: the interval is [0, 0], both endpoints exactly 0
        ([0.030, 0.032, 0.031], [0.030, 0.032, 0.031], "not settled (the interval includes 0)",
         "0.00000 [0.00000, 0.00000] (n=3)", "not settled"),
    ],
)  # fmt: skip
def test_lower_is_better_claim_on_autoencoders(dropout0, base, verdict, measured, than_base):
    s, a, b = ae_study()
    table = metrics_table({a: dropout0, b: base}, "test_mse")
    clf = table.iloc[0:0]
    out = studies.claim_verdicts(s, table, clf)
    assert list(out["verdict"]) == [verdict]
    assert out["measured"][0] == f"test_mse: (dropout=0.0) − (base) = {measured}"
    assert list(out["source"]) == ["seed 004"]
    # the base comparison uses the same direction: lower test MSE is better
    diff = studies.differences_from_base(s, table, clf)
    assert list(diff["configuration"]) == ["dropout=0.0"]
    assert list(diff["than the base"]) == [than_base]
    assert diff["difference from base"][0] == f"test_mse: {measured}"
    ((heading, _),) = studies.summary_tables(s, table, clf)
    assert heading == "Autoencoders"


def test_autoencoder_summary_shows_the_probes():
    s, a, b = ae_study()
    table = metrics_table({a: [0.02, 0.02], b: [0.03, 0.03]}, "test_mse").assign(
        test_knn_accuracy=[0.80, 0.82, 0.70, 0.72], test_linear_probe_accuracy=0.75
    )
    ((_, summary),) = studies.summary_tables(s, table, table.iloc[0:0])
    row = summary.set_index("configuration").loc["dropout=0.0"]
    assert row["test_knn_accuracy mean"] == pytest.approx(0.81)
    assert row["test_linear_probe_accuracy mean"] == pytest.approx(0.75)
    # tables written before the probes existed still summarise
    ((_, older),) = studies.summary_tables(s, table.drop(columns=list(studies.PROBE_COLUMNS)),
                                           table.iloc[0:0])  # fmt: skip
    assert "test_knn_accuracy mean" not in older


# --- the seed's numbers beside aeflow's, quotes ------------------------------------------

REPORTED_MLP = {
    **MLP,
    "reported": [
        {"model": "classifier", "configuration": {"optimizer": "sgd"},
         "metric": "test_accuracy", "value": 0.85, "source": "seed 002, fig. 2"},
        {"model": "classifier", "configuration": {}, "metric": "test_accuracy",
         "value": 0.905, "source": "seed 002, Table I"},
    ],
}  # fmt: skip


def test_reported_numbers_resolve_to_the_study_configurations():
    found, _, clf = expanded({"mlp": REPORTED_MLP})
    sgd, adam = found["mlp"]["reported"]
    assert clf[sgd["id"]]["optimizer"] == "sgd" and sgd["label"] == "optimizer=sgd"
    assert clf[adam["id"]]["optimizer"] == "adam" and adam["label"] == "base"
    assert (sgd["value"], sgd["metric"], sgd["source"]) == (
        0.85,
        "test_accuracy",
        "seed 002, fig. 2",
    )


@pytest.mark.parametrize(
    "entry, match",
    [
        ({"configuration": {"optimizer": "rmsprop"}}, r"studies.mlp.reported\[0\].configuration: .* not a configuration"),
        ({"configuration": {"colour": 1}}, r"reported\[0\].configuration: unknown hyperparameter\(s\) colour"),
        ({"model": "autoencoder"}, r"studies.mlp.reported\[0\].configuration: the study trains no autoencoders"),
    ],
)  # fmt: skip
def test_bad_reported_entry_names_the_key(entry, match):
    block = copy.deepcopy(REPORTED_MLP)
    block["reported"][0].update(entry)
    with pytest.raises(GridError, match=match):
        expanded({"mlp": block})


def test_reported_beside_replicated_mean_interval_and_difference():
    found, _, _ = expanded({"mlp": REPORTED_MLP})
    s = found["mlp"]
    ids = {r["label"]: r["id"] for r in s["reported"]}
    # sgd: 0.80, 0.82, 0.81 -> mean 0.81, sd 0.01, 95 % half-width t(2) 4.303 * 0.01 / sqrt 3
    table = metrics_table({ids["optimizer=sgd"]: [0.80, 0.82, 0.81], ids["base"]: [0.90, 0.91, 0.92]},
                          "test_accuracy")  # fmt: skip
    table.loc[(table["model_id"] == ids["base"]) & (table["seed"] == 2), "diverged"] = True
    out = studies.reported_beside_replicated(s, table.iloc[0:0], table).set_index("configuration")
    half = 4.302653 * 0.01 / 3**0.5
    sgd = out.loc["optimizer=sgd"]
    assert sgd["reported"] == 0.85 and sgd["seeds"] == 3
    assert sgd["replicated mean"] == pytest.approx(0.81)
    assert (sgd["95 % low"], sgd["95 % high"]) == (
        pytest.approx(0.81 - half),
        pytest.approx(0.81 + half),
    )
    assert sgd["difference"] == pytest.approx(-0.04)
    assert sgd["reported inside interval"] == "no"  # 0.85 > 0.81 + 0.0248
    base = out.loc["base"]  # the diverged seed is left out: 0.90, 0.91
    assert base["seeds"] == 2 and base["replicated mean"] == pytest.approx(0.905)
    assert base["difference"] == pytest.approx(0.0) and base["reported inside interval"] == "yes"
    one_seed = table[table["seed"] == 0]
    lone = studies.reported_beside_replicated(s, table.iloc[0:0], one_seed)
    assert list(lone["reported inside interval"]) == ["no interval", "no interval"]


def test_claim_quotes_are_shown_beside_the_verdict():
    block = copy.deepcopy(MLP)
    block["claims"][0]["quote"] = "Adam muestra ventajas"
    found, _, clf = expanded({"mlp": block})
    s = found["mlp"]
    ids = {clf[i]["optimizer"]: i for i in s["classifiers"]}
    table = metrics_table({ids["adam"]: [0.90, 0.91, 0.92], ids["sgd"]: [0.80, 0.82, 0.81]},
                          "test_accuracy")  # fmt: skip
    out = studies.claim_verdicts(s, table.iloc[0:0], table)
    assert list(out.columns) == ["seed says", "claim", "measured", "verdict"]
    assert out["seed says"][0] == "Adam muestra ventajas"
