"""Replicate statistics and verdicts on synthetic tables with known answers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from aeflow import stats


def test_estimate_matches_hand_computation():
    est = stats.Estimate.of([0.90, 0.92, 0.94])
    assert est.mean == pytest.approx(0.92)
    assert est.sd == pytest.approx(0.02)
    half = 4.303 * 0.02 / math.sqrt(3)
    assert (est.low, est.high) == (pytest.approx(0.92 - half), pytest.approx(0.92 + half))
    assert est.text(100, " %") == "92.00 % [87.03, 96.97] (n=3)"


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
    assert out.loc["seed 000", "verdict"] == "holds"  # scratch − frozen = +10 points
    assert out.loc["seed 000", "measured"].startswith("scratch − frozen: 10.00 points [")
    assert out.loc["seed 001", "verdict"] == "holds"
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
