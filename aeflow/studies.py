"""Named studies: each seed report's experiments as grids around the shared bases,
with the claims it made checked against the tables.

A study (``config['studies'][name]``) has optional ``autoencoder`` and ``classifier``
blocks shaped like the top-level ones, whose ``base`` entries are *overrides* of the
top-level bases, and ``claims`` of three kinds: a *comparison* ("configuration a beats
configuration b on a measure"), an *equivalence* ("no notable difference between a and
b: |a − b| within a margin") and a *confusion* claim ("the largest confusions of a
classifier are among these classes"). A measure is a column of the metrics tables, a
generalisation gap, the epochs a run took to reach a value, the best value over
the epochs or the epoch that reached it (:data:`HISTORY_QUANTITIES`).
:func:`expand_studies` turns them into configurations (ids as in :mod:`aeflow.grid`, so
a configuration shared by two studies trains once) and plain-data study descriptions;
:func:`claim_verdicts`, :func:`summary_tables` and :func:`differences_from_base`
compute a study's report section from the tables.
"""

from __future__ import annotations

import math
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

CLAIM_KINDS = ("comparison", "equivalence", "confusion")
# The columns of the metrics tables a claim may compare, by model kind.
COLUMNS = {
    "autoencoder": ("test_mse", "final_train_loss", "final_validation_loss", "train_seconds"),
    "classifier": ("test_accuracy", "test_macro_f1", "test_loss", "final_train_loss",
                   "final_train_accuracy", "final_validation_loss",
                   "final_validation_accuracy", "train_seconds"),
}  # fmt: skip
# Generalisation gaps, oriented so that a larger gap is more overfitting.
GAPS = {
    "gap_accuracy": ("final_train_accuracy", "final_validation_accuracy"),  # train − validation
    "gap_loss": ("final_validation_loss", "final_train_loss"),  # validation − train
}
# What a history-derived measure reads: split_metric of the histories table.
HISTORY_QUANTITIES = ("train_loss", "train_accuracy", "validation_loss", "validation_accuracy")
# The keys each claim kind takes besides claim, quote, source, model and kind.
KIND_KEYS = {
    "comparison": {"a", "b", "metric", "better"},
    "equivalence": {"a", "b", "metric", "margin"},
    "confusion": {"configuration", "classes", "top"},
}


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
    classes = (config.get("data") or {}).get("classes")
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
                           inits, train_size, classes)
            for k, claim in enumerate(block.get("claims") or [])
        ]  # fmt: skip
        study["reported"] = [
            _resolve_reported(entry, f"{where}.reported[{k}]", ae_grid, clf_grid, ae_base,
                              clf_base, inits, train_size)
            for k, entry in enumerate(block.get("reported") or [])
        ]  # fmt: skip
        study["not_measurable"] = [
            {"quote": entry["quote"], "source": entry.get("source", ""), "reason": entry["reason"]}
            for entry in block.get("not_measurable") or []
        ]
        study["confusion_classifiers"] = _confusion_classifiers(study, clf_grid, clf_base)
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


def _confusion_classifiers(study: dict, clf_grid: dict, clf_base: dict | None) -> dict:
    """{figure label: classifier id}: the study's base classifiers (by initialisation),
    then every classifier a claim or a reported number names, once each, in config
    order; the study's confusion-matrix figure shows them all."""
    several = len(study["base_classifiers"]) > 1
    out = {init: i for init, i in study["base_classifiers"].items() if i is not None}
    named = [c[arm] for c in study["claims"] if c["model"] == "classifier"
             for arm in ("a", "b", "configuration") if arm in c]  # fmt: skip
    named += [r["id"] for r in study["reported"] if r["model"] == "classifier"]
    for model_id in named:
        if model_id in out.values():
            continue
        params = clf_grid[model_id]
        label = grid.describe(params, clf_base)
        if several:
            label = params["initialisation"] + ("" if label == "base" else f", {label}")
        out[label] = model_id
    return out


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


