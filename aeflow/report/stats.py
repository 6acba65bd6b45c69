"""Replicate statistics and verdicts: how large a difference is, and whether it holds.

The seed reports drew conclusions from one run each; here every comparison is made
over replicate seeds, paired by seed (the same seed gives both arms the same data order
and, for pretrained classifiers, the encoder trained with that seed), and reported as
a mean difference with a 95 % confidence interval (Student's t).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

LEVEL = 0.95  # the confidence level of every interval aeflow reports, in tables and figures
# A gain in test accuracy (a fraction) whose whole interval lies within ±EQUIVALENCE_MARGIN
# of zero is "no difference": one point, the size of the test set's own sampling error
# for a 90 % classifier on 10 000 images (±0.6 points, 95 %) rounded up.
EQUIVALENCE_MARGIN = 0.01
# The verdict words of a gain (docs/label-efficiency.md): the interval wholly above zero,
# wholly below zero, wholly within ±EQUIVALENCE_MARGIN, or none of those.
PAYS, COSTS, NO_DIFFERENCE, NOT_SETTLED = "pays", "costs", "no difference", "not settled"
GAIN_WORDS = (PAYS, COSTS, NO_DIFFERENCE, NOT_SETTLED)


def t_quantile(dof: int, level: float = LEVEL) -> float:
    """The two-sided ``level`` quantile of Student's t with ``dof`` degrees of freedom
    (NaN below one degree of freedom)."""
    if dof < 1:
        return math.nan
    import scipy.stats  # here, not at the top: ~0.5 s a job for the jobs that never ask

    return float(scipy.stats.t.ppf(0.5 + level / 2, dof))


def half_width(sd: float, n: int, level: float = LEVEL) -> float:
    """Half-width of the Student-t ``level`` interval of the mean of ``n`` values whose
    sample standard deviation is ``sd``; NaN with fewer than two values.

    The one interval of the package: tables (:func:`aeflow.report.tables.summarise`), figures
    (:func:`aeflow.report.plots.accuracy_by_group`) and verdicts (:class:`Estimate`) all use it.
    """
    if n < 2:
        return math.nan
    return t_quantile(n - 1, level) * float(sd) / math.sqrt(n)


@dataclass(frozen=True)
class Estimate:
    """A mean over ``n`` replicates with its standard deviation and 95 % interval."""

    mean: float
    sd: float
    n: int
    low: float
    high: float

    @classmethod
    def of(cls, values) -> Estimate:
        values = [float(v) for v in values if math.isfinite(float(v))]
        n = len(values)
        if n == 0:
            return cls(math.nan, math.nan, 0, math.nan, math.nan)
        mean = sum(values) / n
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
        half = half_width(sd, n)
        return cls(mean, sd, n, mean - half, mean + half)

    @property
    def half(self) -> float:
        """Half-width of the interval (NaN with fewer than two values)."""
        return (self.high - self.low) / 2

    def text(self, scale: float = 1.0, unit: str = "", digits: int = 2) -> str:
        """ "92.41 % [91.80, 93.02] (n=3)"; the interval is omitted with one replicate."""
        if self.n == 0:
            return "no finite value"
        head = f"{self.mean * scale:.{digits}f}{unit}"
        if self.n == 1:
            return f"{head} (n=1, no interval)"
        return (
            f"{head} [{self.low * scale:.{digits}f}, {self.high * scale:.{digits}f}] (n={self.n})"
        )


def paired_difference(
    table: pd.DataFrame, arm: str, a, b, value: str, pair_on: str = "seed"
) -> Estimate:
    """Mean of (``a`` − ``b``) in ``value`` over the ``pair_on`` values both arms have.

    ``table`` holds one row per arm value and seed (other columns equal between arms).
    A pair where either side diverged or is not finite is left out.
    """
    ok = table[~table["diverged"].astype(bool)] if "diverged" in table else table
    left = ok[ok[arm] == a].set_index(pair_on)[value]
    right = ok[ok[arm] == b].set_index(pair_on)[value]
    if left.index.has_duplicates or right.index.has_duplicates:
        raise ValueError(f"several rows per {pair_on} for {arm}={a!r} or {b!r}: filter first")
    common = left.index.intersection(right.index)
    return Estimate.of((left[common] - right[common]).tolist())


def verdict(difference: Estimate, claim: str) -> str:
    """Whether a claim about the sign of a difference holds across seeds.

    ``claim`` is "positive" (a > b) or "negative" (a < b). The claim *holds* when the
    whole 95 % interval is on its side of zero, *is contradicted* when the whole interval
    is on the other side, and is *not settled* otherwise (or with fewer than 2 seeds).
    """
    if claim not in ("positive", "negative"):
        raise ValueError(f"claim must be 'positive' or 'negative', got {claim!r}")
    if difference.n < 2 or math.isnan(difference.low):
        return "not settled (fewer than 2 seeds)"
    sign = 1 if claim == "positive" else -1
    low, high = sorted((sign * difference.low, sign * difference.high))
    if low > 0:
        return "holds"
    if high < 0:
        return "contradicted"
    return "not settled (the interval includes 0)"


def equivalence_verdict(difference: Estimate, margin: float) -> str:
    """Whether "no notable difference" (|a − b| within ``margin``) holds across seeds.

    The claim *holds* when the whole 95 % interval of a − b lies inside
    [−margin, +margin], *is contradicted* when the whole interval lies outside it (above
    +margin or below −margin), and is *not settled* otherwise (or with fewer than 2
    seeds): the same three words as :func:`verdict`.
    """
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin!r}")
    if difference.n < 2 or math.isnan(difference.low):
        return "not settled (fewer than 2 seeds)"
    if -margin <= difference.low and difference.high <= margin:
        return "holds"
    if difference.low > margin or difference.high < -margin:
        return "contradicted"
    return "not settled (the interval crosses the margin)"


# The fewest seeds from which aeflow says where one more run would land (a prediction
# interval) or draws an interval band in a figure: with two, t(1) = 12.7 makes both so
# wide that they say yes to almost anything.
MIN_SEEDS = 3
# An accuracy (a fraction) cannot leave [0, 1]: intervals of accuracies are clipped to it.
ACCURACY_BOUNDS = (0.0, 1.0)


def clip(low: float, high: float, bounds: tuple[float, float] | None) -> tuple[float, float]:
    """[``low``, ``high``] cut to ``bounds`` (None: unchanged; NaN stays NaN). aeflow clips
    the Student-t interval rather than use another interval: inside the bounds it is
    the same interval, and it never claims values the quantity cannot take."""
    if bounds is None:
        return low, high
    lo, hi = bounds
    return (max(low, lo) if math.isfinite(low) else low,
            min(high, hi) if math.isfinite(high) else high)  # fmt: skip


def prediction_interval(
    estimate: Estimate, level: float = LEVEL, bounds: tuple[float, float] | None = None
) -> tuple[float, float]:
    """Where one more run would land, at ``level``: mean ± t(n−1)·s·√(1 + 1/n) over the
    ``estimate``'s n runs (clipped to ``bounds``); NaNs with fewer than
    :data:`MIN_SEEDS` runs."""
    if estimate.n < MIN_SEEDS:
        return math.nan, math.nan
    half = t_quantile(estimate.n - 1, level) * estimate.sd * math.sqrt(1 + 1 / estimate.n)
    return clip(estimate.mean - half, estimate.mean + half, bounds)


def binomial_se(proportion: float, trials: int) -> float:
    """The standard error √(p(1 − p)/N) of a proportion ``p`` measured on ``trials``
    items (an accuracy on N test images)."""
    if not trials > 0:
        raise ValueError(f"trials must be positive, got {trials!r}")
    return math.sqrt(proportion * (1 - proportion) / trials)


def expected_half_width(sd: float, n: int, level: float = LEVEL) -> float:
    """The expected half-width of the ``level`` t interval of a mean of ``n`` values whose
    true standard deviation is ``sd``: t(n−1)·c4(n)·sd/√n, where c4(n)·sd is the
    expected sample standard deviation (NaN below two values)."""
    if n < 2:
        return math.nan
    c4 = math.sqrt(2 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))
    return t_quantile(n - 1, level) * c4 * float(sd) / math.sqrt(n)


def seeds_for_half_width(sd: float, target: float, level: float = LEVEL, most: int = 200) -> int:
    """The fewest seeds (at least :data:`MIN_SEEDS`) whose expected interval half-width
    (:func:`expected_half_width`) is ``target`` or less, for values of standard
    deviation ``sd``; ValueError beyond ``most``."""
    for n in range(MIN_SEEDS, most + 1):
        if expected_half_width(sd, n, level) <= target:
            return n
    raise ValueError(f"more than {most} seeds for a half-width of {target} at sd {sd}")


def gain_verdict(low: float, high: float, margin: float = EQUIVALENCE_MARGIN) -> str:
    """The word for a gain (a − b) with the 95 % interval [``low``, ``high``]: *pays*
    (wholly above zero), *costs* (wholly below), *no difference* (wholly inside
    [−``margin``, +``margin``]) or *not settled* (otherwise, or no interval)."""
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin!r}")
    if not (math.isfinite(low) and math.isfinite(high)):
        return NOT_SETTLED
    if low > 0:
        return PAYS
    if high < 0:
        return COSTS
    if -margin <= low and high <= margin:
        return NO_DIFFERENCE
    return NOT_SETTLED


def p_value(estimate: Estimate, null: float = 0.0, side: str = "two") -> float:
    """The p-value of Student's t test of "the mean is ``null``" from the same t statistic
    as the interval: (mean − null)/(s/√n) with n − 1 degrees of freedom. ``side``:
    "two" (two-sided), "greater" (the alternative mean > null) or "less". A two-sided
    p below 1 − :data:`LEVEL` is the same as a 95 % interval without ``null``. NaN with
    fewer than two values; with no spread, 0 or 1."""
    if side not in ("two", "greater", "less"):
        raise ValueError(f"side must be 'two', 'greater' or 'less', got {side!r}")
    if estimate.n < 2 or not math.isfinite(estimate.sd):
        return math.nan
    shift = estimate.mean - null
    if estimate.sd == 0:
        t = math.copysign(math.inf, shift) if shift else 0.0
    else:
        t = shift / (estimate.sd / math.sqrt(estimate.n))
    import scipy.stats

    dist = scipy.stats.t(estimate.n - 1)
    if side == "greater":
        return float(dist.sf(t))
    if side == "less":
        return float(dist.cdf(t))
    return float(2 * dist.sf(abs(t)))


def equivalence_p(estimate: Estimate, margin: float) -> float:
    """The p-value of the settled verdict an equivalence claim's data lean to, on the
    same t statistics as :func:`equivalence_verdict`: for *holds*, two one-sided tests
    (mean > −margin and mean < +margin), 2 × the larger p (below 1 − :data:`LEVEL`
    exactly when the 95 % interval lies inside ±margin); for *contradicted*, 2 × the
    smaller one-sided p of mean > +margin or mean < −margin. The smaller of the two."""
    inside = 2 * max(p_value(estimate, -margin, "greater"), p_value(estimate, margin, "less"))
    outside = 2 * min(p_value(estimate, margin, "greater"), p_value(estimate, -margin, "less"))
    return min(1.0, inside, outside)


def holm(p_values) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (NaNs are not tested and stay
    NaN): the k-th smallest of m becomes max over j ≤ k of min(1, (m − j + 1)·p_(j)).
    Rejecting where the adjusted p is below α keeps the chance of any false rejection
    in the family at α or below, whatever the dependence between the tests."""
    p_values = [float(p) for p in p_values]
    tested = sorted((p, k) for k, p in enumerate(p_values) if math.isfinite(p))
    m = len(tested)
    out = [math.nan] * len(p_values)
    running = 0.0
    for j, (p, k) in enumerate(tested):
        running = max(running, min(1.0, (m - j) * p))
        out[k] = running
    return out


