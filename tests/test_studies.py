"""Named studies: expansion into shared configurations, claims resolved to model ids,
and the verdicts and tables of a study computed from synthetic tables with known answers."""

import copy

import pandas as pd
import pytest

from aeflow.plan import grid, studies
from aeflow.plan.grid import GridError
from aeflow.report import findings, stats

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
    "source": "report 004",
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


def test_the_main_grid_is_the_first_study_with_the_same_ids():
    cfg = config({"004": STEPWISE})
    cfg["autoencoder"]["sweeps"] = {"lr": [0.01]}
    cfg["classifier"].update(initialisations=["scratch", "frozen"], sweeps={"lr": [0.01]})
    main_ae = grid.autoencoder_grid(cfg["autoencoder"], train_size=5000)
    ae_base = grid.canonical(grid.base_params(AE_BASE, grid.AUTOENCODER_KEYS), 5000)
    main_clf = grid.classifier_grid(cfg["classifier"], ae_base, main_ae, train_size=5000)
    found, ae, clf = studies.expand_studies(studies.with_main(cfg), {}, 5000)
    assert list(found) == [studies.MAIN, "004"]
    main = found[studies.MAIN]
    assert list(main["autoencoders"]) == list(main_ae)  # the same ids, in the same order
    assert list(main["classifiers"]) == list(main_clf)
    assert {i: clf[i] for i in main_clf} == main_clf and {i: ae[i] for i in main_ae} == main_ae
    assert main["title"] == studies.MAIN_TITLE and main["claims"] == []
    assert main["autoencoder_sweeps"] == ["lr"] and main["classifier_sweeps"] == ["lr"]
    assert set(main["base_classifiers"]) == {"scratch", "frozen"}
    # the curves: the base of each initialisation, not the sweep's values
    assert main["curve_classifiers"] == {
        init: main["base_classifiers"][init] for init in ("scratch", "frozen")
    }
    with pytest.raises(GridError, match="studies.main: the name is the main grid's"):
        studies.with_main(config({"main": MLP}))


def test_curves_show_the_bases_and_the_explicit_configurations():
    found, _, _ = expanded({"004": STEPWISE, "mlp": MLP})
    curves = found["004"]["curve_classifiers"]
    assert list(curves) == ["frozen", "finetune", "frozen: hidden=64", "finetune: hidden=64"]
    assert set(curves.values()) == set(found["004"]["classifiers"])
    assert list(found["mlp"]["curve_classifiers"]) == ["base"]  # one initialisation, a sweep


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


def _seeds_of(blocks, seeds=(0, 1, 2)):
    found, _, clf = expanded(blocks)
    return found, clf, studies.model_seeds(found, clf, list(seeds), 5000)


def test_a_study_and_a_size_range_can_have_their_own_seeds():
    block = {**copy.deepcopy(LABELS), "seeds": [0, 1, 2, 3],
             "seeds_by_labels": [{"labels_up_to": 100, "seeds": list(range(8))}]}  # fmt: skip
    found, clf, (ae_seeds, clf_seeds) = _seeds_of({"labels": block, "mlp": MLP})
    s = found["labels"]
    for i in s["classifiers"]:
        expected = list(range(8)) if clf[i]["labels"] == 100 else [0, 1, 2, 3]
        assert clf_seeds[i] == expected, clf[i]
    # the study's encoder trains with every seed of the classifiers that start from it
    (encoder,) = {clf[i]["autoencoder_id"] for i in s["classifiers"] if clf[i]["autoencoder_id"]}
    assert ae_seeds[encoder] == list(range(8))
    # another study keeps the top-level seeds
    assert {tuple(clf_seeds[i]) for i in found["mlp"]["classifiers"]} == {(0, 1, 2)}


def test_adding_a_seed_adds_only_that_seeds_runs():
    block = {
        **copy.deepcopy(LABELS),
        "seeds_by_labels": [{"labels_up_to": 100, "seeds": [0, 1, 2]}],
    }
    _, _, before = _seeds_of({"labels": block})
    block["seeds_by_labels"][0]["seeds"].append(7)
    _, clf, after = _seeds_of({"labels": block})
    for old, new in zip(before, after):
        assert old.keys() == new.keys()
        added = {i: sorted(set(new[i]) - set(old[i])) for i in new}
        assert all(set(old[i]) <= set(new[i]) for i in new)  # nothing taken away
        assert {i: a for i, a in added.items() if a} == {
            i: [7] for i in new if set(new[i]) != set(old[i])
        }
    _, clf_after = after
    grew = [i for i in clf_after if 7 in clf_after[i]]
    assert grew and all(clf[i]["labels"] == 100 for i in grew)


def test_seeds_by_labels_needs_classifiers_and_distinct_bounds():
    with pytest.raises(
        GridError, match="studies.a.seeds_by_labels: the study trains no classifiers"
    ):
        expanded({"a": {**STEPWISE, "classifier": None,
                        "seeds_by_labels": [{"labels_up_to": 100, "seeds": [0]}]}})  # fmt: skip
    block = {**copy.deepcopy(LABELS), "seeds_by_labels": [
        {"labels_up_to": 100, "seeds": [0]}, {"labels_up_to": 100, "seeds": [1]}]}  # fmt: skip
    with pytest.raises(GridError, match=r"labels_up_to \[100, 100\] repeats a bound"):
        expanded({"labels": block})


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
    out = findings.claim_verdicts(s, table.iloc[0:0], table)
    assert list(out["verdict"]) == ["holds"]
    assert "10.00 points" in out["measured"][0]  # mean of 0.10, 0.09, 0.11
    assert "(base) − (optimizer=sgd)" in out["measured"][0]  # the base is Adam


def test_claim_contradicted_and_not_settled():
    s, ids = mlp_study()
    worse = metrics_table({ids["adam"]: [0.70, 0.71, 0.72], ids["sgd"]: [0.80, 0.82, 0.81]},
                          "test_accuracy")  # fmt: skip
    assert list(findings.claim_verdicts(s, worse.iloc[0:0], worse)["verdict"]) == ["contradicted"]
    noisy = metrics_table({ids["adam"]: [0.90, 0.70, 0.85], ids["sgd"]: [0.80, 0.82, 0.81]},
                          "test_accuracy")  # fmt: skip
    verdict = findings.claim_verdicts(s, noisy.iloc[0:0], noisy)["verdict"][0]
    assert verdict.startswith("not settled")