def _resolve_claim(
    claim, where, ae_grid, clf_grid, ae_base, clf_base, inits, train_size, classes=None
):
    """A claim as plain data: its kind, its arms as configuration ids with labels, and its
    measure (:func:`_measure`); a GridError naming ``where`` for keys that do not fit
    the kind, unknown configurations, measures or classes."""
    kind = claim.get("kind", "comparison")
    if kind not in CLAIM_KINDS:
        raise GridError(f"{where}.kind: {kind!r} unknown; allowed: {', '.join(CLAIM_KINDS)}")
    model = claim["model"]
    needed = KIND_KEYS[kind]
    missing = sorted(needed - set(claim))
    if missing:
        raise GridError(f"{where}: a {kind} claim needs {', '.join(missing)}")
    other = set().union(*KIND_KEYS.values()) - needed
    stray = sorted(other & set(claim))
    if stray:
        raise GridError(f"{where}: {', '.join(stray)} do(es) not belong to a {kind} claim")
    configurations = ae_grid if model == "autoencoder" else clf_grid
    base = ae_base if model == "autoencoder" else clf_base
    out = {
        "kind": kind,
        "claim": claim["claim"],
        "quote": claim.get("quote", ""),
        "source": claim.get("source", ""),
        "model": model,
    }

    def arm(key):
        return _resolve_arm(model, claim[key], f"{where}.{key}", ae_grid, clf_grid, ae_base,
                            clf_base, inits, train_size)  # fmt: skip

    if kind == "confusion":
        if model != "classifier":
            raise GridError(f"{where}.model: a confusion claim is about a classifier")
        out["configuration"] = arm("configuration")
        out["label"] = _arm_label(model, claim["configuration"],
                                  configurations[out["configuration"]], base)  # fmt: skip
        out["classes"] = _confusion_classes(claim, where, classes)
        return out
    ids = {key: arm(key) for key in ("a", "b")}
    if ids["a"] == ids["b"]:
        raise GridError(f"{where}: arms a and b are the same configuration")
    out.update(ids)
    for key in ("a", "b"):
        out[f"{key}_label"] = _arm_label(model, claim[key], configurations[ids[key]], base)
    out["measure"] = _measure(claim["metric"], model, f"{where}.metric")
    out["metric"] = out["measure"]["label"]
    if kind == "comparison":
        out["better"] = claim["better"]
    else:
        margin = float(claim["margin"])
        if not margin > 0:
            raise GridError(f"{where}.margin: must be above 0, got {claim['margin']!r}")
        out["margin"] = margin
    return out


def _confusion_classes(claim, where, classes):
    names = list(claim["classes"])
    top = int(claim["top"])
    if len(set(names)) < 2 or len(set(names)) != len(names):
        raise GridError(f"{where}.classes: at least two different class names")
    if classes is not None:
        unknown = [c for c in names if c not in classes]
        if unknown:
            raise GridError(
                f"{where}.classes: {', '.join(map(repr, unknown))} not a class of the data "
                f"(data.classes: {', '.join(classes)})"
            )
    pairs = len(names) * (len(names) - 1)
    if not 1 <= top <= pairs:
        raise GridError(
            f"{where}.top: between 1 and {pairs} (the ordered pairs of {len(names)} classes)"
        )
    return {"names": names, "top": top}


