"""What a study found, at report time: its claims' verdicts, the seed's reported
numbers beside aeflow's, summary tables and differences from the base, computed from
the tidy tables and the plain-data study descriptions of
:func:`aeflow.plan.studies.expand_studies`.

A claim's measure (a column of the metrics tables, a generalisation gap, or a
history-derived value: :func:`measure_runs`) is compared paired by seed with its 95 %
interval (:mod:`aeflow.report.stats`); :func:`claim_verdicts`, :func:`summary_tables` and
:func:`differences_from_base` make a study's report section. Imports flow one way:
this module uses :mod:`aeflow.plan.studies`, never the reverse (parse time imports no pandas).
"""

from __future__ import annotations

import math

import pandas as pd

from aeflow.plan.studies import column_unit
from aeflow.report import stats, tables

# The metric a comparison against the base uses, and which direction is better.
PRIMARY = {"autoencoder": ("test_mse", "lower"), "classifier": ("test_accuracy", "higher")}
# The probes of an autoencoder's frozen latent (aeflow.run.probes), in its study's summary.
PROBE_COLUMNS = ("test_knn_accuracy", "test_linear_probe_accuracy")


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

    Columns and gaps come from the metrics table; ``epochs_to``, ``best``,
    ``epoch_of_best`` and ``worsening`` from the histories table (the first epoch whose
    value is at or below a loss threshold, at or above an accuracy one; the lowest loss
    or highest accuracy over the epochs, the first epoch that has it, and how much worse
    the last epoch's value is than it). An ``epochs_to`` with a ``reference_id`` takes
    its threshold per seed: that run's value at its last epoch (a run of a seed the
    reference lacks gets none: NaN)."""
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
    reference = measure.get("reference_id")
    h = histories[
        histories["model_id"].isin([*model_ids, *([reference] if reference else [])])
        & (histories["split"] == measure["split"])
        & (histories["metric"] == measure["metric"])
    ].sort_values("epoch")
    lower = measure["metric"] == "loss"
    thresholds = {}
    if reference is not None:  # the reference run's last value, per seed
        last = h[h["model_id"] == reference].groupby("seed")["value"].last()
        thresholds = last.to_dict()
    values = {}
    for (model_id, seed), run in h[h["model_id"].isin(list(model_ids))].groupby(
        ["model_id", "seed"]
    ):
        if kind == "best":
            values[model_id, seed] = (run["value"].min() if lower else run["value"].max(), False)
            continue
        if kind == "epoch_of_best":  # the first epoch with the best value
            best = run["value"].idxmin() if lower else run["value"].idxmax()
            values[model_id, seed] = (float(run.loc[best, "epoch"]), False)
            continue
        if kind == "worsening":  # last epoch's value, worse than the best by
            last = float(run["value"].iloc[-1])
            best = run["value"].min() if lower else run["value"].max()
            values[model_id, seed] = (last - best if lower else best - last, False)
            continue
        target = measure["value"] if reference is None else thresholds.get(seed, math.nan)
        if math.isnan(target):
            continue
        hit = run["value"] <= target if lower else run["value"] >= target
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
    m = c["measure"]
    diff, cens_a, cens_b, n = _paired(m, c["a"], c["b"], metrics, histories)
    sign = +1 if c["better"] == "higher" else -1
    verdict = stats.verdict(diff, "positive" if sign > 0 else "negative")
    side = sign if verdict == "holds" else -sign
    verdict = _censoring_verdict(verdict, {side}, cens_a, cens_b)
    measured = (f"{m['label']}: ({c['a_label']}) − ({c['b_label']}) = {_unit_text(m['unit'], diff)}"
                + _censored_text(n, cens_a, cens_b, c["a_label"], c["b_label"]))  # fmt: skip
    return measured, verdict, stats.p_value(diff)


def _equivalence(c, metrics, histories):
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
    return measured, verdict, stats.equivalence_p(diff, c["margin"])


def _level_text(unit: str, estimate: stats.Estimate) -> str:
    """A measure's level (not a difference): accuracies in percent."""
    if unit == "fraction":
        return estimate.text(100, " %")
    return _unit_text(unit, estimate)


def _bounds_text(unit: str, bounds: dict) -> str:
    def shown(x):
        scale, suffix = {"fraction": (100, " %"), "epochs": (1, " epochs"),
                         "seconds": (1, " s")}.get(unit, (1, ""))  # fmt: skip
        return f"{x * scale:g}{suffix}"

    if len(bounds) == 2:
        return f"between {shown(bounds['above'])} and {shown(bounds['below'])}"
    key, x = next(iter(bounds.items()))
    return f"{key} {shown(x)}"