def family_verdicts(verdicts, p_values, level: float = LEVEL) -> tuple[list[float], list[str]]:
    """Holm-adjusted p-values (:func:`holm`) and verdicts of a family of claims: a raw
    settled verdict stays settled only where its adjusted p is below 1 − ``level``;
    a raw "not settled" stays as it is."""
    adjusted = holm(p_values)
    words = []
    for verdict_, p in zip(verdicts, adjusted):
        if verdict_.startswith("not settled") or (math.isfinite(p) and p < 1 - level):
            words.append(verdict_)
        else:
            words.append("not settled after Holm")
    return adjusted, words


def chance_counts(p_values, level: float = LEVEL) -> tuple[int, float]:
    """(claims tested, wrong settled verdicts chance alone would give at ``level`` if none
    of the claimed differences were real): the finite p-values, and (1 − level) each."""
    m = sum(1 for p in p_values if math.isfinite(float(p)))
    return m, m * (1 - level)


def chance_text(p_values, level: float = LEVEL, family: str = "among them") -> str:
    """:func:`chance_counts` in a sentence; ``family`` says across which claims the Holm
    column adjusts."""
    m, expected = chance_counts(p_values, level)
    return (
        f"{m} claim{'s' if m != 1 else ''} tested, each at {100 * level:g} %: if no difference "
        f"were real, chance alone would settle about {expected:.2g} of them wrongly; the "
        f"Holm column keeps the chance of any wrong settled verdict {family} at "
        f"{100 * (1 - level):g} % or below."
    )


