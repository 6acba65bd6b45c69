"""Named studies: each seed report's experiments as grids around the shared bases,
with the claims it made checked against the tables.

A study (``config['studies'][name]``) has optional ``autoencoder`` and ``classifier``
blocks shaped like the top-level ones, whose ``base`` entries are *overrides* of the
top-level bases, and ``claims``: "configuration a beats configuration b on a metric".
:func:`expand_studies` turns them into configurations (ids as in :mod:`aeflow.grid`, so
a configuration shared by two studies trains once) and plain-data study descriptions;
:func:`claim_verdicts`, :func:`summary_tables` and :func:`differences_from_base`
compute a study's report section from the metrics tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aeflow import grid
from aeflow.grid import GridError

if TYPE_CHECKING:
    import pandas as pd

    from aeflow import stats

# The report-time functions import pandas (and the modules that use it) when called:
# the Snakefile imports this module for expand_studies on every parse, which then
# costs no pandas (nor torch) import.

# The metric a comparison against the base uses, and which direction is better.
PRIMARY = {"autoencoder": ("test_mse", "lower"), "classifier": ("test_accuracy", "higher")}
# The probes of an autoencoder's frozen latent (aeflow.probes), in its study's summary.
PROBE_COLUMNS = ("test_knn_accuracy", "test_linear_probe_accuracy")


def _merged(block: dict | None, key: str, top: dict) -> dict:
    return {**top, **((block or {}).get(key) or {})}


def expand_studies(
    config: dict, autoencoders: dict[str, dict], train_size: int | None = None
) -> tuple[dict[str, dict], dict[str, dict], dict[str, dict]]:
    """``config['studies']`` → ``(studies, autoencoders, classifiers)``.

    ``autoencoders``: the configurations already in the workflow (the main grid); a
    study's pretrained classifiers may use those or any study's. Returns the studies as
    plain data (ids, labels, bases, resolved claims) and the configurations the studies
    add, by id. A study's pretrained classifiers start from the study's own autoencoders
    when it has an autoencoder block, else from any in the workflow. Errors are :class:`GridError` naming ``studies.<name>.…``.
    """
    ae_top = grid.base_params(config["autoencoder"]["base"], grid.AUTOENCODER_KEYS)
    clf_top = grid.base_params(config["classifier"]["base"], grid.CLASSIFIER_KEYS)
    studies, new_ae, new_clf = {}, {}, {}
    ae_grids, ae_bases = {}, {}
    for name, block in (config.get("studies") or {}).items():
        ae_base = _merged(block.get("autoencoder"), "base", ae_top)
        ae_bases[name] = ae_base
        if block.get("autoencoder") is not None:
            cfg = {**block["autoencoder"], "base": ae_base}
            ae_grids[name] = grid.autoencoder_grid(cfg, f"studies.{name}.autoencoder", train_size)
            new_ae.update(ae_grids[name])
    everything = {**autoencoders, **new_ae}
    for name, block in (config.get("studies") or {}).items():
        where = f"studies.{name}"
        ae_base = grid.canonical(ae_bases[name], train_size)
        ae_grid = ae_grids.get(name, {})
        clf_grid, clf_base, inits = {}, None, []
        if block.get("classifier") is not None:
            clf_block = block["classifier"]
            clf_base = _merged(clf_block, "base", clf_top)
            cfg = {
                **clf_block,
                "base": clf_base,
                "initialisations": clf_block.get("initialisations") or ["scratch"],
            }
            clf_grid = grid.classifier_grid(
                cfg, ae_base, ae_grid or everything, f"{where}.classifier", train_size
            )
            inits = list(dict.fromkeys(p["initialisation"] for p in clf_grid.values()))
            if clf_block.get("linear_probe"):
                clf_grid.update(_linear_probes(cfg, ae_base, ae_grid or everything, where,
                                               train_size))  # fmt: skip
            clf_base = grid.canonical(clf_base, train_size)
            new_clf.update(clf_grid)
        if not ae_grid and not clf_grid:
            raise GridError(f"{where}: neither an autoencoder nor a classifier block")
        study = {
            "name": name,
            "title": block.get("title") or f"Study {name}",
            "source": block.get("source", ""),
            "note": block.get("note", ""),
            "autoencoder_base": ae_base if ae_grid else None,
            "classifier_base": clf_base,
            "autoencoders": {i: grid.describe(p, ae_base) for i, p in ae_grid.items()},
            "classifiers": {i: grid.describe(p, clf_base) for i, p in clf_grid.items()},
            "initialisations": {i: p["initialisation"] for i, p in clf_grid.items()},
            "autoencoder_sweeps": list((block.get("autoencoder") or {}).get("sweeps") or {}),
            "classifier_sweeps": list((block.get("classifier") or {}).get("sweeps") or {}),
            "autoencoder_configurations": bool(
                (block.get("autoencoder") or {}).get("configurations")
            ),
            "classifier_configurations": bool(
                (block.get("classifier") or {}).get("configurations")
            ),
            "base_autoencoder": _find(ae_grid, ae_base, None) if ae_grid else None,
            "base_classifiers": {init: _find(clf_grid, clf_base, init) for init in inits},
        }
        study["claims"] = [
            _resolve_claim(claim, f"{where}.claims[{k}]", ae_grid, clf_grid, ae_base, clf_base,
                           inits, train_size)
            for k, claim in enumerate(block.get("claims") or [])
        ]  # fmt: skip
        study["reported"] = [
            _resolve_reported(entry, f"{where}.reported[{k}]", ae_grid, clf_grid, ae_base,
                              clf_base, inits, train_size)
            for k, entry in enumerate(block.get("reported") or [])
        ]  # fmt: skip
        studies[name] = study
    return studies, new_ae, new_clf


def _linear_probes(cfg, ae_base, autoencoders, where, train_size) -> dict[str, dict]:
    """``classifier.linear_probe: true``: the study's classifier grid once more as linear
    probes, i.e. the frozen pretrained encoder with the head Linear(n, 10) (``hidden:
    none``); only this arm, not scratch or finetune, loses the hidden layer."""
    if "hidden" in (cfg.get("sweeps") or {}) or any(
        "hidden" in c for c in cfg.get("configurations") or []
    ):
        raise GridError(
            f"{where}.classifier.linear_probe: the linear probe has no hidden layer, so it "
            "cannot go with a study that sets hidden in its sweeps or configurations"
        )
    probe = {
        **cfg,
        "base": {**cfg["base"], "hidden": grid.NO_HIDDEN},
        "initialisations": ["frozen"],
    }
    return grid.classifier_grid(
        probe, ae_base, autoencoders, f"{where}.classifier.linear_probe", train_size
    )


def _find(configurations: dict, params: dict, initialisation) -> str | None:
    """Id of the configuration with ``params`` (and ``initialisation``), or None."""
    for model_id, p in configurations.items():
        if initialisation is not None and p.get("initialisation") != initialisation:
            continue
        if all(p.get(k) == v for k, v in params.items()):
            return model_id
    return None


def _resolve_arm(kind, selector, where, ae_grid, clf_grid, ae_base, clf_base, inits, train_size):
    """The id of the study's configuration that ``selector`` (overrides of the study's
    base, classifiers may add ``initialisation``) names; a GridError naming ``where``."""
    configurations = ae_grid if kind == "autoencoder" else clf_grid
    if not configurations:
        raise GridError(f"{where}: the study trains no {kind}s")
    keys = grid.AUTOENCODER_KEYS if kind == "autoencoder" else grid.CLASSIFIER_KEYS
    base = ae_base if kind == "autoencoder" else clf_base
    overrides = dict(selector)
    init = overrides.pop("initialisation", inits[0] if kind == "classifier" else None)
    unknown = set(overrides) - set(keys)
    if unknown:
        raise GridError(f"{where}: unknown hyperparameter(s) {', '.join(sorted(unknown))}")
    found = _find(configurations, grid.canonical({**base, **overrides}, train_size), init)
    if found is None:
        raise GridError(
            f"{where}: {selector} is not a configuration of the study; add it "
            "to the study's sweeps or configurations"
        )
    return found


def _resolve_reported(entry, where, ae_grid, clf_grid, ae_base, clf_base, inits, train_size):
    """A seed's reported number, tied to the study's configuration it belongs to."""
    kind = entry["model"]
    model_id = _resolve_arm(kind, entry["configuration"], f"{where}.configuration", ae_grid,
                            clf_grid, ae_base, clf_base, inits, train_size)  # fmt: skip
    configurations = ae_grid if kind == "autoencoder" else clf_grid
    base = ae_base if kind == "autoencoder" else clf_base
    return {
        "model": kind,
        "id": model_id,
        "label": _arm_label(kind, entry["configuration"], configurations[model_id], base),
        "metric": entry["metric"],
        "value": float(entry["value"]),
        "source": entry["source"],
    }


def _resolve_claim(claim, where, ae_grid, clf_grid, ae_base, clf_base, inits, train_size):
    kind = claim["model"]
    configurations = ae_grid if kind == "autoencoder" else clf_grid
    base = ae_base if kind == "autoencoder" else clf_base
    ids = {
        arm: _resolve_arm(
            kind,
            claim[arm],
            f"{where}.{arm}",
            ae_grid,
            clf_grid,
            ae_base,
            clf_base,
            inits,
            train_size,
        )  # fmt: skip
        for arm in ("a", "b")
    }
    if ids["a"] == ids["b"]:
        raise GridError(f"{where}: arms a and b are the same configuration")
    labels = {arm: _arm_label(kind, claim[arm], configurations[ids[arm]], base) for arm in ids}
    return {
        "claim": claim["claim"],
        "quote": claim.get("quote", ""),
        "source": claim.get("source", ""),
        "model": kind,
        "metric": claim["metric"],
        "better": claim["better"],
        "a": ids["a"],
        "b": ids["b"],
        "a_label": labels["a"],
        "b_label": labels["b"],
    }


def _arm_label(kind, overrides, params, base):
    label = grid.describe(params, base)
    if kind == "classifier" and "initialisation" in overrides:
        return (
            f"{params['initialisation']}, {label}" if label != "base" else params["initialisation"]
        )
    return label


# --------------------------------------------------------------------------- analysis


def _metric_text(metric: str, estimate: stats.Estimate) -> str:
    if "accuracy" in metric or "f1" in metric:
        return estimate.text(100, " points")
    return estimate.text(1, "", digits=5)


def claim_verdicts(
    study: dict, autoencoder_metrics: pd.DataFrame, classifier_metrics: pd.DataFrame
) -> pd.DataFrame:
    """The study's claims, each with the measured difference a − b (paired by seed, 95 %
    interval) and the computed verdict (:func:`aeflow.stats.verdict`)."""
    import pandas as pd

    from aeflow import stats

    rows = []
    for c in study["claims"]:
        table = autoencoder_metrics if c["model"] == "autoencoder" else classifier_metrics
        arms = table[table["model_id"].isin([c["a"], c["b"]])]
        diff = stats.paired_difference(arms, "model_id", c["a"], c["b"], c["metric"])
        rows.append({
            "source": c["source"],
            "seed says": c.get("quote", ""),
            "claim": c["claim"],
            "measured": f"{c['metric']}: ({c['a_label']}) − ({c['b_label']}) = "
                        f"{_metric_text(c['metric'], diff)}",
            "verdict": stats.verdict(diff, "positive" if c["better"] == "higher" else "negative"),
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=["source", "seed says", "claim", "measured", "verdict"])
    empty = [c for c in ("source", "seed says") if not out[c].astype(bool).any()]
    return out.drop(columns=empty)


def reported_beside_replicated(
    study: dict, autoencoder_metrics: pd.DataFrame, classifier_metrics: pd.DataFrame
) -> pd.DataFrame:
    """What the seed reported beside what aeflow measured for the same configuration:
    one row per ``reported`` entry with the seed's value, aeflow's mean over seeds with
    its 95 % interval (:class:`aeflow.stats.Estimate`; diverged runs left out), the
    difference replicated − reported, and whether the reported value lies inside the
    interval ("yes", "no", or "no interval" with fewer than two seeds)."""
    import math

    import pandas as pd

    from aeflow import stats

    rows = []
    for r in study.get("reported") or []:
        table = autoencoder_metrics if r["model"] == "autoencoder" else classifier_metrics
        runs = table[table["model_id"] == r["id"]]
        if "diverged" in runs:
            runs = runs[~runs["diverged"].astype(bool)]
        est = stats.Estimate.of(runs[r["metric"]].tolist())
        if est.n < 2:
            inside = "no interval"
        else:
            inside = "yes" if est.low <= r["value"] <= est.high else "no"
        rows.append({
            "source": r["source"],
            "model": r["model"],
            "configuration": r["label"],
            "metric": r["metric"],
            "reported": r["value"],
            "replicated mean": est.mean,
            "95 % low": est.low,
            "95 % high": est.high,
            "seeds": est.n,
            "difference": est.mean - r["value"] if est.n else math.nan,
            "reported inside interval": inside,
        })  # fmt: skip
    columns = ["source", "model", "configuration", "metric", "reported", "replicated mean",
               "95 % low", "95 % high", "seeds", "difference", "reported inside interval"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _labelled(metrics: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    import pandas as pd

    rows = metrics[metrics["model_id"].isin(list(labels))].copy()
    rows.insert(0, "configuration", rows["model_id"].map(labels))
    order = list(dict.fromkeys(labels.values()))
    rows["configuration"] = pd.Categorical(rows["configuration"], categories=order, ordered=True)
    return rows


def summary_tables(
    study: dict, autoencoder_metrics: pd.DataFrame, classifier_metrics: pd.DataFrame
) -> list[tuple[str, pd.DataFrame]]:
    """Mean, sd and 95 % interval over seeds of each configuration's metrics: the
    autoencoders' test MSE and final train/validation losses (seed 004's table 3) and
    their probes' test accuracies (k-NN, linear), the classifiers' test accuracy,
    macro-F1 and final validation accuracy."""
    from aeflow import tables

    out = []
    if study["autoencoders"]:
        rows = _labelled(autoencoder_metrics, study["autoencoders"])
        values = ["test_mse", "final_train_loss", "final_validation_loss", "epochs_run"]
        values += [c for c in PROBE_COLUMNS if c in rows]
        out.append(("Autoencoders", tables.summarise(rows, ["configuration"], values)))
    if study["classifiers"]:
        rows = _labelled(classifier_metrics, study["classifiers"])
        values = ["test_accuracy", "test_macro_f1", "final_validation_accuracy", "epochs_run"]
        by = ["initialisation", "configuration"]
        out.append(("Classifiers", tables.summarise(rows, by, values)))
    return out


def differences_from_base(
    study: dict, autoencoder_metrics: pd.DataFrame, classifier_metrics: pd.DataFrame
) -> pd.DataFrame:
    """Every configuration against the study's base (classifiers: against the base with
    the same initialisation), paired by seed: the difference in test MSE (autoencoders)
    or test accuracy (classifiers) with its 95 % interval, and whether it is settled."""
    import pandas as pd

    from aeflow import stats

    rows = []
    pairs = []
    if study["base_autoencoder"]:
        base = study["base_autoencoder"]
        for model_id, label in study["autoencoders"].items():
            if model_id != base:
                pairs.append(("autoencoder", "", label, model_id, base))
    for init, base in study["base_classifiers"].items():
        if base is None:
            continue
        for model_id, label in study["classifiers"].items():
            if model_id != base and study["initialisations"][model_id] == init:
                pairs.append(("classifier", init, label, model_id, base))
    for kind, init, label, model_id, base in pairs:
        metric, better = PRIMARY[kind]
        table = autoencoder_metrics if kind == "autoencoder" else classifier_metrics
        arms = table[table["model_id"].isin([model_id, base])]
        diff = stats.paired_difference(arms, "model_id", model_id, base, metric)
        verdict = stats.verdict(diff, "positive" if better == "higher" else "negative")
        outcome = {"holds": "better", "contradicted": "worse"}.get(verdict, "not settled")
        rows.append({
            "model": kind,
            "initialisation": init,
            "configuration": label,
            "difference from base": f"{metric}: {_metric_text(metric, diff)}",
            "than the base": outcome,
        })  # fmt: skip
    columns = ["model", "initialisation", "configuration", "difference from base", "than the base"]
    return pd.DataFrame(rows, columns=columns)