def _measure(metric, model: str, where: str) -> dict:
    """A claim's ``metric`` as plain data: ``{"type": "column" | "gap" | "epochs_to" |
    "best" | "epoch_of_best", ..., "label": text, "unit": "fraction" | "epochs" |
    "seconds" | "value"}``."""
    accuracy_ok = model == "classifier"

    def check_quantity(quantity):
        if quantity not in HISTORY_QUANTITIES:
            raise GridError(
                f"{where}: {quantity!r} unknown; allowed: {', '.join(HISTORY_QUANTITIES)}"
            )
        if quantity.endswith("accuracy") and not accuracy_ok:
            raise GridError(f"{where}: autoencoders have no {quantity}")
        return quantity.split("_", 1)

    if isinstance(metric, str):
        if metric in GAPS:
            if metric == "gap_accuracy" and not accuracy_ok:
                raise GridError(f"{where}: autoencoders have no accuracy (use gap_loss)")
            first, second = GAPS[metric]
            unit = "fraction" if metric == "gap_accuracy" else "value"
            return {"type": "gap", "columns": [first, second], "unit": unit,
                    "label": f"{metric} ({first} − {second})"}  # fmt: skip
        if metric not in COLUMNS[model]:
            raise GridError(
                f"{where}: {metric!r} is not a measure of {model}s; allowed: "
                f"{', '.join([*COLUMNS[model], *GAPS])}, {{epochs_to: …}}, {{best: …}}, "
                "{epoch_of_best: …}"
            )
        return {"type": "column", "column": metric, "unit": _unit(metric), "label": metric}
    if isinstance(metric, dict) and set(metric) == {"epochs_to"}:
        target = metric["epochs_to"]
        if not isinstance(target, dict) or len(target) != 1:
            raise GridError(f"{where}.epochs_to: one quantity and its value, e.g. "
                            "{validation_accuracy: 0.85}")  # fmt: skip
        ((quantity, value),) = target.items()
        split, name = check_quantity(quantity)
        sign = "≤" if name == "loss" else "≥"
        return {"type": "epochs_to", "split": split, "metric": name, "value": float(value),
                "unit": "epochs", "label": f"epochs to {split} {name} {sign} {value:g}"}  # fmt: skip
    if isinstance(metric, dict) and set(metric) == {"best"}:
        split, name = check_quantity(metric["best"])
        word = "lowest" if name == "loss" else "highest"
        unit = "fraction" if name == "accuracy" else "value"
        return {"type": "best", "split": split, "metric": name, "unit": unit,
                "label": f"{word} {split} {name} over the epochs"}  # fmt: skip
    if isinstance(metric, dict) and set(metric) == {"epoch_of_best"}:
        split, name = check_quantity(metric["epoch_of_best"])
        word = "lowest" if name == "loss" else "highest"
        return {"type": "epoch_of_best", "split": split, "metric": name, "unit": "epochs",
                "label": f"epoch of the {word} {split} {name}"}  # fmt: skip
    raise GridError(f"{where}: {metric!r} is not a measure")


def _arm_label(kind, overrides, params, base):
    label = grid.describe(params, base)
    if kind == "classifier" and "initialisation" in overrides:
        return (
            f"{params['initialisation']}, {label}" if label != "base" else params["initialisation"]
        )
    return label


# --------------------------------------------------------------------------- analysis


def _unit(column: str) -> str:
    """The unit a metrics-table column's differences are shown in."""
    if column == "train_seconds":
        return "seconds"
    return "fraction" if "accuracy" in column or "f1" in column else "value"


def _unit_text(unit: str, estimate: stats.Estimate) -> str:
    if unit == "fraction":
        return estimate.text(100, " points")
    if unit == "epochs":
        return estimate.text(1, " epochs", digits=1)
    if unit == "seconds":
        return estimate.text(1, " s", digits=1)
    return estimate.text(1, "", digits=5)


def _margin_text(unit: str, margin: float) -> str:
    if unit == "fraction":
        return f"±{100 * margin:.2f} points"
    if unit in ("epochs", "seconds"):
        return f"±{margin:g} {'epochs' if unit == 'epochs' else 's'}"
    return f"±{margin:g}"