def chance_heading(p_values, level: float = LEVEL) -> str:
    """:func:`chance_counts` for a table's heading: "(12 claims at 95 %: about 0.6 wrong
    by chance alone)"; "" when no claim was tested."""
    m, expected = chance_counts(p_values, level)
    if m == 0:
        return ""
    return f"({m} claim{'s' if m != 1 else ''} at {100 * level:g} %: about {expected:.2g} wrong by chance alone)"


# Claims of the seed reports about the base classifier, by initialisation:
# (source, claim in words, arm a, arm b, expected sign of a − b in test accuracy).
INITIALISATION_CLAIMS = [
    ("report 000", "training from scratch beats the frozen pretrained encoder "
     "(92.4 % vs 82.0 % in one run)", "scratch", "frozen", "positive"),
    ("report 001", "fine-tuning the pretrained encoder beats keeping it frozen",
     "finetune", "frozen", "positive"),
    ("the question", "pretraining, then fine-tuning, beats training from scratch",
     "finetune", "scratch", "positive"),
]  # fmt: skip


def initialisation_verdicts(metrics: pd.DataFrame, model_ids: dict[str, str]) -> pd.DataFrame:
    """Each claim about initialisations checked on the base classifiers' test accuracy.

    ``model_ids`` maps initialisation → model id of the base classifier with it; claims
    whose arms were not trained are skipped.
    """
    base = metrics[metrics["model_id"].isin(list(model_ids.values()))]
    rows = []
    for source, claim, a, b, sign in INITIALISATION_CLAIMS:
        if a not in model_ids or b not in model_ids:
            continue
        diff = paired_difference(base, "initialisation", a, b, "test_accuracy")
        rows.append({
            "source": source,
            "claim": claim,
            "measured": f"{a} − {b}: {diff.text(100, ' points')}",
            "verdict": verdict(diff, sign),
            "p": p_value(diff),
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=["source", "claim", "measured", "verdict", "p"])
    return with_holm(out)


HOLM_P, HOLM_VERDICT = "p (Holm)", "verdict after Holm"


def with_holm(table: pd.DataFrame) -> pd.DataFrame:
    """A verdict table (columns ``verdict`` and ``p``) with the Holm-adjusted p and
    verdict across its rows (:func:`family_verdicts`) beside the raw ones."""
    adjusted, words = family_verdicts(table["verdict"].tolist(), table["p"].tolist())
    return table.assign(**{HOLM_P: adjusted, HOLM_VERDICT: words})