def _value(c, metrics, histories):
    """One configuration's measure against a bound: the mean over seeds with its 95 %
    interval below ``below`` (holds), above it (contradicted); above ``above``; or, with
    both, inside [above, below] (:func:`aeflow.report.stats.equivalence_verdict` about the
    middle). Censored values (thresholds never reached) count as lower bounds."""
    m, bounds = c["measure"], c["bounds"]
    runs = measure_runs(m, [c["configuration"]], metrics, histories)
    ok = runs[~runs["diverged"]]
    censored = int(ok["censored"].sum())
    est = stats.Estimate.of(ok["value"].tolist())
    if len(bounds) == 2:
        middle = (bounds["below"] + bounds["above"]) / 2
        half = (bounds["below"] - bounds["above"]) / 2
        verdict = stats.equivalence_verdict(_shifted(est, middle), half)
        p = stats.equivalence_p(_shifted(est, middle), half)
        if verdict == "holds":
            sides = {+1, -1}
        else:
            sides = {+1} if est.n and est.low > bounds["below"] else {-1}
    else:
        key, bound = next(iter(bounds.items()))
        claim = "negative" if key == "below" else "positive"
        verdict = stats.verdict(_shifted(est, bound), claim)
        p = stats.p_value(_shifted(est, bound))
        holds_side = -1 if key == "below" else +1
        sides = {holds_side if verdict == "holds" else -holds_side}
    verdict = _censoring_verdict(verdict, sides, censored, 0)
    measured = f"{m['label']} of ({c['label']}) = {_level_text(m['unit'], est)}; claimed "
    measured += _bounds_text(m["unit"], bounds)
    if censored:
        measured += f"; never reached in {censored} of {est.n} runs, counted as the epochs run + 1"
    return measured, verdict, p


def _shifted(est: stats.Estimate, by: float) -> stats.Estimate:
    """``est`` − ``by``: the same spread about a mean moved by ``by``."""
    return stats.Estimate(est.mean - by, est.sd, est.n, est.low - by, est.high - by)


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
    if confusion is None:
        raise ValueError(f"the claim {c['claim']!r} needs the confusion-matrix table")
    names, top, row = c["classes"]["names"], c["classes"]["top"], c["classes"].get("row")
    runs = classifier_metrics[classifier_metrics["model_id"] == c["configuration"]]
    ok = runs[~runs["diverged"].astype(bool)] if "diverged" in runs else runs
    by_seed = confusion_rates(confusion, c["configuration"], ok["seed"])
    margins = []
    rows = [row] if row is not None else names

    def among(t, p):  # a cell the claim names
        return p in names if row is not None else (t in names and p in names)

    for rates in by_seed.values():
        unknown = [n for n in [*names, *rows] if n not in rates.index]
        if unknown:
            raise ValueError(f"claim {c['claim']!r}: no class {', '.join(unknown)} in the table")
        cells = [(t, p) for t in rates.index for p in rates.columns if t != p]
        if row is not None:
            cells = [(t, p) for t, p in cells if t == row]
        inside = sorted((rates.loc[t, p] for t, p in cells if among(t, p)), reverse=True)
        outside = [rates.loc[t, p] for t, p in cells if not among(t, p)]
        margins.append(float(inside[top - 1] - max(outside)))
    est = stats.Estimate.of(margins)
    where = f"row {row}: " if row is not None else ""
    if by_seed:
        mean = sum(by_seed.values()) / len(by_seed)
        if row is not None:
            mean = mean.loc[[row]]
        cells = ", ".join(
            f"{t} → {p} {100 * r:.1f} %" + ("" if among(t, p) else " (outside)")
            for t, p, r in top_confusions(mean, top)
        )
    else:
        cells = "no confusion rows"
    measured = (
        f"({c['label']}): {where}largest {top} confusions of the mean matrix (% of the true "
        f"class): {cells}; per seed, the {_ordinal(top)} largest "
        f"{'to' if row is not None else 'among'} {', '.join(names)} − the largest "
        f"{'other' if row is not None else 'outside them'} = {est.text(100, ' points')}"
    )
    return measured, stats.verdict(est, "positive"), stats.p_value(est)


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
    *contradicted* or *not settled* for every kind, its p-value on the same t statistic
    and, across the study's claims, the Holm-adjusted p and verdict
    (:func:`aeflow.report.stats.with_holm`; the raw verdict kept beside it).

    A comparison: a − b paired by seed with its 95 % interval, on the claimed side of 0
    (:func:`aeflow.report.stats.verdict`). An equivalence: the interval inside ±margin
    (:func:`aeflow.report.stats.equivalence_verdict`). A value claim: one configuration's mean
    and interval against its bound(s) (:func:`_value`). A confusion claim: the top-k
    confusions of the classifier among the named classes, or of one true class (its
    ``row``) to the named classes, seed by seed (:func:`_confusion`).
    ``histories`` and ``confusion`` are needed by claims on history-derived measures and
    by confusion claims."""
    rows = []
    for c in study["claims"]:
        table = autoencoder_metrics if c["model"] == "autoencoder" else classifier_metrics
        kind = c.get("kind", "comparison")
        if kind == "confusion":
            measured, verdict, p = _confusion(c, classifier_metrics, confusion)
            row = c["classes"].get("row")
            kind_text = f"confusion (top {c['classes']['top']}{f' of row {row}' if row else ''})"
        elif kind == "value":
            measured, verdict, p = _value(c, table, histories)
            kind_text = f"value ({_bounds_text(c['measure']['unit'], c['bounds'])})"
        elif kind == "equivalence":
            measured, verdict, p = _equivalence(c, table, histories)
            kind_text = f"equivalence ({_margin_text(c['measure']['unit'], c['margin'])})"
        else:
            measured, verdict, p = _comparison(c, table, histories)
            kind_text = f"comparison ({c['better']})"
        rows.append({
            "source": c["source"],
            "seed says": c.get("quote", ""),
            "claim": c["claim"],
            "kind": kind_text,
            "measured": measured,
            "verdict": verdict,
            "p": p,
        })  # fmt: skip
    columns = ["source", "seed says", "claim", "kind", "measured", "verdict", "p"]
    out = stats.with_holm(pd.DataFrame(rows, columns=columns))
    empty = [c for c in ("source", "seed says") if not out[c].astype(bool).any()]
    return out.drop(columns=empty)


def seeds_text(study: dict) -> str:
    """The study's own replicate seeds in words ("" when it uses the top-level ones)."""
    parts = []
    if study.get("seeds"):
        parts.append(f"{len(study['seeds'])} replicate seeds ({_seed_list(study['seeds'])})")
    for bound, seeds in study.get("seeds_by_labels") or []:
        parts.append(f"{len(seeds)} seeds ({_seed_list(seeds)}) up to {bound:,} labels")
    return ("This study trains with " + "; ".join(parts) + ".") if parts else ""


