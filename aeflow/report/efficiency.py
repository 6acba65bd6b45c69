"""Label efficiency: where pretraining pays.

From the classifier metrics of a study that sweeps ``labels`` (the number of labelled
training images), computed, never typed: the test accuracy of each arm at each size
(mean over seeds, 95 % interval), the gain of each pretrained arm over scratch at each
size (paired by seed: the same seed draws the same labelled images for every arm), its
verdict word (pays, costs, no difference, not settled: :func:`aeflow.report.stats.gain_verdict`),
the crossover (between which two sizes the verdict changes sign), the paragraph the
report opens with (built from the words), and whether each run trained to its plateau.

An arm is an initialisation (scratch, frozen, finetune), except that a frozen encoder
with the head Linear(n, 10) (``hidden: none``) is the **linear probe**.
"""

from __future__ import annotations

import math

import pandas as pd

from aeflow.plan.hyperparameters import INITIALISATIONS, NO_HIDDEN
from aeflow.report import stats

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
    """Per arm and size (in :data:`ARMS` order): mean, 95 % interval (clipped to
    [0, 1], :func:`aeflow.report.stats.clip`), number of seeds and the runs' own values
    (``values``, in seed order) of ``value`` (diverged runs left out)."""
    ok = rows[~rows["diverged"].astype(bool)] if "diverged" in rows else rows
    out = []
    for (name, labels), group in ok.groupby(["arm", "labels"], sort=True):
        group = group.sort_values("seed") if "seed" in group else group
        e = stats.Estimate.of(group[value])
        low, high = stats.clip(e.low, e.high, stats.ACCURACY_BOUNDS)
        out.append({"arm": name, "labels": int(labels), "mean": e.mean, "low": low,
                    "high": high, "n": e.n, "values": tuple(group[value].astype(float))})  # fmt: skip
    return in_arm_order(pd.DataFrame(out, columns=[*COLUMNS, "values"]))


COLUMNS = ["arm", "labels", "mean", "low", "high", "n"]
# A gain is a difference of two accuracies: it cannot leave [−1, 1].
GAIN_BOUNDS = (-1.0, 1.0)


