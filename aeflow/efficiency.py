"""Label efficiency: where pretraining pays.

From the classifier metrics of a study that sweeps ``labels`` (the number of labelled
training images), computed, never typed: the test accuracy of each arm at each size
(mean over seeds, 95 % interval), the gain of each pretrained arm over scratch at each
size (paired by seed: the same seed draws the same labelled images for every arm), the
crossover (the largest size at which the gain's whole interval is above zero), the
paragraph the report opens with, and whether each run trained to its plateau.

An arm is an initialisation (scratch, frozen, finetune), except that a frozen encoder
with the head Linear(n, 10) (``hidden: none``) is the **linear probe**.
"""

from __future__ import annotations

import math

import pandas as pd

from aeflow import stats
from aeflow.hyperparameters import INITIALISATIONS, NO_HIDDEN

VALUE = "test_accuracy"
# The arms, in the figure's and tables' order: the registry's initialisations (scratch,
# the one every gain is measured against, first), then efficiency's own linear probe.
SCRATCH = INITIALISATIONS[0]
LINEAR_PROBE = "linear probe"
PRETRAINED = (*INITIALISATIONS[1:], LINEAR_PROBE)
ARMS = (SCRATCH, *PRETRAINED)
ARM_TEXT = {
    "frozen": "the frozen pretrained encoder",
    "finetune": "fine-tuning the pretrained encoder",
    LINEAR_PROBE: "the linear probe (Linear(n, 10) on the frozen pretrained encoder)",
}


class EfficiencyError(ValueError):
    """A table that cannot give a label-efficiency curve; the message says why."""


def arm(initialisation: str, hidden) -> str:
    """The arm of a classifier: its initialisation, or :data:`LINEAR_PROBE` for a frozen
    encoder without hidden layers."""
    return LINEAR_PROBE if initialisation == "frozen" and hidden == NO_HIDDEN else initialisation


def study_rows(metrics: pd.DataFrame, model_ids, all_labels: int | None = None) -> pd.DataFrame:
    """The rows of ``model_ids`` with an integer ``labels`` column (a configuration that
    leaves ``labels`` out trained on all ``all_labels`` training images) and an ``arm``
    column (:func:`arm`)."""
    rows = metrics[metrics["model_id"].isin(list(model_ids))].copy()
    if rows.empty:
        raise EfficiencyError("no classifier metrics for the study's configurations")
    hidden = rows["hidden"] if "hidden" in rows else pd.Series(None, index=rows.index)
    rows["arm"] = [arm(i, h) for i, h in zip(rows["initialisation"], hidden)]
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
    """Per arm and size (in :data:`ARMS` order): mean, 95 % interval and number of seeds
    of ``value`` (diverged runs left out)."""
    ok = rows[~rows["diverged"].astype(bool)] if "diverged" in rows else rows
    out = []
    for (name, labels), group in ok.groupby(["arm", "labels"], sort=True):
        e = stats.Estimate.of(group[value])
        out.append({"arm": name, "labels": int(labels), "mean": e.mean,
                    "low": e.low, "high": e.high, "n": e.n})  # fmt: skip
    return in_arm_order(pd.DataFrame(out, columns=COLUMNS))


COLUMNS = ["arm", "labels", "mean", "low", "high", "n"]


def in_arm_order(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of a table with ``arm`` and ``labels`` columns in :data:`ARMS` order, then by
    size (other arms after those)."""
    rank = {name: k for k, name in enumerate(ARMS)}
    key = table["arm"].map(lambda a: rank.get(a, len(ARMS)))
    return table.assign(_rank=key).sort_values(["_rank", "labels"], kind="stable").drop(
        columns="_rank").reset_index(drop=True)  # fmt: skip


def gains(rows: pd.DataFrame, value: str = VALUE) -> pd.DataFrame:
    """Each pretrained arm minus scratch at each size, paired by seed, with its 95 %
    interval: columns arm, labels, mean, low, high, n."""
    arms = set(rows["arm"])
    if SCRATCH not in arms:
        raise EfficiencyError("the study has no scratch classifiers to compare against")
    out = []
    for name in [a for a in PRETRAINED if a in arms]:
        for labels in sorted(set(rows["labels"])):
            at = rows[(rows["labels"] == labels) & rows["arm"].isin([name, SCRATCH])]
            d = stats.paired_difference(at, "arm", name, SCRATCH, value)
            out.append({"arm": name, "labels": int(labels), "mean": d.mean,
                        "low": d.low, "high": d.high, "n": d.n})  # fmt: skip
    return pd.DataFrame(out, columns=COLUMNS)


def crossover(gain: pd.DataFrame) -> dict[str, int | None]:
    """Per pretrained arm: the largest size at which it beats scratch with the whole 95 %
    interval above zero (None: at no size)."""
    out = {}
    for name, group in gain.groupby("arm", sort=False):
        above = group[group["low"] > 0]
        out[name] = int(above["labels"].max()) if len(above) else None
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
    for name, group in gain.groupby("arm", sort=False):
        first = group[group["labels"] == smallest].iloc[0]
        larger = group[group["labels"] > (cross[name] or 0)]
        text = f"With {smallest:,} labels, {ARM_TEXT.get(name, name)} gives {_points(first)} over training from scratch"
        if cross[name] is None:
            text += "; it beats scratch at no size with the whole 95 % interval above zero."
        elif larger.empty:
            text += f"; it beats scratch at every size up to {cross[name]:,} labels."
        else:
            text += (
                f"; it beats scratch up to {cross[name]:,} labels, and from "
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
        "arm": gain["arm"],
        "labels": gain["labels"],
        "test accuracy − scratch (points, 95 % interval)": [
            stats.Estimate(r["mean"], math.nan, int(r["n"]), r["low"], r["high"]).text(100)
            for _, r in gain.iterrows()
        ],
        "whole interval above zero": gain["low"] > 0,
        "crossover (largest such size)": [
            "none" if cross[a] is None else f"{cross[a]:,}" for a in gain["arm"]
        ],
    })  # fmt: skip


def plateau_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Whether every arm and size trained to its plateau, from the metrics' ``epochs_run``,
    ``best_epoch`` and ``stopped_early``: a run reached it when early stopping ended it
    (``patience`` epochs without a better validation loss; the best epoch's weights are
    the ones tested). A run that used all its planned epochs may still have been
    improving, the more so the nearer its best epoch is to its last."""
    steps = rows["labels"] // rows["batch_size"] + (rows["labels"] % rows["batch_size"] > 0)
    rows = rows.assign(steps_per_epoch=steps.astype(int))
    out = []
    for (name, labels), group in rows.groupby(["arm", "labels"], sort=True):
        group = group.sort_values("seed")
        stopped = group["stopped_early"].astype(bool)
        out.append({
            "arm": name,
            "labels": int(labels),
            "steps per epoch": int(group["steps_per_epoch"].iloc[0]),
            "epoch kept / epochs run (per seed)": ", ".join(
                f"{int(b)}/{int(e)}" for b, e in zip(group["best_epoch"], group["epochs_run"])
            ),
            "stopped early": f"{int(stopped.sum())} of {len(group)}",
            "plateau reached": bool(stopped.all()),
        })  # fmt: skip
    return in_arm_order(pd.DataFrame(out))