def _seed_list(seeds) -> str:
    seeds = sorted(seeds)
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def not_measurable_table(study: dict) -> pd.DataFrame:
    """The seed's conclusions that no claim checks here, with why."""
    rows = [{"source": e["source"], "seed says": e["quote"], "why not here": e["reason"]}
            for e in study.get("not_measurable") or []]  # fmt: skip
    return pd.DataFrame(rows, columns=["source", "seed says", "why not here"])


# The seed reports measured their test numbers on Fashion-MNIST's whole test set (reports
# 000 and 001 show confusion matrices summing to 10 000 images); their other numbers
# (train, validation) on sets whose size they do not give.
SEED_TEST_IMAGES = 10_000
CONSISTENT, OUTSIDE = "consistent with one run", "outside what one run gives"
NEEDS_SEEDS = f"needs ≥ {stats.MIN_SEEDS} seeds"


def _bounds(metric: str):
    return stats.ACCURACY_BOUNDS if "accuracy" in metric else None


def reported_se(metric: str, value: float) -> float:
    """The reported value's own sampling error: the binomial standard error of an
    accuracy on the :data:`SEED_TEST_IMAGES` test images it was measured on; NaN for a
    number that is not a test-set accuracy (its set's size is unknown, or it is no
    proportion)."""
    if metric.startswith("test_") and "accuracy" in metric:
        return stats.binomial_se(value, SEED_TEST_IMAGES)
    return math.nan


