"""Replicate statistics and verdicts on synthetic tables with known answers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from aeflow.report import stats


def test_estimate_matches_hand_computation():
    est = stats.Estimate.of([0.90, 0.92, 0.94])
    assert est.mean == pytest.approx(0.92)
    assert est.sd == pytest.approx(0.02)
    half = 4.302653 * 0.02 / math.sqrt(3)
    assert (est.low, est.high) == (pytest.approx(0.92 - half), pytest.approx(0.92 + half))
    assert est.text(100, " %") == "92.00 % [87.03, 96.97] (n=3)"


# Two-sided 95 % quantiles of Student's t as printed in standard tables (3 decimals),
# including 11..29 degrees of freedom where aeflow's two former hand-written tables
# disagreed (the figures' sparse one rounded 11 down to 10: 2.228 instead of 2.201).
PRINTED_T975 = {1: 12.706, 2: 4.303, 4: 2.776, 9: 2.262, 11: 2.201, 13: 2.160, 14: 2.145,
                17: 2.110, 19: 2.093, 23: 2.069, 26: 2.056, 29: 2.045, 30: 2.042,
                40: 2.021, 60: 2.000, 120: 1.980}  # fmt: skip


@pytest.mark.parametrize("dof", sorted(PRINTED_T975))
def test_t_quantile_matches_printed_tables(dof):
    assert stats.t_quantile(dof) == pytest.approx(PRINTED_T975[dof], abs=5e-4)


def test_t_quantile_other_levels_and_no_dof():
    assert stats.t_quantile(10, level=0.99) == pytest.approx(3.169, abs=5e-4)
    assert stats.t_quantile(5, level=0.90) == pytest.approx(2.015, abs=5e-4)
    assert math.isnan(stats.t_quantile(0))


@pytest.mark.parametrize("n", [2, 3, 5, 12, 15, 20, 25, 30, 31, 50])
def test_half_width_is_scipys_t_interval(n):
    scipy_stats = pytest.importorskip("scipy.stats")
    values = [0.8 + 0.01 * ((7 * i) % 11) for i in range(n)]
    est = stats.Estimate.of(values)
    low, high = scipy_stats.t.interval(0.95, n - 1, loc=est.mean, scale=scipy_stats.sem(values))
    assert (est.low, est.high) == (pytest.approx(low), pytest.approx(high))
    assert stats.half_width(est.sd, n) == pytest.approx((high - low) / 2)
    assert est.half == pytest.approx((high - low) / 2)


def test_half_width_needs_two_values():
    assert math.isnan(stats.half_width(0.1, 1)) and math.isnan(stats.half_width(0.1, 0))


def test_estimate_ignores_non_finite_and_handles_one_value():
    assert stats.Estimate.of([0.5, math.nan, math.inf]).n == 1
    one = stats.Estimate.of([0.5])
    assert one.mean == 0.5 and math.isnan(one.low) and "no interval" in one.text()
    assert stats.Estimate.of([]).text() == "no finite value"


def table(scratch, frozen, diverged=()):
    rows = []
    for init, values in (("scratch", scratch), ("frozen", frozen)):
        for seed, value in enumerate(values):
            rows.append(
                {
                    "initialisation": init,
                    "seed": seed,
                    "test_accuracy": value,
                    "diverged": (init, seed) in diverged,
                }
            )
    return pd.DataFrame(rows)


def test_paired_difference_pairs_by_seed():
    # seed effects are large but shared: pairing removes them
    t = table([0.90, 0.80, 0.70], [0.88, 0.785, 0.68])
    diff = stats.paired_difference(t, "initialisation", "scratch", "frozen", "test_accuracy")
    assert diff.mean == pytest.approx(0.055 / 3) and diff.n == 3
    assert diff.low > 0  # consistent across seeds although the arms' spreads overlap
    assert stats.verdict(diff, "positive") == "holds"
    assert stats.verdict(diff, "negative") == "contradicted"


def test_verdict_not_settled_when_interval_spans_zero_or_one_seed():
    t = table([0.90, 0.80, 0.70], [0.92, 0.78, 0.70])
    diff = stats.paired_difference(t, "initialisation", "scratch", "frozen", "test_accuracy")
    assert stats.verdict(diff, "positive").startswith("not settled (the interval")
    one = stats.paired_difference(
        table([0.9], [0.8]), "initialisation", "scratch", "frozen", "test_accuracy"
    )
    assert stats.verdict(one, "positive") == "not settled (fewer than 2 seeds)"
    with pytest.raises(ValueError, match="claim must be 'positive' or 'negative', got 'bigger'"):
        stats.verdict(one, "bigger")


def test_diverged_pairs_are_left_out():
    t = table([0.90, 0.80, 0.70], [0.88, 0.10, 0.67], diverged={("frozen", 1)})
    diff = stats.paired_difference(t, "initialisation", "scratch", "frozen", "test_accuracy")
    assert diff.n == 2 and diff.mean == pytest.approx(0.025)


def test_duplicate_rows_per_seed_are_an_error():
    t = pd.concat([table([0.9], [0.8])] * 2)
    with pytest.raises(ValueError, match="several rows per seed"):
        stats.paired_difference(t, "initialisation", "scratch", "frozen", "test_accuracy")


def test_initialisation_verdicts_on_a_table_with_a_known_answer():
    rows = []
    for init, values in {"scratch": [0.90, 0.91, 0.92], "frozen": [0.80, 0.82, 0.81],
                         "finetune": [0.905, 0.915, 0.925]}.items():  # fmt: skip
        for seed, value in enumerate(values):
            rows.append({"model_id": f"{init}-x", "initialisation": init, "seed": seed,
                         "test_accuracy": value, "diverged": False})  # fmt: skip
    out = stats.initialisation_verdicts(
        pd.DataFrame(rows), {"scratch": "scratch-x", "frozen": "frozen-x", "finetune": "finetune-x"}
    ).set_index("source")
    assert out.loc["report 000", "verdict"] == "holds"  # scratch − frozen = +10 points
    assert out.loc["report 000", "measured"].startswith("scratch − frozen: 10.00 points [")
    assert out.loc["report 001", "verdict"] == "holds"
    # finetune − scratch = +0.5 points on every seed: sd 0, interval [0.5, 0.5]
    assert out.loc["the question", "verdict"] == "holds"
    only_scratch = stats.initialisation_verdicts(pd.DataFrame(rows), {"scratch": "scratch-x"})
    assert only_scratch.empty


@pytest.mark.parametrize(
    "low, high, positive, negative",
    [
        # an endpoint exactly at 0 is inside the interval: a zero difference is possible,
        # so neither direction is settled, whichever side the rest of the interval is on
        (0.0, 0.02, "not settled", "not settled"),
        (-0.02, 0.0, "not settled", "not settled"),
        (-0.0, 0.02, "not settled", "not settled"),
        (0.0, 0.0, "not settled", "not settled"),
        # just off 0, the whole interval is on one side
        (1e-12, 0.02, "holds", "contradicted"),
        (-0.02, -1e-12, "contradicted", "holds"),
    ],
)
def test_verdict_at_an_interval_endpoint_of_exactly_zero(low, high, positive, negative):
    diff = stats.Estimate(mean=(low + high) / 2, sd=0.01, n=3, low=low, high=high)
    assert stats.verdict(diff, "positive").startswith(positive)
    assert stats.verdict(diff, "negative").startswith(negative)
    if positive == "not settled":
        assert stats.verdict(diff, "positive") == "not settled (the interval includes 0)"


@pytest.mark.parametrize(
    "low, high, word",
    [
        (0.001, 0.03, "pays"),  # wholly above zero, even inside the margin
        (-0.03, -0.001, "costs"),
        (-0.01, 0.01, "no difference"),  # the margin's ends are inside it
        (-0.004, 0.009, "no difference"),
        (0.0, 0.009, "no difference"),  # touches zero: not "pays"
        (-0.02, 0.005, "not settled"),  # crosses −margin and zero
        (-0.3, 0.3, "not settled"),
        (math.nan, math.nan, "not settled"),  # one seed: no interval
    ],
)
def test_gain_verdict_words(low, high, word):
    assert stats.gain_verdict(low, high) == word
    assert word in stats.GAIN_WORDS


def test_gain_verdict_margin_is_one_point_and_can_be_given():
    assert stats.EQUIVALENCE_MARGIN == 0.01
    assert stats.gain_verdict(-0.015, 0.015) == "not settled"
    assert stats.gain_verdict(-0.015, 0.015, margin=0.02) == "no difference"
    with pytest.raises(ValueError, match="margin must be positive"):
        stats.gain_verdict(-0.01, 0.01, margin=0)


def _p_values():
    # a family with ties, a NaN (not tested) and p near the level
    return [0.01, 0.04, 0.03, math.nan, 0.005, 0.2, 0.04, 0.0001]


def test_holm_matches_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = _p_values()
    tested = [x for x in p if math.isfinite(x)]
    reject, expected, _, _ = multitest.multipletests(tested, alpha=0.05, method="holm")
    adjusted = [x for x in stats.holm(p) if math.isfinite(x)]
    assert adjusted == pytest.approx(list(expected))
    assert math.isnan(stats.holm(p)[3])
    _, words = stats.family_verdicts(["holds"] * len(p), p)
    settled = [w == "holds" for w, x in zip(words, p) if math.isfinite(x)]
    assert settled == list(reject)
    assert words[3] == "not settled after Holm"  # NaN: never settled by the family


def test_family_verdicts_keep_raw_not_settled_and_only_unsettle():
    verdicts = ["holds", "contradicted", "not settled (the interval includes 0)", "holds"]
    adjusted, words = stats.family_verdicts(verdicts, [0.001, 0.02, 0.3, 0.04])
    # Holm: 0.004, 0.06, 0.3, 0.08 (monotone)
    assert adjusted == pytest.approx([0.004, 0.06, 0.3, 0.08])
    assert words == ["holds", "not settled after Holm", verdicts[2], "not settled after Holm"]


def test_p_value_is_the_intervals_t_test():
    scipy_stats = pytest.importorskip("scipy.stats")
    values = [0.012, 0.018, 0.031, -0.004, 0.02]
    est = stats.Estimate.of(values)
    assert stats.p_value(est) == pytest.approx(scipy_stats.ttest_1samp(values, 0).pvalue)
    assert stats.p_value(est, 0.01, "greater") == pytest.approx(
        scipy_stats.ttest_1samp(values, 0.01, alternative="greater").pvalue
    )
    # below 0.05 exactly when the 95 % interval leaves out zero
    for vals in ([0.01, 0.02, 0.015], [0.01, -0.02, 0.015], [0.001, 0.002, 0.0012, 0.0015]):
        e = stats.Estimate.of(vals)
        assert (stats.p_value(e) < 0.05) == (e.low > 0 or e.high < 0)
    assert math.isnan(stats.p_value(stats.Estimate.of([0.1])))
    assert stats.p_value(stats.Estimate(0.1, 0.0, 3, 0.1, 0.1)) == 0.0  # no spread, not zero
    assert stats.p_value(stats.Estimate(0.0, 0.0, 3, 0.0, 0.0)) == 1.0  # no spread, at zero
    with pytest.raises(ValueError, match="side must be"):
        stats.p_value(est, side="both")


@pytest.mark.parametrize(
    "values, margin",
    [
        ([0.001, -0.002, 0.0015, 0.0], 0.01),  # inside the margin: holds
        ([0.03, 0.035, 0.04], 0.01),  # above it: contradicted
        ([0.005, 0.02, -0.01], 0.01),  # crosses it: not settled
        ([-0.008, -0.007, -0.009, -0.0085], 0.01),  # near its edge
    ],
)
def test_equivalence_p_agrees_with_the_equivalence_verdict(values, margin):
    est = stats.Estimate.of(values)
    verdict = stats.equivalence_verdict(est, margin)
    assert (stats.equivalence_p(est, margin) < 0.05) == (not verdict.startswith("not settled"))


def test_chance_text_counts_the_tested_claims():
    text = stats.chance_text([0.01, 0.2, math.nan, 0.5])
    assert text.startswith("3 claims tested, each at 95 %")
    assert "chance alone would settle about 0.15 of them wrongly" in text
    assert "among them at 5 % or below." in text
    assert "within each study" in stats.chance_text([0.1], family="within each study")
    assert stats.chance_counts([0.01, math.nan] + [0.5] * 86) == (87, pytest.approx(4.35))
    assert (
        stats.chance_heading([0.01] * 87) == "(87 claims at 95 %: about 4.4 wrong by chance alone)"
    )
    assert stats.chance_heading([0.2]) == "(1 claim at 95 %: about 0.05 wrong by chance alone)"
    assert stats.chance_heading([]) == "" and stats.chance_heading([math.nan]) == ""


def test_initialisation_verdicts_carry_holm():
    rows = []
    for init, values in {"scratch": [0.90, 0.91, 0.92], "frozen": [0.80, 0.82, 0.81]}.items():
        for seed, value in enumerate(values):
            rows.append({"model_id": f"{init}-x", "initialisation": init, "seed": seed,
                         "test_accuracy": value, "diverged": False})  # fmt: skip
    out = stats.initialisation_verdicts(
        pd.DataFrame(rows), {"scratch": "scratch-x", "frozen": "frozen-x"}
    )
    # one claim: Holm leaves its p as it is
    assert out["p (Holm)"].tolist() == pytest.approx(out["p"].tolist())
    assert out["verdict after Holm"].tolist() == ["holds"]


def test_expected_half_width_and_the_seeds_it_takes():
    # c4(3) = sqrt(pi)/2 = 0.886227; t(2) = 4.302653: 4.302653 * 0.886227 * 3 / sqrt(3)
    assert stats.expected_half_width(3.0, 3) == pytest.approx(4.302653 * 0.886227 * 3 / 3**0.5)
    # c4(10) = 0.972659; t(9) = 2.262157
    assert stats.expected_half_width(1.0, 10) == pytest.approx(2.262157 * 0.972659 / 10**0.5)
    assert math.isnan(stats.expected_half_width(1.0, 1))
    n = stats.seeds_for_half_width(3.0, 2.0)
    assert stats.expected_half_width(3.0, n) <= 2.0 < stats.expected_half_width(3.0, n - 1)
    assert stats.seeds_for_half_width(0.1, 2.0) == stats.MIN_SEEDS  # never fewer than 3
    with pytest.raises(ValueError, match="more than 5 seeds"):
        stats.seeds_for_half_width(10.0, 0.1, most=5)
