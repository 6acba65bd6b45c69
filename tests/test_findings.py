"""The statistics of a study's findings on synthetic tables with hand-computed answers:
a seed's single reported run against the prediction interval for one run of aeflow's."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from aeflow.report import findings, stats


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


def comparison(a, b, better="higher"):
    return {"claim": f"{a} beats {b}", "source": "report 002", "model": "classifier",
            "kind": "comparison", "a": a, "b": b, "a_label": a, "b_label": b,
            "better": better, "measure": {"type": "column", "column": "test_accuracy",
                                          "label": "test accuracy", "unit": "fraction"}}  # fmt: skip


def test_claim_verdicts_carry_p_values_and_holm_across_the_study():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    scipy_stats = pytest.importorskip("scipy.stats")
    arms = {"x": [0.80, 0.81, 0.82, 0.80], "big": [0.85, 0.86, 0.875, 0.85],
            "small": [0.805, 0.82, 0.825, 0.802], "same": [0.81, 0.80, 0.83, 0.79]}  # fmt: skip
    table = pd.DataFrame([{"model_id": m, "seed": s, "diverged": False, "test_accuracy": v}
                          for m, vs in arms.items() for s, v in enumerate(vs)])  # fmt: skip
    study_ = {"claims": [comparison("big", "x"), comparison("small", "x"), comparison("same", "x")]}
    out = findings.claim_verdicts(study_, table.iloc[0:0], table)
    expected_p = [
        scipy_stats.ttest_rel(arms[a], arms["x"]).pvalue for a in ("big", "small", "same")
    ]
    assert out["p"].tolist() == pytest.approx(expected_p)
    reject, holm, _, _ = multitest.multipletests(expected_p, alpha=0.05, method="holm")
    assert out["p (Holm)"].tolist() == pytest.approx(list(holm))
    # raw: big holds (p 3e-5), small holds (p 0.045), same not settled (p 1); Holm: 0.090 for small
    assert out["verdict"].tolist()[:2] == ["holds", "holds"]
    assert out["verdict"][2].startswith("not settled")
    assert [v == "holds" for v in out["verdict after Holm"]] == list(reject) == [True, False, False]
    assert out["verdict after Holm"][1] == "not settled after Holm"


def test_a_studys_own_seeds_in_words():
    assert findings.seeds_text({"seeds": None, "seeds_by_labels": []}) == ""
    text = findings.seeds_text({"seeds": [0, 1, 2], "seeds_by_labels": [(1000, list(range(12)))]})
    assert text == (
        "This study trains with 3 replicate seeds (0–2); 12 seeds (0–11) up to 1,000 labels."
    )
    assert "(0, 5)" in findings.seeds_text({"seeds": [5, 0]})