def one_run_verdict(reported: float, low: float, high: float) -> str:
    """Whether one more run of aeflow's could give the ``reported`` value: inside the
    95 % prediction interval [``low``, ``high``] for one run, outside it, or no verdict
    (no interval: fewer than :data:`aeflow.report.stats.MIN_SEEDS` seeds)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return NEEDS_SEEDS
    return CONSISTENT if low <= reported <= high else OUTSIDE


def reported_beside_replicated(
    study: dict, autoencoder_metrics: pd.DataFrame, classifier_metrics: pd.DataFrame
) -> pd.DataFrame:
    """What the seed reported beside what aeflow measured for the same configuration.

    A reported number is one run, so it is compared with where one more run of aeflow's
    would land: the 95 % prediction interval for a single run over aeflow's seeds
    (:func:`aeflow.report.stats.prediction_interval`; diverged runs left out; accuracies
    clipped to [0, 1]), not with the interval of their mean. One row per ``reported``
    entry: the seed's value with its own test-set standard error (:func:`reported_se`),
    aeflow's mean with its 95 % interval, the prediction interval, the difference
    replicated − reported, and the verdict (:func:`one_run_verdict`)."""
    rows = []
    for r in study.get("reported") or []:
        table = autoencoder_metrics if r["model"] == "autoencoder" else classifier_metrics
        runs = table[table["model_id"] == r["id"]]
        if "diverged" in runs:
            runs = runs[~runs["diverged"].astype(bool)]
        est = stats.Estimate.of(runs[r["metric"]].tolist())
        bounds = _bounds(r["metric"])
        low, high = stats.clip(est.low, est.high, bounds)
        one_low, one_high = stats.prediction_interval(est, bounds=bounds)
        rows.append({
            "source": r["source"],
            "model": r["model"],
            "configuration": r["label"],
            "metric": r["metric"],
            "reported": r["value"],
            "reported test-set se": reported_se(r["metric"], r["value"]),
            "replicated mean": est.mean,
            "95 % low": low,
            "95 % high": high,
            "one run 95 % low": one_low,
            "one run 95 % high": one_high,
            "seeds": est.n,
            "difference": est.mean - r["value"] if est.n else math.nan,
            "reported against one run": one_run_verdict(r["value"], one_low, one_high),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=REPORTED_COLUMNS)


REPORTED_COLUMNS = ["source", "model", "configuration", "metric", "reported",
                    "reported test-set se", "replicated mean", "95 % low", "95 % high",
                    "one run 95 % low", "one run 95 % high", "seeds", "difference",
                    "reported against one run"]  # fmt: skip


def reported_display(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`reported_beside_replicated` as the report shows it: each row in its metric's
    unit, accuracies in percent as in the study's other tables (the seed's "92.37 % (se
    0.27, 10 000 test images)" beside aeflow's mean "90.84 % [90.10, 91.58]" and where one
    more run would land), the difference in points; other metrics to four significant
    digits."""

    def value(metric, x):
        if x is None or not math.isfinite(x):
            return "–"
        return f"{100 * x:.2f} %" if "accuracy" in metric else f"{x:.4g}"

    def difference(metric, x):
        if x is None or not math.isfinite(x):
            return "–"
        return f"{100 * x:+.2f} points" if "accuracy" in metric else f"{x:+.4g}"

    def interval(metric, low, high):
        if not (math.isfinite(low) and math.isfinite(high)):
            return "–"
        return f"[{value(metric, low)}, {value(metric, high)}]"

    rows = []
    for r in frame.to_dict("records"):
        m = r["metric"]
        se = r["reported test-set se"]
        images = f"{SEED_TEST_IMAGES:,}".replace(",", " ")
        own = (f" (se {100 * se:.2f} points, {images} test images)" if math.isfinite(se)
               else " (se unknown: not a test-set accuracy)")  # fmt: skip
        mean = value(m, r["replicated mean"])
        if math.isfinite(r["95 % low"]):
            mean += " " + interval(m, r["95 % low"], r["95 % high"])
        rows.append({
            "source": r["source"],
            "model": r["model"],
            "configuration": r["configuration"],
            "metric": m,
            "reported (one run)": value(m, r["reported"]) + own,
            "replicated: mean [95 % interval of the mean]": mean,
            "one more run: 95 % prediction interval": interval(
                m, r["one run 95 % low"], r["one run 95 % high"]),
            "seeds": r["seeds"],
            "difference (replicated − reported)": difference(m, r["difference"]),
            "reported value": r["reported against one run"],
        })  # fmt: skip
    columns = ["source", "model", "configuration", "metric", "reported (one run)",
               "replicated: mean [95 % interval of the mean]",
               "one more run: 95 % prediction interval", "seeds",
               "difference (replicated − reported)", "reported value"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _labelled(metrics: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
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
            "difference from base": f"{metric}: {_unit_text(column_unit(metric), diff)}",
            "than the base": outcome,
        })  # fmt: skip
    columns = ["model", "initialisation", "configuration", "difference from base", "than the base"]
    return pd.DataFrame(rows, columns=columns)
