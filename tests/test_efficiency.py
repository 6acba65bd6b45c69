"""Gains over scratch, the crossover and the opening paragraph on synthetic tables with
known answers."""

import math

import pandas as pd
import pytest

from aeflow import efficiency
from aeflow.efficiency import EfficiencyError

SIZES = (100, 1000, 10000, 50000)
SEEDS = (0, 1, 2)
NOISE = {0: -0.002, 1: 0.0, 2: 0.002}  # the same per seed in every arm: paired differences exact


def table(gain_by_arm, scratch=0.8, labels_missing_at=None):
    """Rows for scratch/frozen/finetune at every size and seed; ``gain_by_arm[init][size]``
    is that arm's accuracy minus scratch's (exactly, for every seed)."""
    rows = []
    for init in ("scratch", "frozen", "finetune"):
        for size in SIZES:
            for seed in SEEDS:
                gain = 0.0 if init == "scratch" else gain_by_arm[init][size]
                rows.append({
                    "model_id": f"{init}-{size}", "seed": seed, "initialisation": init,
                    "labels": math.nan if size == labels_missing_at else size,
                    "test_accuracy": scratch + gain + NOISE[seed] * (1 + size / 1000),
                    "diverged": False,
                })  # fmt: skip
    return pd.DataFrame(rows)


def rows_of(frame, all_labels=None):
    return efficiency.study_rows(frame, frame["model_id"].unique(), all_labels)


PAYS_SMALL = {
    "finetune": {100: 0.10, 1000: 0.04, 10000: 0.0, 50000: -0.01},
    "frozen": {100: 0.05, 1000: -0.02, 10000: -0.05, 50000: -0.08},
}


def test_gains_are_the_paired_differences():
    gain = efficiency.gains(rows_of(table(PAYS_SMALL)))
    for _, row in gain.iterrows():
        assert row["mean"] == pytest.approx(PAYS_SMALL[row["initialisation"]][row["labels"]])
        assert row["n"] == 3
        assert row["high"] - row["low"] == pytest.approx(0, abs=1e-9)  # no spread across seeds


def test_crossover_is_the_largest_size_with_the_interval_above_zero():
    gain = efficiency.gains(rows_of(table(PAYS_SMALL)))
    assert efficiency.crossover(gain) == {"frozen": 100, "finetune": 1000}


def test_crossover_needs_the_whole_interval_above_zero():
    noisy = table(PAYS_SMALL)
    # finetune at 1000 labels: +4 points for two seeds, −5 for the third → interval reaches below 0
    hit = (noisy["initialisation"] == "finetune") & (noisy["labels"] == 1000) & (noisy["seed"] == 2)
    noisy.loc[hit, "test_accuracy"] -= 0.09
    gain = efficiency.gains(rows_of(noisy))
    at = gain[(gain["initialisation"] == "finetune") & (gain["labels"] == 1000)].iloc[0]
    assert at["mean"] > 0 and at["low"] < 0
    assert efficiency.crossover(gain)["finetune"] == 100


def test_opening_paragraph_states_gains_and_crossovers():
    text = efficiency.opening_paragraph(efficiency.gains(rows_of(table(PAYS_SMALL))))
    assert "With 100 labels, fine-tuning the pretrained encoder gives +10.0 points" in text
    assert "up to 1,000 labels, and from 10,000 labels on it no longer does" in text
    assert "the frozen pretrained encoder gives +5.0 points" in text
    assert "never pays" not in text


def test_opening_paragraph_says_when_pretraining_never_pays():
    never = {arm: {s: -0.03 for s in SIZES} for arm in ("frozen", "finetune")}
    gain = efficiency.gains(rows_of(table(never)))
    assert efficiency.crossover(gain) == {"frozen": None, "finetune": None}
    text = efficiency.opening_paragraph(gain)
    assert "-3.0 points" in text
    assert text.endswith(
        "In these runs, autoencoder pretraining never pays (at no size is a gain's whole "
        "95 % interval above zero)."
    )


def test_pays_at_every_size():
    always = {arm: {s: 0.02 for s in SIZES} for arm in ("frozen", "finetune")}
    gain = efficiency.gains(rows_of(table(always)))
    assert efficiency.crossover(gain) == {"frozen": 50000, "finetune": 50000}
    assert "at every size up to 50,000 labels" in efficiency.opening_paragraph(gain)


def test_curves_mean_and_interval_per_arm_and_size():
    curve = efficiency.curves(rows_of(table(PAYS_SMALL)))
    assert len(curve) == 3 * len(SIZES)
    at = curve[(curve["initialisation"] == "scratch") & (curve["labels"] == 100)].iloc[0]
    assert at["mean"] == pytest.approx(0.8)
    assert at["low"] < 0.8 < at["high"] and at["n"] == 3


def test_all_labels_rows_get_the_training_size():
    frame = table(PAYS_SMALL, labels_missing_at=50000)
    with pytest.raises(EfficiencyError, match="training-set size"):
        rows_of(frame)
    assert sorted(rows_of(frame, all_labels=50000)["labels"].unique()) == list(SIZES)


def test_without_scratch_or_rows_raises():
    frame = table(PAYS_SMALL)
    with pytest.raises(EfficiencyError, match="scratch"):
        efficiency.gains(rows_of(frame[frame["initialisation"] != "scratch"]))
    with pytest.raises(EfficiencyError, match="no classifier metrics"):
        efficiency.study_rows(frame, ["nothing"])


def test_label_efficiency_figure(tmp_path):
    from aeflow import plots

    curve = efficiency.curves(rows_of(table(PAYS_SMALL)))
    plots.label_efficiency(curve, tmp_path / "fig" / "label_efficiency.png")
    png = (tmp_path / "fig" / "label_efficiency.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    with pytest.raises(ValueError, match="empty"):
        plots.label_efficiency(curve.iloc[0:0], tmp_path / "empty.png")


def test_gain_table_for_the_report():
    out = efficiency.gain_table(efficiency.gains(rows_of(table(PAYS_SMALL))))
    finetune = out[out["initialisation"] == "finetune"].set_index("labels")
    assert finetune.loc[100, "test accuracy − scratch (points, 95 % interval)"].startswith(
        "10.00 ["
    )
    assert finetune["whole interval above zero"].tolist() == [True, True, False, False]
    assert set(finetune["crossover (largest such size)"]) == {"1,000"}