def measure_runs(
    measure: dict, model_ids, metrics: pd.DataFrame, histories: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per run (``model_id``, ``seed``) of ``model_ids``: its ``diverged`` flag,
    the ``value`` of the measure and whether that value is ``censored`` (an ``epochs_to``
    threshold never reached: the value is then the epochs run + 1, a lower bound).

    Columns and gaps come from the metrics table; ``epochs_to`` and ``best`` from the
    histories table (the first epoch whose value is at or below a loss threshold, at
    or above an accuracy one; the lowest loss or highest accuracy over the epochs, and
    the first epoch that has it)."""
    runs = metrics[metrics["model_id"].isin(list(model_ids))]
    out = runs[["model_id", "seed"]].copy()
    out["diverged"] = runs["diverged"].astype(bool) if "diverged" in runs else False
    out["censored"] = False
    kind = measure["type"]
    if kind == "column":
        out["value"] = runs[measure["column"]].astype(float)
        return out.reset_index(drop=True)
    if kind == "gap":
        first, second = measure["columns"]
        out["value"] = runs[first].astype(float) - runs[second].astype(float)
        return out.reset_index(drop=True)
    if histories is None:
        raise ValueError(f"the measure {measure['label']!r} needs the histories table")
    h = histories[
        histories["model_id"].isin(list(model_ids))
        & (histories["split"] == measure["split"])
        & (histories["metric"] == measure["metric"])
    ].sort_values("epoch")
    lower = measure["metric"] == "loss"
    values = {}
    for (model_id, seed), run in h.groupby(["model_id", "seed"]):
        if kind == "best":
            values[model_id, seed] = (run["value"].min() if lower else run["value"].max(), False)
            continue
        if kind == "epoch_of_best":  # the first epoch with the best value
            best = run["value"].idxmin() if lower else run["value"].idxmax()
            values[model_id, seed] = (float(run.loc[best, "epoch"]), False)
            continue
        hit = run["value"] <= measure["value"] if lower else run["value"] >= measure["value"]
        if hit.any():
            values[model_id, seed] = (float(run.loc[hit, "epoch"].iloc[0]), False)
        else:
            values[model_id, seed] = (float(run["epoch"].max() + 1), True)
    keys = list(zip(out["model_id"], out["seed"]))
    out["value"] = [values.get(k, (math.nan, False))[0] for k in keys]
    out["censored"] = [values.get(k, (math.nan, False))[1] for k in keys]
    return out.reset_index(drop=True)


def _paired(measure, a, b, metrics, histories):
    """(a − b paired by seed, censored runs of a, of b, among the pairs used)."""
    from aeflow import stats

    runs = measure_runs(measure, [a, b], metrics, histories)
    diff = stats.paired_difference(runs, "model_id", a, b, "value")
    ok = runs[~runs["diverged"]]
    seeds = set(ok.loc[ok["model_id"] == a, "seed"]) & set(ok.loc[ok["model_id"] == b, "seed"])
    paired = ok[ok["seed"].isin(seeds)]
    censored = {arm: int(paired.loc[paired["model_id"] == arm, "censored"].sum()) for arm in (a, b)}
    return diff, censored[a], censored[b], len(seeds)


def _censoring_verdict(verdict: str, sides: set[int], censored_a: int, censored_b: int) -> str:
    """A settled verdict only where never-reached thresholds cannot have made it: a
    censored value (epochs run + 1) is a lower bound, so censored runs of a can only
    pull a − b down (an interval above a bound stays valid) and those of b only up.
    ``sides``: the sides of the bound(s) the verdict rests on (+1 above, −1 below)."""
    if not (censored_a or censored_b) or verdict.startswith("not settled"):
        return verdict
    allowed = set()
    if not censored_b:
        allowed.add(+1)  # a's censoring can only understate a − b: "above" stands
    if not censored_a:
        allowed.add(-1)
    if sides <= allowed:
        return verdict
    return "not settled (a threshold was not reached in some runs)"


def _censored_text(n_pairs, censored_a, censored_b, a_label, b_label):
    if not (censored_a or censored_b):
        return ""
    return (
        f"; never reached in {censored_a} of {n_pairs} runs of ({a_label}) and "
        f"{censored_b} of {n_pairs} of ({b_label}), counted as the epochs run + 1"
    )


def _comparison(c, metrics, histories):
    from aeflow import stats

    m = c["measure"]
    diff, cens_a, cens_b, n = _paired(m, c["a"], c["b"], metrics, histories)
    sign = +1 if c["better"] == "higher" else -1
    verdict = stats.verdict(diff, "positive" if sign > 0 else "negative")
    side = sign if verdict == "holds" else -sign
    verdict = _censoring_verdict(verdict, {side}, cens_a, cens_b)
    measured = (f"{m['label']}: ({c['a_label']}) − ({c['b_label']}) = {_unit_text(m['unit'], diff)}"
                + _censored_text(n, cens_a, cens_b, c["a_label"], c["b_label"]))  # fmt: skip
    return measured, verdict


def _equivalence(c, metrics, histories):
    from aeflow import stats

    m = c["measure"]
    diff, cens_a, cens_b, n = _paired(m, c["a"], c["b"], metrics, histories)
    verdict = stats.equivalence_verdict(diff, c["margin"])
    if verdict == "holds":
        sides = {+1, -1}  # inside: above −margin and below +margin
    else:
        sides = {+1} if diff.n and diff.low > c["margin"] else {-1}
    verdict = _censoring_verdict(verdict, sides, cens_a, cens_b)
    measured = (
        f"{m['label']}: ({c['a_label']}) − ({c['b_label']}) = {_unit_text(m['unit'], diff)}; "
        f"margin {_margin_text(m['unit'], c['margin'])}"
        + _censored_text(n, cens_a, cens_b, c["a_label"], c["b_label"])
    )
    return measured, verdict


def confusion_rates(confusion: pd.DataFrame, model_id: str, seeds=None) -> dict:
    """{seed: row-normalised confusion matrix (DataFrame, true × predicted class names,
    fractions of each true class)} of one classifier; only ``seeds`` when given."""
    rows = confusion[confusion["model_id"] == model_id]
    if seeds is not None:
        rows = rows[rows["seed"].isin(list(seeds))]
    names = rows.drop_duplicates("true_label").set_index("true_label")["true_name"].sort_index()
    out = {}
    for seed, run in rows.groupby("seed"):
        counts = run.pivot_table(index="true_label", columns="predicted_label", values="count",
                                 aggfunc="sum", fill_value=0)  # fmt: skip
        counts = counts.reindex(index=names.index, columns=names.index, fill_value=0)
        counts.index = list(names)
        counts.columns = list(names)
        totals = counts.sum(axis=1).replace(0, float("nan"))
        out[int(seed)] = counts.div(totals, axis=0).fillna(0.0)
    return out


def top_confusions(rates, k: int) -> list[tuple[str, str, float]]:
    """The ``k`` largest off-diagonal cells of a rate matrix: (true, predicted, rate)."""
    cells = [(t, p, float(rates.loc[t, p])) for t in rates.index for p in rates.columns if t != p]
    return sorted(cells, key=lambda cell: -cell[2])[:k]


def _confusion(c, classifier_metrics, confusion):
    """Per seed: the top-th largest confusion among the named classes minus the largest
    one outside them (positive: the top confusions all lie among them), its mean and
    95 % interval over seeds, and the verdict on its sign."""
    from aeflow import stats

    if confusion is None:
        raise ValueError(f"the claim {c['claim']!r} needs the confusion-matrix table")
    names, top = c["classes"]["names"], c["classes"]["top"]
    runs = classifier_metrics[classifier_metrics["model_id"] == c["configuration"]]
    ok = runs[~runs["diverged"].astype(bool)] if "diverged" in runs else runs
    by_seed = confusion_rates(confusion, c["configuration"], ok["seed"])
    margins = []
    for rates in by_seed.values():
        unknown = [n for n in names if n not in rates.index]
        if unknown:
            raise ValueError(f"claim {c['claim']!r}: no class {', '.join(unknown)} in the table")
        inside = sorted((rates.loc[t, p] for t in names for p in names if t != p), reverse=True)
        outside = [rates.loc[t, p] for t in rates.index for p in rates.columns
                   if t != p and not (t in names and p in names)]  # fmt: skip
        margins.append(float(inside[top - 1] - max(outside)))
    est = stats.Estimate.of(margins)
    if by_seed:
        mean = sum(by_seed.values()) / len(by_seed)
        cells = ", ".join(
            f"{t} → {p} {100 * r:.1f} %" + ("" if t in names and p in names else " (outside)")
            for t, p, r in top_confusions(mean, top)
        )
    else:
        cells = "no confusion rows"
    measured = (
        f"({c['label']}): largest {top} confusions of the mean matrix (% of the true class): "
        f"{cells}; per seed, the {_ordinal(top)} largest among "
        f"{', '.join(names)} − the largest outside them = {est.text(100, ' points')}"
    )
    return measured, stats.verdict(est, "positive")


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def claim_verdicts(
    study: dict,
    autoencoder_metrics: pd.DataFrame,
    classifier_metrics: pd.DataFrame,
    histories: pd.DataFrame | None = None,
    confusion: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The study's claims, each with what was measured and the computed verdict: *holds*,
    *contradicted* or *not settled* for every kind.

    A comparison: a − b paired by seed with its 95 % interval, on the claimed side of 0
    (:func:`aeflow.stats.verdict`). An equivalence: the interval inside ±margin
    (:func:`aeflow.stats.equivalence_verdict`). A confusion claim: the top-k confusions
    of the classifier among the named classes, seed by seed (:func:`_confusion`).
    ``histories`` and ``confusion`` are needed by claims on history-derived measures and
    by confusion claims."""
    import pandas as pd

    rows = []
    for c in study["claims"]:
        table = autoencoder_metrics if c["model"] == "autoencoder" else classifier_metrics
        kind = c.get("kind", "comparison")
        if kind == "confusion":
            measured, verdict = _confusion(c, classifier_metrics, confusion)
            kind_text = f"confusion (top {c['classes']['top']})"
        elif kind == "equivalence":
            measured, verdict = _equivalence(c, table, histories)
            kind_text = f"equivalence ({_margin_text(c['measure']['unit'], c['margin'])})"
        else:
            measured, verdict = _comparison(c, table, histories)
            kind_text = f"comparison ({c['better']})"
        rows.append({
            "source": c["source"],
            "seed says": c.get("quote", ""),
            "claim": c["claim"],
            "kind": kind_text,
            "measured": measured,
            "verdict": verdict,
        })  # fmt: skip
    columns = ["source", "seed says", "claim", "kind", "measured", "verdict"]
    out = pd.DataFrame(rows, columns=columns)
    empty = [c for c in ("source", "seed says") if not out[c].astype(bool).any()]
    return out.drop(columns=empty)


def not_measurable_table(study: dict) -> pd.DataFrame:
    """The seed's conclusions that no claim checks here, with why."""
    import pandas as pd

    rows = [{"source": e["source"], "seed says": e["quote"], "why not here": e["reason"]}
            for e in study.get("not_measurable") or []]  # fmt: skip
    return pd.DataFrame(rows, columns=["source", "seed says", "why not here"])


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


def reported_display(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`reported_beside_replicated` as the report shows it: each row in its metric's
    unit, accuracies in percent as in the study's other tables (the seed's "91,27 %"
    beside aeflow's "90.84 % [90.10, 91.58]"), the difference in points; other metrics
    to four significant digits."""
    import pandas as pd

    def value(metric, x):
        if x is None or not math.isfinite(x):
            return "–"
        return f"{100 * x:.2f} %" if "accuracy" in metric else f"{x:.4g}"

    def difference(metric, x):
        if x is None or not math.isfinite(x):
            return "–"
        return f"{100 * x:+.2f} points" if "accuracy" in metric else f"{x:+.4g}"

    rows = []
    for r in frame.to_dict("records"):
        m = r["metric"]
        interval = (f" [{value(m, r['95 % low'])}, {value(m, r['95 % high'])}]"
                    if math.isfinite(r["95 % low"]) else "")  # fmt: skip
        rows.append({
            "source": r["source"],
            "model": r["model"],
            "configuration": r["configuration"],
            "metric": m,
            "reported": value(m, r["reported"]),
            "replicated: mean [95 % interval]": value(m, r["replicated mean"]) + interval,
            "seeds": r["seeds"],
            "difference (replicated − reported)": difference(m, r["difference"]),
            "reported inside interval": r["reported inside interval"],
        })  # fmt: skip
    columns = ["source", "model", "configuration", "metric", "reported",
               "replicated: mean [95 % interval]", "seeds",
               "difference (replicated − reported)", "reported inside interval"]  # fmt: skip
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
    autoencoders' test MSE and final train/validation losses (report 004's table 3) and
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
            "difference from base": f"{metric}: {_unit_text(_unit(metric), diff)}",
            "than the base": outcome,
        })  # fmt: skip
    columns = ["model", "initialisation", "configuration", "difference from base", "than the base"]
    return pd.DataFrame(rows, columns=columns)
