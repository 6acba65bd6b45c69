"""The statistics of a study's findings on synthetic tables with hand-computed answers:
a seed's single reported run against the prediction interval for one run of aeflow's."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from aeflow import findings, stats


def study(reported):
    return {"reported": [{"model": "classifier", "id": "clf", "label": "base",
                          "metric": metric, "value": value, "source": "report 000"}
                         for metric, value in reported]}  # fmt: skip


def runs(values, column="test_accuracy"):
    return pd.DataFrame(
        {"model_id": "clf", "seed": range(len(values)), "diverged": False, column: values}
    )


def test_prediction_interval_against_a_hand_computation():
    # 0.90, 0.91, 0.93: mean 0.913333, sd 0.015275; t(2) = 4.302653
    # half-width for one more run: 4.302653 * 0.015275 * sqrt(1 + 1/3) = 0.075892
    est = stats.Estimate.of([0.90, 0.91, 0.93])
    low, high = stats.prediction_interval(est)
    assert (low, high) == (pytest.approx(0.913333 - 0.075892, abs=2e-6),
                           pytest.approx(0.913333 + 0.075892, abs=2e-6))  # fmt: skip
    # twice the mean's half-width (sqrt(n + 1) = 2 times s/sqrt(n) at n = 3)
    assert (high - low) / 2 == pytest.approx(2 * est.half)
    assert all(math.isnan(x) for x in stats.prediction_interval(stats.Estimate.of([0.9, 0.91])))


def test_the_issues_example_two_seeds_give_no_verdict():
    # report 000's scratch 92.37 % against aeflow's 90.34 and 90.86 %: the mean's interval
    # [87.30, 93.90] holds it, but two seeds cannot say where one more run would land
    out = findings.reported_beside_replicated(
        study([("test_accuracy", 0.9237)]), runs([]), runs([0.9034, 0.9086])
    ).iloc[0]
    assert out["95 % low"] < 0.9237 < out["95 % high"]
    assert out["reported against one run"] == "needs ≥ 3 seeds"
    assert math.isnan(out["one run 95 % low"])


def test_a_third_seed_settles_it_outside_what_one_run_gives():
    # 0.9034, 0.9086, 0.9060: mean 0.9060, sd 0.0026; half 4.302653 * 0.0026 * sqrt(4/3)
    out = findings.reported_beside_replicated(
        study([("test_accuracy", 0.9237)]), runs([]), runs([0.9034, 0.9086, 0.9060])
    ).iloc[0]
    half = 4.302653 * 0.0026 * math.sqrt(4 / 3)
    assert out["one run 95 % high"] == pytest.approx(0.9060 + half)  # 0.9189 < 0.9237
    assert out["reported against one run"] == "outside what one run gives"
    # its own sampling error: a binomial on the 10 000 test images, sqrt(p(1 - p)/N)
    assert out["reported test-set se"] == pytest.approx(math.sqrt(0.9237 * 0.0763 / 10_000))
    shown = findings.reported_display(
        findings.reported_beside_replicated(
            study([("test_accuracy", 0.9237)]), runs([]), runs([0.9034, 0.9086, 0.9060])
        )
    ).iloc[0]
    assert shown["reported (one run)"] == "92.37 % (se 0.27 points, 10 000 test images)"
    assert shown["reported value"] == "outside what one run gives"


def test_accuracy_intervals_stay_inside_zero_and_one():
    out = findings.reported_beside_replicated(
        study([("test_accuracy", 0.99)]), runs([]), runs([0.97, 0.99, 1.0])
    ).iloc[0]
    assert out["one run 95 % high"] == 1.0 and out["95 % high"] == 1.0
    assert out["one run 95 % low"] == pytest.approx(
        0.986667 - 4.302653 * stats.Estimate.of([0.97, 0.99, 1.0]).sd * math.sqrt(4 / 3),
        abs=1e-6,
    )
    # a loss is not clipped
    loss = findings.reported_beside_replicated(
        study([("test_loss", 0.01)]), runs([]), runs([0.0, 0.01, 0.03], "test_loss")
    ).iloc[0]
    assert loss["one run 95 % low"] < 0 and math.isnan(loss["reported test-set se"])


def test_binomial_se_and_clip():
    assert stats.binomial_se(0.5, 100) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="trials must be positive"):
        stats.binomial_se(0.5, 0)
    assert stats.clip(-0.2, 1.3, (0.0, 1.0)) == (0.0, 1.0)
    assert stats.clip(-0.2, 1.3, None) == (-0.2, 1.3)
    low, high = stats.clip(math.nan, math.nan, (0.0, 1.0))
    assert math.isnan(low) and math.isnan(high)