def test_differences_from_base_and_summary():
    s, ids = mlp_study()
    table = metrics_table({ids["adam"]: [0.90, 0.91, 0.92], ids["sgd"]: [0.80, 0.82, 0.81]},
                          "test_accuracy")  # fmt: skip
    diff = findings.differences_from_base(s, table.iloc[0:0], table)
    assert list(diff["configuration"]) == ["optimizer=sgd"]  # the base (Adam) is not compared
    assert list(diff["than the base"]) == ["worse"]
    assert diff["difference from base"][0].startswith("test_accuracy: -10.00 points [-12.48")
    ((heading, summary),) = findings.summary_tables(s, table.iloc[0:0], table)
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
    modules = sorted(set(re.findall(r"^from aeflow\.plan import (\w+)", parse_time, re.MULTILINE)))
    assert {"plan", "machine", "schema"} <= set(modules)  # plan imports grid, studies, cost
    code = (
        f"import sys; import aeflow; from aeflow.plan import {', '.join(modules)}; "
        f"machine.gpu_count(); "
        "print(sorted(m for m in ('torch', 'pandas', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


# --- `better: lower` on autoencoder metrics (the direction of most real claims) ---------

AE_ONLY = {
    "autoencoder": {"sweeps": {"dropout": [0.0, 0.2]}},
    "claims": [
        {"claim": "dropout 0 reconstructs better", "source": "report 004", "model": "autoencoder",
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
    out = findings.claim_verdicts(s, table, clf)
    assert list(out["verdict"]) == [verdict]
    assert out["measured"][0] == f"test_mse: (dropout=0.0) − (base) = {measured}"
    assert list(out["source"]) == ["report 004"]
    # the base comparison uses the same direction: lower test MSE is better
    diff = findings.differences_from_base(s, table, clf)
    assert list(diff["configuration"]) == ["dropout=0.0"]
    assert list(diff["than the base"]) == [than_base]
    assert diff["difference from base"][0] == f"test_mse: {measured}"
    ((heading, _),) = findings.summary_tables(s, table, clf)
    assert heading == "Autoencoders"


def test_autoencoder_summary_shows_the_probes():
    s, a, b = ae_study()
    table = metrics_table({a: [0.02, 0.02], b: [0.03, 0.03]}, "test_mse").assign(
        test_knn_accuracy=[0.80, 0.82, 0.70, 0.72], test_linear_probe_accuracy=0.75
    )
    ((_, summary),) = findings.summary_tables(s, table, table.iloc[0:0])
    row = summary.set_index("configuration").loc["dropout=0.0"]
    assert row["test_knn_accuracy mean"] == pytest.approx(0.81)
    assert row["test_linear_probe_accuracy mean"] == pytest.approx(0.75)
    # tables written before the probes existed still summarise
    ((_, older),) = findings.summary_tables(s, table.drop(columns=list(findings.PROBE_COLUMNS)),
                                           table.iloc[0:0])  # fmt: skip
    assert "test_knn_accuracy mean" not in older


# --- the seed's numbers beside aeflow's, quotes ------------------------------------------

REPORTED_MLP = {
    **MLP,
    "reported": [
        {"model": "classifier", "configuration": {"optimizer": "sgd"},
         "metric": "test_accuracy", "value": 0.85, "source": "report 002, fig. 2"},
        {"model": "classifier", "configuration": {}, "metric": "test_accuracy",
         "value": 0.905, "source": "report 002, Table I"},
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
        "report 002, fig. 2",
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
    out = findings.reported_beside_replicated(s, table.iloc[0:0], table).set_index("configuration")
    half = 4.302653 * 0.01 / 3**0.5
    sgd = out.loc["optimizer=sgd"]
    assert sgd["reported"] == 0.85 and sgd["seeds"] == 3
    assert sgd["replicated mean"] == pytest.approx(0.81)
    assert (sgd["95 % low"], sgd["95 % high"]) == (
        pytest.approx(0.81 - half),
        pytest.approx(0.81 + half),
    )
    assert sgd["difference"] == pytest.approx(-0.04)
    # 0.85 lies above the mean's interval (0.81 + 0.0248) but inside one run's
    # (0.81 + 4.303 * 0.01 * sqrt(1 + 1/3) = 0.8597)
    assert sgd["reported against one run"] == "consistent with one run"
    base = out.loc["base"]  # the diverged seed is left out: 0.90, 0.91
    assert base["seeds"] == 2 and base["replicated mean"] == pytest.approx(0.905)
    assert base["difference"] == pytest.approx(0.0)
    assert base["reported against one run"] == "needs ≥ 3 seeds"
    one_seed = table[table["seed"] == 0]
    lone = findings.reported_beside_replicated(s, table.iloc[0:0], one_seed)
    assert list(lone["reported against one run"]) == ["needs ≥ 3 seeds"] * 2


def test_claim_quotes_are_shown_beside_the_verdict():
    block = copy.deepcopy(MLP)
    block["claims"][0]["quote"] = "Adam muestra ventajas"
    found, _, clf = expanded({"mlp": block})
    s = found["mlp"]
    ids = {clf[i]["optimizer"]: i for i in s["classifiers"]}
    table = metrics_table({ids["adam"]: [0.90, 0.91, 0.92], ids["sgd"]: [0.80, 0.82, 0.81]},
                          "test_accuracy")  # fmt: skip
    out = findings.claim_verdicts(s, table.iloc[0:0], table)
    assert list(out.columns) == ["seed says", "claim", "kind", "measured", "verdict", "p",
                                 "p (Holm)", "verdict after Holm"]  # fmt: skip
    assert out["seed says"][0] == "Adam muestra ventajas"


# --- claim kinds: equivalence, derived measures, confusion (synthetic tables) -----------

CLASSES = [f"c{i}" for i in range(10)]


def kinds_study(claims, reported=()):
    """The MLP study (base Adam, and SGD) with ``claims``; the data's classes c0 … c9."""
    block = copy.deepcopy(MLP)
    block["claims"] = claims
    block["reported"] = list(reported)
    cfg = config({"mlp": block})
    cfg["data"] = {"classes": CLASSES}
    found, _, clf = studies.expand_studies(cfg, grid.autoencoder_grid(cfg["autoencoder"]), 5000)
    s = found["mlp"]
    return s, {clf[i]["optimizer"]: i for i in s["classifiers"]}


def runs_table(ids, columns_by_arm):
    """{arm: {column: [value per seed]}} -> a classifier metrics table."""
    rows = []
    for arm, columns in columns_by_arm.items():
        n = len(next(iter(columns.values())))
        for seed in range(n):
            rows.append({"model_id": ids[arm], "seed": seed, "diverged": False,
                         "initialisation": "scratch",
                         **{k: v[seed] for k, v in columns.items()}})  # fmt: skip
    return pd.DataFrame(rows)


def verdict_of(s, clf, **tables):
    out = findings.claim_verdicts(s, clf.iloc[0:0], clf, **tables)
    return out["verdict"][0], out["measured"][0], out["kind"][0]


EQUIVALENT = {"claim": "Adam and SGD end alike", "kind": "equivalence", "model": "classifier",
              "a": {}, "b": {"optimizer": "sgd"}, "metric": "final_validation_accuracy",
              "margin": 0.01}  # fmt: skip


@pytest.mark.parametrize(
    "adam, verdict, interval",
    [
        # a − b = 0.001, 0.002, 0.000: mean 0.001, half 4.303·0.001/√3 = 0.0025, inside ±0.01
        ([0.801, 0.822, 0.810], "holds", "0.10 points [-0.15, 0.35] (n=3)"),
        # a − b = 0.10, 0.09, 0.11: [0.075, 0.125], wholly above +0.01
        ([0.90, 0.91, 0.92], "contradicted", "10.00 points [7.52, 12.48] (n=3)"),
        # a − b = 0.005, −0.006, 0.001: mean 0, half 0.0138, crosses ±0.01
        ([0.805, 0.814, 0.811], "not settled (the interval crosses the margin)",
         "0.00 points [-1.38, 1.38] (n=3)"),
    ],
)  # fmt: skip
def test_equivalence_within_a_margin(adam, verdict, interval):
    s, ids = kinds_study([EQUIVALENT])
    clf = runs_table(ids, {"adam": {"final_validation_accuracy": adam},
                           "sgd": {"final_validation_accuracy": [0.80, 0.82, 0.81]}})  # fmt: skip
    got, measured, kind = verdict_of(s, clf)
    assert got == verdict
    assert measured == (f"final_validation_accuracy: (base) − (optimizer=sgd) = {interval}; "
                        "margin ±1.00 points")  # fmt: skip
    assert kind == "equivalence (±1.00 points)"


def test_equivalence_verdict_bounds():
    def est(low, high, n=3):
        return stats.Estimate((low + high) / 2, 0.1, n, low, high)

    assert stats.equivalence_verdict(est(-0.01, 0.01), 0.01) == "holds"  # the margin included
    assert stats.equivalence_verdict(est(-0.03, -0.011), 0.01) == "contradicted"
    assert stats.equivalence_verdict(est(-0.011, 0.0), 0.01).startswith("not settled")
    assert stats.equivalence_verdict(est(0, 0, n=1), 0.01) == "not settled (fewer than 2 seeds)"
    with pytest.raises(ValueError, match="margin"):
        stats.equivalence_verdict(est(0, 0), 0)


GAP = {"claim": "Adam overfits more", "model": "classifier", "a": {}, "b": {"optimizer": "sgd"},
       "metric": "gap_accuracy", "better": "higher"}  # fmt: skip


@pytest.mark.parametrize(
    "adam_train, verdict",
    [
        ([0.95, 0.96, 0.97], "holds"),  # gaps 0.10, 0.10, 0.10 against 0.02, 0.01, 0.03
        ([0.84, 0.85, 0.86], "contradicted"),  # gaps −0.01 each: a − b = −0.03, −0.02, −0.04
        ([0.95, 0.85, 0.87], "not settled (the interval includes 0)"),  # 0.10, 0.00, 0.01
    ],
)
def test_generalisation_gap_comparison(adam_train, verdict):
    s, ids = kinds_study([GAP])
    clf = runs_table(ids, {
        "adam": {"final_train_accuracy": adam_train, "final_validation_accuracy": [0.85, 0.86, 0.87]},
        "sgd": {"final_train_accuracy": [0.82, 0.83, 0.84], "final_validation_accuracy": [0.80, 0.82, 0.81]},
    })  # fmt: skip
    got, measured, kind = verdict_of(s, clf)
    assert got == verdict and kind == "comparison (higher)"
    assert measured.startswith(
        "gap_accuracy (final_train_accuracy − final_validation_accuracy): (base) − (optimizer=sgd)"
    )


def test_gap_loss_is_validation_minus_train():
    measure = studies._measure("gap_loss", "autoencoder", "x")
    table = pd.DataFrame({"model_id": ["m"], "seed": [0], "diverged": [False],
                          "final_train_loss": [0.2], "final_validation_loss": [0.5]})  # fmt: skip
    assert findings.measure_runs(measure, ["m"], table)["value"][0] == pytest.approx(0.3)


def history(ids, curves_by_arm, split="validation", metric="accuracy"):
    """{arm: [[value per epoch] per seed]} -> a histories table."""
    rows = [
        {"model_id": ids[arm], "seed": seed, "epoch": epoch, "split": split, "metric": metric,
         "value": v}
        for arm, curves in curves_by_arm.items()
        for seed, curve in enumerate(curves)
        for epoch, v in enumerate(curve, start=1)
    ]  # fmt: skip
    return pd.DataFrame(rows)


FASTER = {"claim": "Adam reaches 85 % sooner", "model": "classifier", "a": {},
          "b": {"optimizer": "sgd"}, "metric": {"epochs_to": {"validation_accuracy": 0.85}},
          "better": "lower"}  # fmt: skip
SGD_CURVES = [[0.5, 0.7, 0.8, 0.86, 0.9], [0.5, 0.7, 0.84, 0.85, 0.9], [0.6, 0.8, 0.84, 0.86, 0.9]]


@pytest.mark.parametrize(
    "adam, verdict, measured",
    [
        # reached at epochs 2, 2, 1 against 4, 4, 4: a − b = −2, −2, −3
        ([[0.8, 0.86], [0.7, 0.9], [0.85, 0.9]], "holds", "-2.3 epochs [-3.8, -0.9] (n=3)"),
        # 5, 5, 5 against 4, 4, 4
        ([[0.5] * 4 + [0.85]] * 3, "contradicted", "1.0 epochs [1.0, 1.0] (n=3)"),
        # 1, 5, 3 against 4, 4, 4: −3, 1, −1
        ([[0.9], [0.5] * 4 + [0.9], [0.5, 0.5, 0.9]], "not settled (the interval includes 0)",
         "-1.0 epochs [-6.0, 4.0] (n=3)"),
        # never reached in 5 epochs: counted as 6, a lower bound, so "slower" stands
        ([[0.5] * 5] * 3, "contradicted",
         "2.0 epochs [2.0, 2.0] (n=3); never reached in 3 of 3 runs of (base) and 0 of 3 of "
         "(optimizer=sgd), counted as the epochs run + 1"),
    ],
)  # fmt: skip
def test_epochs_to_a_threshold(adam, verdict, measured):
    s, ids = kinds_study([FASTER])
    clf = runs_table(ids, {"adam": {"test_accuracy": [0.9] * 3},
                           "sgd": {"test_accuracy": [0.9] * 3}})  # fmt: skip
    h = history(ids, {"adam": adam, "sgd": SGD_CURVES})
    got, text, _ = verdict_of(s, clf, histories=h)
    assert got == verdict
    assert text == f"epochs to validation accuracy ≥ 0.85: (base) − (optimizer=sgd) = {measured}"


def test_a_threshold_never_reached_by_the_faster_claimed_arm_settles_nothing():
    # b (SGD) never reaches 0.95 in 5 epochs: counted as 6, a lower bound; a (Adam)
    # reaches at 2: "a sooner" holds (b can only be later). The reverse claim, with b
    # reaching and a not, cannot hold on a bound: a − b would only grow.
    s, ids = kinds_study([{**FASTER, "metric": {"epochs_to": {"validation_accuracy": 0.95}}}])
    clf = runs_table(ids, {"adam": {"test_accuracy": [0.9] * 3},
                           "sgd": {"test_accuracy": [0.9] * 3}})  # fmt: skip
    fast, never = [[0.9, 0.96]] * 3, [[0.5, 0.6, 0.7, 0.8, 0.9]] * 3
    assert verdict_of(s, clf, histories=history(ids, {"adam": fast, "sgd": never}))[0] == "holds"
    slower = {**FASTER, "better": "higher", "metric": {"epochs_to": {"validation_accuracy": 0.95}}}
    s, ids = kinds_study([slower])
    got = verdict_of(s, clf, histories=history(ids, {"adam": fast, "sgd": never}))[0]
    assert got == "contradicted"  # a − b ≤ 2 − 6 < 0 whatever b's true epoch
    s, ids = kinds_study([{**EQUIVALENT, "metric": {"epochs_to": {"validation_accuracy": 0.95}},
                           "margin": 10}])  # fmt: skip
    got = verdict_of(s, clf, histories=history(ids, {"adam": fast, "sgd": never}))[0]
    assert got == "not settled (a threshold was not reached in some runs)"


@pytest.mark.parametrize(
    "metric, adam, sgd",
    [
        ({"best": "validation_loss"}, 0.5, 0.6),
        ({"epochs_to": {"validation_loss": 0.6}}, 2, 3),  # at or below 0.6
        ({"epoch_of_best": "validation_loss"}, 2, 3),  # the first epoch with the lowest
    ],
)
def test_best_over_the_epochs_its_epoch_and_loss_thresholds(metric, adam, sgd):
    losses = {"adam": [[0.9, 0.5, 0.7, 0.5]] * 2, "sgd": [[0.9, 0.8, 0.6, 0.7]] * 2}
    s, ids = kinds_study([{**FASTER, "metric": metric}])
    table = runs_table(ids, {"adam": {"test_accuracy": [0.9] * 2},
                             "sgd": {"test_accuracy": [0.9] * 2}})  # fmt: skip
    runs = findings.measure_runs(s["claims"][0]["measure"], list(ids.values()), table,
                                history(ids, losses, metric="loss"))  # fmt: skip
    by_arm = runs.groupby("model_id")["value"].agg(["min", "max"])
    assert list(by_arm.loc[ids["adam"]]) == [adam, adam]
    assert list(by_arm.loc[ids["sgd"]]) == [sgd, sgd]
    assert not runs["censored"].any()


def confusion_table(model_id, off_diagonal_by_seed):
    """{seed: {(true, predicted): count}}: 100 images per class, the rest on the diagonal."""
    rows = []
    for seed, cells in off_diagonal_by_seed.items():
        for t in range(10):
            wrong = {p: n for (tt, p), n in cells.items() if tt == t}
            for p in range(10):
                count = 100 - sum(wrong.values()) if p == t else wrong.get(p, 0)
                rows.append({"model_id": model_id, "seed": seed, "true_label": t,
                             "true_name": CLASSES[t], "predicted_label": p,
                             "predicted_name": CLASSES[p], "count": count})  # fmt: skip
    return pd.DataFrame(rows)


UPPER_BODY = {(6, 0): 15, (0, 6): 10, (4, 2): 8, (2, 4): 6, (7, 9): 2, (1, 3): 1}
CONFUSED = {"claim": "the largest confusions are among c0, c2, c4, c6", "kind": "confusion",
            "model": "classifier", "configuration": {"optimizer": "sgd"},
            "classes": ["c0", "c2", "c4", "c6"], "top": 4}  # fmt: skip


@pytest.mark.parametrize(
    "seeds, verdict, margin",
    [
        # 4th largest inside 6 %, largest outside 2 %: +4 points on every seed
        ({0: UPPER_BODY, 1: UPPER_BODY, 2: UPPER_BODY}, "holds", "4.00 points [4.00, 4.00] (n=3)"),
        # c7 → c9 at 20 % on every seed: 6 − 20
        ({k: {**UPPER_BODY, (7, 9): 20} for k in range(3)}, "contradicted",
         "-14.00 points [-14.00, -14.00] (n=3)"),
        # outside 2, 9, 2: margins 4, −3, 4
        ({0: UPPER_BODY, 1: {**UPPER_BODY, (7, 9): 9}, 2: UPPER_BODY},
         "not settled (the interval includes 0)", "1.67 points [-8.37, 11.71] (n=3)"),
    ],
)  # fmt: skip
def test_most_confused_pairs_among_named_classes(seeds, verdict, margin):
    s, ids = kinds_study([CONFUSED])
    clf = runs_table(ids, {"sgd": {"test_accuracy": [0.9] * 3}})
    got, measured, kind = verdict_of(s, clf, confusion=confusion_table(ids["sgd"], seeds))
    assert got == verdict and kind == "confusion (top 4)"
    assert measured.startswith("(optimizer=sgd): largest 4 confusions of the mean matrix")
    assert measured.endswith(
        f"4th largest among c0, c2, c4, c6 − the largest outside them = {margin}"
    )
    if verdict == "holds":
        assert "c6 → c0 15.0 %, c0 → c6 10.0 %, c4 → c2 8.0 %, c2 → c4 6.0 %" in measured
    if verdict == "contradicted":
        assert "c7 → c9 20.0 % (outside)" in measured


def test_confusion_claims_leave_diverged_seeds_out():
    s, ids = kinds_study([CONFUSED])
    clf = runs_table(ids, {"sgd": {"test_accuracy": [0.9] * 3}})
    clf.loc[clf["seed"] == 1, "diverged"] = True
    seeds = {0: UPPER_BODY, 1: {(7, 9): 90}, 2: UPPER_BODY}
    assert verdict_of(s, clf, confusion=confusion_table(ids["sgd"], seeds))[0] == "holds"


@pytest.mark.parametrize(
    "claim, match",
    [
        ({**EQUIVALENT, "margin": None}, r"claims\[0\]: a equivalence claim needs margin|needs margin"),
        ({k: v for k, v in EQUIVALENT.items() if k != "margin"}, r"studies.mlp.claims\[0\]: a equivalence claim needs margin"),
        ({**GAP, "margin": 0.1}, r"claims\[0\]: margin do\(es\) not belong to a comparison claim"),
        ({**CONFUSED, "a": {}}, r"claims\[0\]: a do\(es\) not belong to a confusion claim"),
        ({**CONFUSED, "model": "autoencoder"}, r"claims\[0\].model: a confusion claim is about a classifier"),
        ({**CONFUSED, "classes": ["c0", "Shirt"]}, r"claims\[0\].classes: 'Shirt' not a class of the data \(data.classes: c0, c1"),
        ({**CONFUSED, "top": 13}, r"claims\[0\].top: between 1 and 12"),
        ({**CONFUSED, "kind": "ranking"}, r"claims\[0\].kind: 'ranking' unknown"),
        ({**GAP, "metric": "test_mse"}, r"claims\[0\].metric: 'test_mse' is not a measure of classifiers"),
        ({**FASTER, "metric": {"epochs_to": {"test_accuracy": 0.5}}}, r"claims\[0\].metric: 'test_accuracy' unknown"),
    ],
)  # fmt: skip
def test_bad_claim_kinds_name_the_key(claim, match):
    if claim.get("margin", 1) is None:
        claim = {k: v for k, v in claim.items() if k != "margin"}
    with pytest.raises(GridError, match=match):
        kinds_study([claim])


def test_autoencoder_measures_have_no_accuracy():
    for metric in ("gap_accuracy", {"epochs_to": {"validation_accuracy": 0.5}},
                   {"best": "train_accuracy"}, "test_accuracy"):  # fmt: skip
        with pytest.raises(GridError, match="autoencoders have no|not a measure of autoencoders"):
            studies._measure(metric, "autoencoder", "studies.x.claims[0].metric")
    assert studies._measure({"best": "validation_loss"}, "autoencoder", "x")["label"] == (
        "lowest validation loss over the epochs"
    )


def test_confusion_figure_shows_every_classifier_a_claim_or_reported_number_names():
    reported = [{"model": "classifier", "configuration": {"optimizer": "sgd"},
                 "metric": "test_accuracy", "value": 0.8, "source": "seed"}]  # fmt: skip
    s, ids = kinds_study([], reported)
    assert s["confusion_classifiers"] == {"scratch": ids["adam"], "optimizer=sgd": ids["sgd"]}
    found, _, clf = expanded({"004": STEPWISE})
    four = found["004"]
    # both base classifiers, and the hidden-64 arm a claim would name, labelled by init
    block = copy.deepcopy(STEPWISE)
    block["claims"].append({"claim": "wider head", "model": "classifier",
                            "a": {"initialisation": "finetune", "hidden": 64},
                            "b": {"initialisation": "finetune"}, "metric": "test_accuracy",
                            "better": "higher"})  # fmt: skip
    found, _, clf = expanded({"004": block})
    labels = found["004"]["confusion_classifiers"]
    assert list(labels) == ["frozen", "finetune", "finetune: hidden=64"]
    assert clf[labels["finetune: hidden=64"]]["hidden"] == "64"
    assert list(four["confusion_classifiers"]) == ["frozen", "finetune"]


def test_reported_numbers_are_shown_in_the_unit_of_the_replicated_ones():
    s, ids = kinds_study([], [
        {"model": "classifier", "configuration": {}, "metric": "final_validation_accuracy",
         "value": 0.9127, "source": "Tabla 4"},
        {"model": "classifier", "configuration": {}, "metric": "final_validation_loss",
         "value": 0.3312, "source": "Tabla 5"},
    ])  # fmt: skip
    clf = runs_table(ids, {"adam": {"final_validation_accuracy": [0.90, 0.91, 0.92],
                                    "final_validation_loss": [0.30, 0.31, 0.32]}})  # fmt: skip
    shown = findings.reported_display(findings.reported_beside_replicated(s, clf.iloc[0:0], clf))
    accuracy, loss = shown.to_dict("records")
    # not a test-set number: its set's size (hence its sampling error) is unknown
    assert accuracy["reported (one run)"] == "91.27 % (se unknown: not a test-set accuracy)"
    assert accuracy["replicated: mean [95 % interval of the mean]"] == "91.00 % [88.52 %, 93.48 %]"
    # 0.91 ± 4.303 * 0.01 * sqrt(4/3) = ± 4.97 points
    assert accuracy["one more run: 95 % prediction interval"] == "[86.03 %, 95.97 %]"
    assert accuracy["difference (replicated − reported)"] == "-0.27 points"
    assert accuracy["reported value"] == "consistent with one run"
    assert loss["reported (one run)"].startswith("0.3312 (se unknown")
    assert loss["difference (replicated − reported)"] == "-0.0212"
    assert loss["replicated: mean [95 % interval of the mean]"] == "0.31 [0.2852, 0.3348]"


def test_not_measurable_conclusions_are_listed_with_why():
    block = copy.deepcopy(MLP)
    block["not_measurable"] = [{"quote": "converge más rápido", "source": "fig. 3",
                                "reason": "no speed measure"}]  # fmt: skip
    found, _, _ = expanded({"mlp": block})
    table = findings.not_measurable_table(found["mlp"])
    assert table.to_dict("records") == [
        {"source": "fig. 3", "seed says": "converge más rápido", "why not here": "no speed measure"}
    ]
    assert findings.not_measurable_table(expanded({"mlp": MLP})[0]["mlp"]).empty


def test_the_default_config_and_its_quick_variant_parse_and_resolve_every_claim():
    """config/config.yaml, alone and amended by config/studies-quick.yaml as snakemake
    merges them, against the schema; every study expands and every claim resolves."""
    from pathlib import Path

    from snakemake.utils import update_config, validate

    from aeflow.plan import schema

    folder = Path(__file__).resolve().parents[1] / "config"
    loaded = schema.load(folder / "schema.yaml")
    for extra in ([], ["studies-quick.yaml"]):
        cfg = schema.load(folder / "config.yaml")
        for name in extra:
            update_config(cfg, schema.load(folder / name))
        schema.read_numbers(cfg, loaded)
        validate(cfg, str(folder / "schema.yaml"))
        found, _, _ = studies.expand_studies(cfg, grid.autoencoder_grid(cfg["autoencoder"]), 50000)
        assert set(found) == set(cfg["studies"])
        kinds = {c["kind"] for s in found.values() for c in s["claims"]}
        assert kinds == set(studies.CLAIM_KINDS)
        for s in found.values():
            for c in s["claims"]:
                assert c["quote"] and c["source"], (s["name"], c["claim"])


# --- issue 21: epochs to an arm's final value, value claims, worsening, a confusion row ---

SAME_RESULTS = {"claim": "Adam reaches SGD's final accuracy in fewer epochs", "model": "classifier",
                "a": {}, "b": {"optimizer": "sgd"},
                "metric": {"epochs_to": {"validation_accuracy": "b"}}, "better": "lower"}  # fmt: skip


@pytest.mark.parametrize(
    "adam, verdict, measured",
    [
        # SGD ends at 0.9 (each seed, its epoch 5); Adam reaches 0.9 at 2, 2, 3: −3, −3, −2
        ([[0.8, 0.9], [0.85, 0.95], [0.5, 0.8, 0.91]], "holds", "-2.7 epochs [-4.1, -1.2] (n=3)"),
        # Adam never reaches 0.9 in 3 epochs: 4 (a lower bound) − 5; "fewer" rests on a bound
        ([[0.5, 0.6, 0.7]] * 3, "not settled (a threshold was not reached in some runs)",
         "-1.0 epochs [-1.0, -1.0] (n=3); never reached in 3 of 3 runs of (base) and 0 of 3 of "
         "(optimizer=sgd), counted as the epochs run + 1"),
    ],
)  # fmt: skip
def test_epochs_to_the_other_arms_final_value(adam, verdict, measured):
    s, ids = kinds_study([SAME_RESULTS])
    measure = s["claims"][0]["measure"]
    assert measure["reference_id"] == ids["sgd"] and measure["value"] is None
    clf = runs_table(ids, {"adam": {"test_accuracy": [0.9] * 3},
                           "sgd": {"test_accuracy": [0.9] * 3}})  # fmt: skip
    h = history(ids, {"adam": adam, "sgd": SGD_CURVES})  # SGD: 0.9 at epoch 5 in every seed
    got, text, _ = verdict_of(s, clf, histories=h)
    assert got == verdict
    assert text == ("epochs to validation accuracy ≥ the final value of b (optimizer=sgd): "
                    f"(base) − (optimizer=sgd) = {measured}")  # fmt: skip


def test_the_reference_value_is_per_seed_and_the_reference_reaches_it_first_where_it_peaked():
    s, ids = kinds_study([{**SAME_RESULTS, "metric": {"epochs_to": {"validation_loss": "a"}}}])
    losses = {
        "adam": [[0.9, 0.5, 0.6], [0.9, 0.8, 0.4]],
        "sgd": [[0.9, 0.7, 0.65], [0.3, 0.5, 0.6]],
    }
    table = runs_table(ids, {"adam": {"test_accuracy": [0.9] * 2},
                             "sgd": {"test_accuracy": [0.9] * 2}})  # fmt: skip
    runs = findings.measure_runs(s["claims"][0]["measure"], list(ids.values()), table,
                                 history(ids, losses, metric="loss"))  # fmt: skip
    got = {(m, seed): v for m, seed, v in zip(runs["model_id"], runs["seed"], runs["value"])}
    # seed 0: Adam's last loss 0.6, reached by Adam at epoch 2 (0.5), never by SGD (4)
    # seed 1: Adam's last 0.4, reached by Adam at 3 and by SGD at its epoch 1 (0.3)
    assert got == {(ids["adam"], 0): 2, (ids["sgd"], 0): 4, (ids["adam"], 1): 3,
                   (ids["sgd"], 1): 1}  # fmt: skip
    censored = {(m, seed) for m, seed, c in zip(runs["model_id"], runs["seed"], runs["censored"])
                if c}  # fmt: skip
    assert censored == {(ids["sgd"], 0)}  # never reached: the epochs run + 1


def test_worsening_is_how_far_the_last_epoch_fell_back_from_the_best():
    s, ids = kinds_study([{**FASTER, "metric": {"worsening": "validation_loss"}}])
    losses = {"adam": [[0.9, 0.5, 0.7]], "sgd": [[0.9, 0.8, 0.6]]}
    table = runs_table(ids, {"adam": {"test_accuracy": [0.9]}, "sgd": {"test_accuracy": [0.9]}})
    runs = findings.measure_runs(s["claims"][0]["measure"], list(ids.values()), table,
                                 history(ids, losses, metric="loss"))  # fmt: skip
    assert dict(zip(runs["model_id"], runs["value"])) == pytest.approx(
        {ids["adam"]: 0.2, ids["sgd"]: 0.0}
    )
    accuracy = studies._measure({"worsening": "validation_accuracy"}, "classifier", "x")
    runs = findings.measure_runs(accuracy, [ids["adam"]], table,
                                 history(ids, {"adam": [[0.5, 0.9, 0.85]]}))  # fmt: skip
    assert runs["value"][0] == pytest.approx(0.05)  # best − last for an accuracy
    assert accuracy["unit"] == "fraction"


VALUE = {"claim": "SGD's train-validation gap is nearly nil", "kind": "value",
         "model": "classifier", "configuration": {"optimizer": "sgd"}, "metric": "gap_accuracy",
         "below": 0.02}  # fmt: skip


@pytest.mark.parametrize(
    "bounds, train, verdict",
    [
        # gaps 0.01, 0.01, 0.01 (train − validation): below 0.02 on every seed
        ({"below": 0.02}, [0.81, 0.83, 0.82], "holds"),
        # gaps 0.05 each: above the bound
        ({"below": 0.02}, [0.85, 0.87, 0.86], "contradicted"),
        # gaps 0.01, 0.05, 0.00: the interval crosses 0.02
        ({"below": 0.02}, [0.81, 0.87, 0.81], "not settled (the interval includes 0)"),
        ({"above": 0.02}, [0.85, 0.87, 0.86], "holds"),
        ({"above": 0.02}, [0.81, 0.83, 0.82], "contradicted"),
        # inside [−0.02, 0.02]
        ({"above": -0.02, "below": 0.02}, [0.81, 0.83, 0.82], "holds"),
        ({"above": -0.02, "below": 0.02}, [0.85, 0.87, 0.86], "contradicted"),
    ],
)  # fmt: skip
def test_value_claims_hold_a_measure_to_a_bound(bounds, train, verdict):
    claim = {**{k: v for k, v in VALUE.items() if k != "below"}, **bounds}
    s, ids = kinds_study([claim])
    clf = runs_table(ids, {"sgd": {"final_train_accuracy": train,
                                   "final_validation_accuracy": [0.80, 0.82, 0.81]}})  # fmt: skip
    got, measured, kind = verdict_of(s, clf)
    assert got == verdict
    assert measured.startswith(
        "gap_accuracy (final_train_accuracy − final_validation_accuracy) of (optimizer=sgd) = "
    )
    shown = {"below": "below 2 %", "above": "above 2 %"}
    expected = shown[next(iter(bounds))] if len(bounds) == 1 else "between -2 % and 2 %"
    assert kind == f"value ({expected})" and measured.endswith(f"claimed {expected}")


def test_value_claims_on_epochs_to_never_reached_hold_only_on_the_safe_side():
    late = {**VALUE, "metric": {"epochs_to": {"validation_accuracy": 0.95}}, "below": 4}
    s, ids = kinds_study([late])
    clf = runs_table(ids, {"sgd": {"test_accuracy": [0.9] * 3}})
    never = history(ids, {"sgd": [[0.5, 0.6]] * 3})  # counted as 3, a lower bound
    assert verdict_of(s, clf, histories=never)[0].startswith("not settled (a threshold")
    s, ids = kinds_study([{**{k: v for k, v in late.items() if k != "below"}, "above": 2}])
    # above 2: 3 (a lower bound) is above whatever the true epoch
    assert verdict_of(s, clf, histories=never)[0] == "holds"


SHIRT_ROW = {"claim": "c6 is confused with c0, c2 and c4", "kind": "confusion",
             "model": "classifier", "configuration": {"optimizer": "sgd"}, "row": "c6",
             "classes": ["c0", "c2", "c4"], "top": 3}  # fmt: skip


@pytest.mark.parametrize(
    "cells, verdict, margin",
    [
        # row c6: c0 15, c2 9, c4 7, c3 2 → 7 − 2 (a larger confusion elsewhere does not count)
        ({(6, 0): 15, (6, 2): 9, (6, 4): 7, (6, 3): 2, (7, 9): 30}, "holds", "5.00"),
        # the same matrix without any c6 confusion: no cell of the row, 0 − 0
        ({(0, 6): 15, (2, 4): 9, (4, 2): 7}, "not settled (the interval includes 0)", "0.00"),
        # row c6's third largest to the named classes is below c6 → c8
        ({(6, 0): 15, (6, 2): 9, (6, 4): 1, (6, 8): 5}, "contradicted", "-4.00"),
    ],
)  # fmt: skip
def test_a_confusion_row_claim_is_about_that_true_class_only(cells, verdict, margin):
    s, ids = kinds_study([SHIRT_ROW])
    clf = runs_table(ids, {"sgd": {"test_accuracy": [0.9] * 3}})
    seeds = {k: cells for k in range(3)}
    got, measured, kind = verdict_of(s, clf, confusion=confusion_table(ids["sgd"], seeds))
    assert kind == "confusion (top 3 of row c6)"
    assert measured.startswith("(optimizer=sgd): row c6: largest 3 confusions of the mean matrix")
    assert measured.endswith(f"3rd largest to c0, c2, c4 − the largest other = "
                             f"{margin} points [{margin}, {margin}] (n=3)")  # fmt: skip
    assert got == verdict
    # the claim on the whole matrix among c0, c2, c4, c6 passes the second matrix
    whole = {**SHIRT_ROW, "classes": ["c0", "c2", "c4", "c6"]}
    whole.pop("row")
    s2, ids2 = kinds_study([whole])
    if verdict.startswith("not settled"):
        assert verdict_of(s2, clf, confusion=confusion_table(ids2["sgd"], seeds))[0] == "holds"


@pytest.mark.parametrize(
    "claim, match",
    [
        ({**VALUE, "below": None}, r"claims\[0\]: a value claim needs below, above or both"),
        ({**VALUE, "above": 0.5}, r"claims\[0\]: above \(0.5\) must be less than below \(0.02\)"),
        ({**VALUE, "a": {}}, r"claims\[0\]: a do\(es\) not belong to a value claim"),
        ({**VALUE, "metric": {"epochs_to": {"validation_accuracy": "b"}}},
         r"claims\[0\].metric: a value claim has no arm a or b"),
        ({**SAME_RESULTS, "metric": {"epochs_to": {"validation_accuracy": "c"}}},
         r"claims\[0\].metric.epochs_to.validation_accuracy: a number, a or b, got 'c'"),
        ({**GAP, "below": 0.1}, r"claims\[0\]: below do\(es\) not belong to a comparison claim"),
        ({**SHIRT_ROW, "classes": ["c0", "c6"]}, r"claims\[0\].classes: 'c6' is the row"),
        ({**SHIRT_ROW, "row": "Shirt"}, r"claims\[0\].classes: 'Shirt' not a class of the data"),
        ({**SHIRT_ROW, "top": 4}, r"claims\[0\].top: between 1 and 3 \(the classes named\)"),
        ({**CONFUSED, "row": None, "classes": ["c0"]}, r"claims\[0\].classes: at least two"),
    ],
)  # fmt: skip
def test_bad_new_claims_name_the_key(claim, match):
    claim = {k: v for k, v in claim.items() if v is not None}
    with pytest.raises(GridError, match=match):
        kinds_study([claim])


def test_value_claims_do_not_add_classifiers_to_the_confusion_figure():
    s, ids = kinds_study([VALUE])
    assert s["confusion_classifiers"] == {"scratch": ids["adam"]}
    s, ids = kinds_study([SHIRT_ROW])
    assert set(s["confusion_classifiers"].values()) == {ids["adam"], ids["sgd"]}


def test_worsening_reads_in_the_verdict_table():
    claim = {"claim": "SGD's validation loss turns up", "kind": "value", "model": "classifier",
             "configuration": {"optimizer": "sgd"}, "metric": {"worsening": "validation_loss"},
             "above": 0.0}  # fmt: skip
    s, ids = kinds_study([claim])
    clf = runs_table(ids, {"sgd": {"test_accuracy": [0.9] * 3}})
    losses = history(ids, {"sgd": [[0.9, 0.5, 0.6], [0.9, 0.4, 0.6], [0.8, 0.5, 0.7]]},
                     metric="loss")  # fmt: skip
    got, measured, kind = verdict_of(s, clf, histories=losses)
    assert got == "holds" and kind == "value (above 0)"  # rises 0.1, 0.2, 0.2
    assert measured.startswith(
        "worsening of the validation loss (last epoch − lowest) of (optimizer=sgd) = 0.16667 ["
    )


@pytest.fixture(scope="module")
def default_studies():
    """config/config.yaml's studies, expanded (50 000 training images)."""
    from pathlib import Path

    from aeflow.plan import schema

    folder = Path(__file__).resolve().parents[1] / "config"
    cfg = schema.load(folder / "config.yaml")
    schema.read_numbers(cfg, schema.load(folder / "schema.yaml"))
    found, ae, clf = studies.expand_studies(cfg, grid.autoencoder_grid(cfg["autoencoder"]), 50000)
    return found, ae, clf


def _claim(found, name, quote_start, measure=None, **match):
    """The one claim of study ``name`` whose quote starts with ``quote_start``, whose
    measure has the type ``measure`` (when given) and whose fields equal ``match``."""
    hits = [c for c in found[name]["claims"] if c["quote"].startswith(quote_start)
            and (measure is None or c.get("measure", {}).get("type") == measure)
            and all(c.get(k) == v for k, v in match.items())]  # fmt: skip
    assert len(hits) == 1, (name, quote_start, len(hits))
    return hits[0]


def test_the_reports_claims_test_their_sentences(default_studies):
    """Issue 21's re-encodings, pinned on the default config."""
    found, ae, clf = default_studies
    # report 001: "lo logró en 14 épocas … luego de 60 épocas": epochs to the feed-forward
    # autoencoder's own final validation MSE, not training seconds
    cost = _claim(found, "001", "El autoencoder convolucional logró comprimir", "epochs_to")
    m = cost["measure"]
    assert (m["split"], m["metric"], m["reference_id"]) == ("validation", "loss", cost["b"])
    assert ae[cost["b"]]["architecture"] == "mlp" and ae[cost["a"]]["architecture"] == "conv_deep"
    assert cost["better"] == "lower"
    assert not [c for s in found.values() for c in s["claims"] if c.get("metric") == "train_seconds"
                and c["quote"].startswith("El autoencoder convolucional")]  # fmt: skip
    # report 004: Adam "en menos épocas se logran los mismo resultados": epochs to SGD's
    # own final validation accuracy; no claim quotes a table row
    same = _claim(found, "004", "Los resultados sugieren que Adam", "epochs_to")
    assert same["measure"]["reference_id"] == same["b"] and clf[same["b"]]["optimizer"] == "sgd"
    assert not [c for s in found.values() for c in s["claims"] if c["quote"].startswith("Tabla")]
    # report 004's shirt sentence is about the Shirt row
    shirt = _claim(found, "004", "También indica que para categoría shirt")
    assert shirt["classes"] == {"names": ["T-shirt/top", "Pullover", "Coat"], "top": 3,
                                "row": "Shirt"}  # fmt: skip
    # report 004's conclusion on more neurons: the training set
    neurons = _claim(found, "004", "Sin embargo, al aumentar el número de neuronas",
                     metric="final_train_accuracy")  # fmt: skip
    assert clf[neurons["a"]]["hidden"] == "512" and neurons["better"] == "higher"
    # report 004's SGD "una precisión igual a la obtenida en validación": its own gap
    sgd = _claim(found, "004", "Finalmente, con solo cambiar")
    assert sgd["kind"] == "value" and sgd["bounds"] == {"below": 0.01, "above": -0.01}
    # report 003's M4 "el train no llega ni a overfittear": absolute, not against M3
    m4 = _claim(found, "003", "si se utilizan muchas neuronas", metric="final_train_accuracy")
    assert m4["kind"] == "value" and clf[m4["configuration"]]["hidden"] == "1000-1000"
    # report 002's lr = 0.001 sentence: both readings
    readings = [c for c in found["002"]["claims"]
                if c["quote"].startswith("igualmente para las próximas pruebas")]  # fmt: skip
    lrs = sorted((clf[c["a"]]["lr"], clf[c["b"]]["lr"]) for c in readings)
    assert lrs == [(0.0001, 0.001), (0.001, 0.01)]
    # report 002's sec. IV dropout sentence is claims, not hidden in a not-measurable "[…]"
    assert _claim(found, "002", "Ajustar el dropout", "gap")["better"] == "higher"
    assert not [n for n in found["002"]["not_measurable"] if "Ajustar el dropout" in n["quote"]]


def test_the_reports_networks_in_the_default_config(default_studies):
    found, ae, clf = default_studies
    # 000's autoencoders are the consigna listing (its output dropout); the main grid's not
    assert all(ae[i].get("output_dropout") for i in found["000-autoencoder"]["autoencoders"])
    frozen = [i for i in found["000-classifier"]["classifiers"]
              if clf[i]["initialisation"] != "scratch"]  # fmt: skip
    assert {ae[clf[i]["autoencoder_id"]].get("output_dropout") for i in frozen} == {True}
    # 004 runs its Tabla 2: no bottleneck, the tabla-2 decoder; the bottleneck is an addition
    shapes = sorted((ae[i]["latent"], ae[i].get("bottleneck", True), ae[i]["decoder"])
                    for i in found["004"]["autoencoders"])  # fmt: skip
    assert shapes == [(64, True, "tabla-2"), (800, False, "tabla-2"), (800, False, "tabla-2"),
                      (800, False, "tabla-2"), (800, False, "tabla-2"), (2400, False, "tabla-2")]  # fmt: skip
    assert {clf[i]["hidden"] for i in found["004"]["classifiers"]} == {"none", "512"}