def in_arm_order(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of a table with ``arm`` and ``labels`` columns in :data:`ARMS` order, then by
    size (other arms after those)."""
    rank = {name: k for k, name in enumerate(ARMS)}
    key = table["arm"].map(lambda a: rank.get(a, len(ARMS)))
    return table.assign(_rank=key).sort_values(["_rank", "labels"], kind="stable").drop(
        columns="_rank").reset_index(drop=True)  # fmt: skip


def gains(rows: pd.DataFrame, value: str = VALUE) -> pd.DataFrame:
    """Each pretrained arm minus scratch at each size, paired by seed, with its 95 %
    interval (clipped to :data:`GAIN_BOUNDS`): columns arm, labels, mean, low, high, n."""
    arms = set(rows["arm"])
    if SCRATCH not in arms:
        raise EfficiencyError("the study has no scratch classifiers to compare against")
    out = []
    for name in [a for a in PRETRAINED if a in arms]:
        for labels in sorted(set(rows["labels"])):
            at = rows[(rows["labels"] == labels) & rows["arm"].isin([name, SCRATCH])]
            d = stats.paired_difference(at, "arm", name, SCRATCH, value)
            low, high = stats.clip(d.low, d.high, GAIN_BOUNDS)
            out.append({"arm": name, "labels": int(labels), "mean": d.mean,
                        "low": low, "high": high, "n": d.n})  # fmt: skip
    return pd.DataFrame(out, columns=COLUMNS)


def verdicts(gain: pd.DataFrame) -> pd.Series:
    """The word of each row of :func:`gains` (:func:`aeflow.report.stats.gain_verdict`: pays,
    costs, no difference, not settled)."""
    return pd.Series(
        [stats.gain_verdict(lo, hi) for lo, hi in zip(gain["low"], gain["high"])],
        index=gain.index,
        dtype=object,
    )


_SIGN = {stats.PAYS: +1, stats.COSTS: -1}


def crossover(gain: pd.DataFrame) -> dict[str, list[tuple[int, int]]]:
    """Per pretrained arm: where its verdict changes sign, as (last size on one side,
    first size on the other) pairs, from *pays* to *costs* or back; sizes whose
    verdict is neither (no difference, not settled) are passed over. An empty list:
    the verdicts never change sign."""
    out = {}
    words = gain.assign(verdict=verdicts(gain))
    for name, group in words.groupby("arm", sort=False):
        signed = [(int(r["labels"]), _SIGN[r["verdict"]])
                  for _, r in group.sort_values("labels").iterrows() if r["verdict"] in _SIGN]  # fmt: skip
        out[name] = [(a, b) for (a, sa), (b, sb) in zip(signed, signed[1:]) if sa != sb]
    return out


def _points(d) -> str:
    if not math.isfinite(d["low"]):
        return f"{100 * d['mean']:+.1f} points (n={d['n']}, no interval)"
    return f"{100 * d['mean']:+.1f} points [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"


def _sizes(sizes) -> str:
    """ "100 labels", "100 and 300 labels", "100, 300 and 1,000 labels"."""
    names = [f"{s:,}" for s in sizes]
    head = ", ".join(names[:-1])
    return (f"{head} and {names[-1]}" if head else names[-1]) + " labels"


def _margin_points() -> str:
    return f"±{100 * stats.EQUIVALENCE_MARGIN:g} point" + (
        "" if 100 * stats.EQUIVALENCE_MARGIN == 1 else "s"
    )


def arm_sentence(name: str, group: pd.DataFrame) -> str:
    """What the verdicts say about one pretrained arm (its rows of :func:`gains`), in
    words only: where it pays ("at every size up to N" only when every size up to N
    pays), where it costs accuracy, where it makes no difference, where it is not
    settled, and between which two sizes its verdict changes sign."""
    group = group.sort_values("labels")
    sizes = [int(s) for s in group["labels"]]
    words = list(verdicts(group))
    at = {w: [s for s, v in zip(sizes, words) if v == w] for w in stats.GAIN_WORDS}
    first = group.iloc[0]
    text = (f"With {sizes[0]:,} labels, {ARM_TEXT.get(name, name)} gives {_points(first)} "
            f"over training from scratch ({words[0]})")  # fmt: skip
    clauses = []
    leading = 0
    while leading < len(words) and words[leading] == stats.PAYS:
        leading += 1
    # "up to N" only for a run of at least two sizes, from the smallest, that all pay
    run = sizes[:leading] if leading > 1 else []
    if run:
        clauses.append(f"it pays at every size up to {run[-1]:,} labels")
    rest = [s for s in at[stats.PAYS] if s not in run]
    if rest:
        clauses.append(("it also pays at " if run else "it pays at ") + _sizes(rest))
    if at[stats.COSTS]:
        clauses.append(f"it costs accuracy at {_sizes(at[stats.COSTS])}")
    if at[stats.NO_DIFFERENCE]:
        clauses.append(
            f"it makes no difference (within {_margin_points()}) at {_sizes(at[stats.NO_DIFFERENCE])}"
        )
    if at[stats.NOT_SETTLED]:
        clauses.append(f"it is not settled at {_sizes(at[stats.NOT_SETTLED])}")
    changes = crossover(group.assign(arm=name))[name]
    if changes:
        between = " and again ".join(f"between {a:,} and {b:,} labels" for a, b in changes)
        clauses.append(f"its verdict changes sign {between}")
    text += ": " + "; ".join(clauses) + "."
    return text[0].upper() + text[1:]


def opening_paragraph(gain: pd.DataFrame) -> str:
    """One paragraph that answers the question first, from :func:`gains`, built from the
    verdict words (:func:`aeflow.report.stats.gain_verdict`) and nothing else: one sentence per
    pretrained arm (:func:`arm_sentence`), then, when no arm pays anywhere, whether that
    is shown (every size costs or makes no difference) or only not shown."""
    if gain.empty:
        raise EfficiencyError("no gains to report (no pretrained arm)")
    sentences = [arm_sentence(name, group) for name, group in gain.groupby("arm", sort=False)]
    words = set(verdicts(gain))
    if stats.PAYS not in words:
        if stats.NOT_SETTLED in words:
            sentences.append(
                "At no size does autoencoder pretraining pay in these runs; where the verdict "
                "is not settled, more seeds could still show a gain or a loss."
            )
        else:
            sentences.append(
                "In these runs autoencoder pretraining never pays: at every size it costs "
                f"accuracy or makes no difference (within {_margin_points()})."
            )
    return " ".join(sentences)


def gain_table(gain: pd.DataFrame) -> pd.DataFrame:
    """:func:`gains` for the report: the difference in points with its interval, its
    verdict word (the equivalence margin in the column's name) and, per arm, the sizes
    its verdict changes sign between."""
    cross = crossover(gain)
    return pd.DataFrame({
        "arm": gain["arm"],
        "labels": gain["labels"],
        "test accuracy − scratch (points, 95 % interval)": [
            stats.Estimate(r["mean"], math.nan, int(r["n"]), r["low"], r["high"]).text(100)
            for _, r in gain.iterrows()
        ],
        f"verdict (no difference: within {_margin_points()})": verdicts(gain),
        "verdict changes sign between": [
            "; ".join(f"{a:,} and {b:,}" for a, b in cross[a_]) or "–" for a_ in gain["arm"]
        ],
    })  # fmt: skip


def seeds_needed(rows: pd.DataFrame, target: float = 0.02, value: str = VALUE) -> pd.DataFrame:
    """How many seeds each pretrained arm's gain over scratch needs, per size, for an
    expected 95 % half-width of ``target`` (a fraction: 0.02 is 2 points), from the
    spread of the paired differences over the seeds ``rows`` have
    (:func:`aeflow.report.stats.seeds_for_half_width`): columns arm, labels, n (pairs
    measured), sd (of the differences), half (their interval's half-width now) and
    seeds."""
    arms = set(rows["arm"])
    if SCRATCH not in arms:
        raise EfficiencyError("the study has no scratch classifiers to compare against")
    ok = rows[~rows["diverged"].astype(bool)] if "diverged" in rows else rows
    out = []
    for name in [a for a in PRETRAINED if a in arms]:
        for labels in sorted(set(ok["labels"])):
            at = ok[(ok["labels"] == labels) & ok["arm"].isin([name, SCRATCH])]
            d = stats.paired_difference(at, "arm", name, SCRATCH, value)
            seeds = stats.seeds_for_half_width(d.sd, target) if d.n > 1 else math.nan
            out.append({"arm": name, "labels": int(labels), "n": d.n, "sd": d.sd,
                        "half": d.half, "seeds": seeds})  # fmt: skip
    return pd.DataFrame(out, columns=["arm", "labels", "n", "sd", "half", "seeds"])


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
