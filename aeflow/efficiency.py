"""Label efficiency: where pretraining pays.

From the classifier metrics of a study that sweeps ``labels`` (the number of labelled
training images), computed, never typed: the test accuracy of each initialisation at
each size (mean over seeds, 95 % interval), the gain of each pretrained arm over
scratch at each size (paired by seed: the same seed draws the same labelled images for
every arm), the crossover (the largest size at which the gain's whole interval is
above zero), and the paragraph the report opens with.
"""

from __future__ import annotations

import math

import pandas as pd

from aeflow import stats

VALUE = "test_accuracy"
PRETRAINED = ("frozen", "finetune")
SCRATCH = "scratch"
ARM_TEXT = {
    "frozen": "the frozen pretrained encoder",
    "finetune": "fine-tuning the pretrained encoder",
}


class EfficiencyError(ValueError):
    """A table that cannot give a label-efficiency curve; the message says why."""


def study_rows(metrics: pd.DataFrame, model_ids, all_labels: int | None = None) -> pd.DataFrame:
    """The rows of ``model_ids`` with an integer ``labels`` column: a configuration that
    leaves ``labels`` out trained on all ``all_labels`` training images."""
    rows = metrics[metrics["model_id"].isin(list(model_ids))].copy()
    if rows.empty:
        raise EfficiencyError("no classifier metrics for the study's configurations")
    if "labels" not in rows:
        rows["labels"] = math.nan
    missing = rows["labels"].isna()
    if missing.any():
        if all_labels is None:
            raise EfficiencyError(
                "some configurations train on all labels but the training-set size is unknown"
            )
        rows.loc[missing, "labels"] = all_labels
    rows["labels"] = rows["labels"].astype(int)
    return rows


def curves(rows: pd.DataFrame, value: str = VALUE) -> pd.DataFrame:
    """Per initialisation and size: mean, 95 % interval and number of seeds of ``value``
    (diverged runs left out)."""
    ok = rows[~rows["diverged"].astype(bool)] if "diverged" in rows else rows
    out = []
    for (init, labels), group in ok.groupby(["initialisation", "labels"], sort=True):
        e = stats.Estimate.of(group[value])
        out.append({"initialisation": init, "labels": int(labels), "mean": e.mean,
                    "low": e.low, "high": e.high, "n": e.n})  # fmt: skip
    return pd.DataFrame(out, columns=["initialisation", "labels", "mean", "low", "high", "n"])


def gains(rows: pd.DataFrame, value: str = VALUE) -> pd.DataFrame:
    """Each pretrained arm minus scratch at each size, paired by seed, with its 95 %
    interval: columns initialisation, labels, mean, low, high, n."""
    inits = set(rows["initialisation"])
    if SCRATCH not in inits:
        raise EfficiencyError("the study has no scratch classifiers to compare against")
    out = []
    for init in [i for i in PRETRAINED if i in inits]:
        for labels in sorted(set(rows["labels"])):
            at = rows[(rows["labels"] == labels) & rows["initialisation"].isin([init, SCRATCH])]
            d = stats.paired_difference(at, "initialisation", init, SCRATCH, value)
            out.append({"initialisation": init, "labels": int(labels), "mean": d.mean,
                        "low": d.low, "high": d.high, "n": d.n})  # fmt: skip
    return pd.DataFrame(out, columns=["initialisation", "labels", "mean", "low", "high", "n"])


def crossover(gain: pd.DataFrame) -> dict[str, int | None]:
    """Per pretrained arm: the largest size at which it beats scratch with the whole 95 %
    interval above zero (None: at no size)."""
    out = {}
    for init, group in gain.groupby("initialisation", sort=False):
        above = group[group["low"] > 0]
        out[init] = int(above["labels"].max()) if len(above) else None
    return out


def _points(d) -> str:
    if not math.isfinite(d["low"]):
        return f"{100 * d['mean']:+.1f} points (n={d['n']}, no interval)"
    return f"{100 * d['mean']:+.1f} points [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"


def opening_paragraph(gain: pd.DataFrame) -> str:
    """One paragraph that answers the question first, from :func:`gains`.

    Names, for each pretrained arm, its gain at the smallest size and whether (and up to
    which size) pretraining beats scratch with the whole interval above zero; says so
    plainly when it never does."""
    if gain.empty:
        raise EfficiencyError("no gains to report (no pretrained arm)")
    smallest = int(gain["labels"].min())
    cross = crossover(gain)
    sentences = []
    for init, group in gain.groupby("initialisation", sort=False):
        first = group[group["labels"] == smallest].iloc[0]
        larger = group[group["labels"] > (cross[init] or 0)]
        text = f"With {smallest:,} labels, {ARM_TEXT.get(init, init)} gives {_points(first)} over training from scratch"
        if cross[init] is None:
            text += "; it beats scratch at no size with the whole 95 % interval above zero."
        elif larger.empty:
            text += f"; it beats scratch at every size up to {cross[init]:,} labels."
        else:
            text += (
                f"; it beats scratch up to {cross[init]:,} labels, and from "
                f"{int(larger['labels'].min()):,} labels on it no longer does (the gain's "
                "interval reaches zero or below: scratch is as good or better)."
            )
        sentences.append(text[0].upper() + text[1:])
    if all(c is None for c in cross.values()):
        sentences.append(
            "In these runs, autoencoder pretraining never pays (at no size is a gain's "
            "whole 95 % interval above zero)."
        )
    return " ".join(sentences)


def gain_table(gain: pd.DataFrame) -> pd.DataFrame:
    """:func:`gains` for the report: the difference in points with its interval, whether
    the whole interval is above zero, and each arm's crossover."""
    cross = crossover(gain)
    return pd.DataFrame({
        "initialisation": gain["initialisation"],
        "labels": gain["labels"],
        "test accuracy − scratch (points, 95 % interval)": [
            stats.Estimate(r["mean"], math.nan, int(r["n"]), r["low"], r["high"]).text(100)
            for _, r in gain.iterrows()
        ],
        "whole interval above zero": gain["low"] > 0,
        "crossover (largest such size)": [
            "none" if cross[i] is None else f"{cross[i]:,}" for i in gain["initialisation"]
        ],
    })  # fmt: skip
