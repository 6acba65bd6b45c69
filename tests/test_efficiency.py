"""Gains over scratch, the crossover and the opening paragraph on synthetic tables with
known answers."""

import math

import pandas as pd
import pytest

from aeflow.report import efficiency, stats
from aeflow.report.efficiency import EfficiencyError

SIZES = (100, 1000, 10000, 50000)
SEEDS = (0, 1, 2)
NOISE = {0: -0.002, 1: 0.0, 2: 0.002}  # the same per seed in every arm: paired differences exact


# arm: (initialisation, hidden); the linear probe is the frozen encoder without hidden layers
ARM_PARAMS = {
    "scratch": ("scratch", "128"),
    "frozen": ("frozen", "128"),
    "finetune": ("finetune", "128"),
    "linear probe": ("frozen", "none"),
}


def table(gain_by_arm, scratch=0.8, labels_missing_at=None):
    """Rows for scratch and every arm of ``gain_by_arm`` at every size and seed;
    ``gain_by_arm[arm][size]`` is that arm's accuracy minus scratch's (exactly, for every
    seed)."""
    rows = []
    for name in ("scratch", *gain_by_arm):
        init, hidden = ARM_PARAMS[name]
        for size in SIZES:
            for seed in SEEDS:
                gain = 0.0 if name == "scratch" else gain_by_arm[name][size]
                rows.append({
                    "model_id": f"{init}-{hidden}-{size}", "seed": seed, "initialisation": init,
                    "hidden": hidden, "labels": math.nan if size == labels_missing_at else size,
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
        assert row["mean"] == pytest.approx(PAYS_SMALL[row["arm"]][row["labels"]])
        assert row["n"] == 3
        assert row["high"] - row["low"] == pytest.approx(0, abs=1e-9)  # no spread across seeds


def test_verdicts_and_crossover_where_the_verdict_changes_sign():
    gain = efficiency.gains(rows_of(table(PAYS_SMALL)))
    words = gain.assign(word=efficiency.verdicts(gain)).set_index(["arm", "labels"])["word"]
    assert words["finetune"].tolist() == ["pays", "pays", "no difference", "costs"]
    assert words["frozen"].tolist() == ["pays", "costs", "costs", "costs"]
    assert efficiency.crossover(gain) == {"frozen": [(100, 1000)], "finetune": [(1000, 50000)]}


def test_crossover_needs_the_whole_interval_above_zero():
    noisy = table(PAYS_SMALL)
    # finetune at 1000 labels: +4 points for two seeds, −5 for the third → interval reaches below 0
    hit = (noisy["initialisation"] == "finetune") & (noisy["labels"] == 1000) & (noisy["seed"] == 2)
    noisy.loc[hit, "test_accuracy"] -= 0.09
    gain = efficiency.gains(rows_of(noisy))
    at = gain[(gain["arm"] == "finetune") & (gain["labels"] == 1000)].iloc[0]
    assert at["mean"] > 0 and at["low"] < 0
    assert efficiency.crossover(gain)["finetune"] == [(100, 50000)]
    text = efficiency.opening_paragraph(gain)
    finetune = next(t for t in text.split("With ") if t.startswith("100 labels, fine-tuning"))
    assert "up to" not in finetune  # one size pays, the next is not settled
    assert "it pays at 100 labels; it costs accuracy at 50,000 labels" in finetune
    assert "it is not settled at 1,000 labels" in finetune
    assert "changes sign between 100 and 50,000 labels" in finetune


def test_opening_paragraph_states_gains_and_crossovers():
    text = efficiency.opening_paragraph(efficiency.gains(rows_of(table(PAYS_SMALL))))
    assert (
        "With 100 labels, fine-tuning the pretrained encoder gives +10.0 points [+10.0, +10.0] "
        "over training from scratch (pays): it pays at every size up to 1,000 labels; it costs "
        "accuracy at 50,000 labels; it makes no difference (within ±1 point) at 10,000 labels; "
        "its verdict changes sign between 1,000 and 50,000 labels."
    ) in text
    assert (
        "the frozen pretrained encoder gives +5.0 points [+5.0, +5.0] over training from "
        "scratch (pays): it pays at 100 labels; it costs accuracy at 1,000, 10,000 and 50,000 "
        "labels; its verdict changes sign between 100 and 1,000 labels."
    ) in text
    assert "never pays" not in text and "At no size" not in text


def gain_frame(intervals, n=5):
    """A gain table with the given intervals (points) per arm and size."""
    return pd.DataFrame([
        {"arm": arm, "labels": size, "mean": (lo + hi) / 200, "low": lo / 100,
         "high": hi / 100, "n": n}
        for arm, by_size in intervals.items() for size, (lo, hi) in by_size.items()
    ])  # fmt: skip


def test_the_issues_case_a_gain_at_the_largest_size_only_is_not_pays_up_to_it():
    # fine-tuning's interval spans zero at 100 and 1 000 labels, above zero at 10 000 only
    gain = gain_frame({"finetune": {100: (-3, 5), 1000: (-1.5, 2), 10000: (0.3, 1.2)}})
    text = efficiency.opening_paragraph(gain)
    assert "up to" not in text
    assert "it pays at 10,000 labels; it is not settled at 100 and 1,000 labels." in text
    assert efficiency.crossover(gain) == {"finetune": []}


def test_not_settled_everywhere_is_not_never_pays():
    gain = gain_frame({"frozen": {100: (-28, 30), 1000: (-5, 3)}, "finetune": {100: (-15, 18)}})
    text = efficiency.opening_paragraph(gain)
    assert "never pays" not in text
    assert text.endswith(
        "At no size does autoencoder pretraining pay in these runs; where the verdict is not "
        "settled, more seeds could still show a gain or a loss."
    )
    assert "it is not settled at 100 and 1,000 labels." in text


def test_never_pays_only_when_every_size_costs_or_makes_no_difference():
    never = {arm: {s: -0.03 for s in SIZES} for arm in ("frozen", "finetune")}
    gain = efficiency.gains(rows_of(table(never)))
    assert efficiency.crossover(gain) == {"frozen": [], "finetune": []}
    text = efficiency.opening_paragraph(gain)
    assert "-3.0 points" in text
    assert "it costs accuracy at 100, 1,000, 10,000 and 50,000 labels." in text
    assert text.endswith(
        "In these runs autoencoder pretraining never pays: at every size it costs accuracy or "
        "makes no difference (within ±1 point)."
    )
    level = gain_frame({"finetune": {100: (-0.8, 0.9), 1000: (-0.5, 0.2)}})
    text = efficiency.opening_paragraph(level)
    assert "it makes no difference (within ±1 point) at 100 and 1,000 labels." in text
    assert "never pays" in text


def test_a_reduced_runs_settled_loss_is_named():
    # the reduced real run (docs/label-efficiency.md): frozen −3.0 [−4.5, −1.5] at 1 000
    gain = gain_frame({"frozen": {100: (-27.2, 29.1), 1000: (-4.5, -1.5), 50000: (-10.4, -0.8)}})
    text = efficiency.opening_paragraph(gain)
    assert "it costs accuracy at 1,000 and 50,000 labels; it is not settled at 100 labels." in text
    assert "At no size does autoencoder pretraining pay" in text


def test_pays_at_every_size():
    always = {arm: {s: 0.02 for s in SIZES} for arm in ("frozen", "finetune")}
    gain = efficiency.gains(rows_of(table(always)))
    assert efficiency.crossover(gain) == {"frozen": [], "finetune": []}
    assert "it pays at every size up to 50,000 labels." in efficiency.opening_paragraph(gain)


def test_a_non_monotone_curve_changes_sign_twice():
    gain = gain_frame({
        "finetune": {100: (1, 4), 300: (0.5, 2), 1000: (-0.4, 0.6), 3000: (-3, -1),
                     10000: (-2, 2), 50000: (0.2, 0.9)},
    })  # fmt: skip
    assert efficiency.crossover(gain) == {"finetune": [(300, 3000), (3000, 50000)]}
    text = efficiency.opening_paragraph(gain)
    assert "it pays at every size up to 300 labels; it also pays at 50,000 labels" in text
    assert "it costs accuracy at 3,000 labels" in text
    assert "no difference (within ±1 point) at 1,000 labels" in text
    assert "not settled at 10,000 labels" in text
    assert "changes sign between 300 and 3,000 labels and again between 3,000 and 50,000" in text
    table_ = efficiency.gain_table(gain)
    assert table_["verdict (no difference: within ±1 point)"].tolist() == [
        "pays", "pays", "no difference", "costs", "not settled", "pays"]  # fmt: skip
    assert set(table_["verdict changes sign between"]) == {"300 and 3,000; 3,000 and 50,000"}


def test_curves_mean_and_interval_per_arm_and_size():
    curve = efficiency.curves(rows_of(table(PAYS_SMALL)))
    assert len(curve) == 3 * len(SIZES)
    at = curve[(curve["arm"] == "scratch") & (curve["labels"] == 100)].iloc[0]
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


def test_intervals_stay_inside_what_an_accuracy_can_take():
    # scratch at 0.985 ± 0.02 over three seeds: its t interval would pass 100 %
    frame = table(PAYS_SMALL, scratch=0.975)
    frame.loc[frame["initialisation"] == "scratch", "test_accuracy"] += frame["seed"] * 0.01
    curve = efficiency.curves(rows_of(frame))
    assert (curve["low"] >= 0).all() and (curve["high"] <= 1).all()
    at = curve[(curve["arm"] == "scratch") & (curve["labels"] == 100)].iloc[0]
    assert at["high"] == 1.0 and at["low"] < at["mean"]
    assert at["values"] == pytest.approx((0.9728, 0.985, 0.9972))
    wide = gain_frame({"frozen": {100: (-150, 120)}})  # a gain lies in [−100, +100] points
    wide_rows = rows_of(table(PAYS_SMALL))
    assert efficiency.GAIN_BOUNDS == (-1.0, 1.0)
    gain = efficiency.gains(wide_rows)
    assert (gain["low"] >= -1).all() and (gain["high"] <= 1).all()
    assert efficiency.verdicts(wide).tolist() == ["not settled"]


def test_label_efficiency_figure_draws_bands_only_from_three_seeds(monkeypatch, tmp_path):
    from matplotlib.collections import PathCollection, PolyCollection

    from aeflow.report import plots

    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig))
    three = efficiency.curves(rows_of(table(PAYS_SMALL)))
    plots.label_efficiency(three, tmp_path / "three.png")
    frame = table(PAYS_SMALL)
    two = efficiency.curves(rows_of(frame[frame["seed"] < 2]))
    plots.label_efficiency(two, tmp_path / "two.png")
    (with_three,), (with_two,) = (f.axes for f in figures)
    bands = [c for c in with_three.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 3 and "95 % band" in with_three.get_title()
    assert not [c for c in with_three.collections if isinstance(c, PathCollection)]
    # two seeds: no band, each run drawn (3 arms × 4 sizes × 2 runs)
    assert not [c for c in with_two.collections if isinstance(c, PolyCollection)]
    points = [c for c in with_two.collections if isinstance(c, PathCollection)]
    assert sum(len(c.get_offsets()) for c in points) == 3 * len(SIZES) * 2
    assert "fewer than 3 seeds: × = each run" in with_two.get_title()


def test_label_efficiency_figure(tmp_path):
    from aeflow.report import plots

    curve = efficiency.curves(rows_of(table(PAYS_SMALL)))
    plots.label_efficiency(curve, tmp_path / "fig" / "label_efficiency.png")
    png = (tmp_path / "fig" / "label_efficiency.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    with pytest.raises(ValueError, match="empty"):
        plots.label_efficiency(curve.iloc[0:0], tmp_path / "empty.png")


def test_gain_table_for_the_report():
    out = efficiency.gain_table(efficiency.gains(rows_of(table(PAYS_SMALL))))
    finetune = out[out["arm"] == "finetune"].set_index("labels")
    assert finetune.loc[100, "test accuracy − scratch (points, 95 % interval)"].startswith(
        "10.00 ["
    )
    words = finetune["verdict (no difference: within ±1 point)"].tolist()
    assert words == ["pays", "pays", "no difference", "costs"]
    assert set(finetune["verdict changes sign between"]) == {"1,000 and 50,000"}


WITH_PROBE = {
    **PAYS_SMALL,
    "linear probe": {100: 0.07, 1000: 0.03, 10000: 0.01, 50000: -0.04},
}


def test_the_frozen_encoder_without_hidden_layers_is_the_linear_probe():
    rows = rows_of(table(WITH_PROBE))
    arms = rows.drop_duplicates(["initialisation", "hidden"]).set_index("arm")
    assert arms.loc["linear probe", ["initialisation", "hidden"]].tolist() == ["frozen", "none"]
    assert arms.loc["frozen", "hidden"] == "128"
    assert efficiency.arm("scratch", "none") == "scratch"  # only a frozen encoder is a probe
    assert efficiency.arm("finetune", "none") == "finetune"


def test_linear_probe_gains_crossover_and_paragraph():
    gain = efficiency.gains(rows_of(table(WITH_PROBE)))
    probe = gain[gain["arm"] == "linear probe"].set_index("labels")["mean"]
    assert probe.to_dict() == pytest.approx(WITH_PROBE["linear probe"])
    # the frozen arm's gains are still the hidden-128 classifiers' (not mixed with the probe's)
    frozen = gain[gain["arm"] == "frozen"].set_index("labels")["mean"]
    assert frozen.to_dict() == pytest.approx(PAYS_SMALL["frozen"])
    assert efficiency.crossover(gain) == {
        "frozen": [(100, 1000)], "finetune": [(1000, 50000)], "linear probe": [(10000, 50000)]}  # fmt: skip
    text = efficiency.opening_paragraph(gain)
    assert (
        "With 100 labels, the linear probe (Linear(n, 10) on the frozen pretrained encoder) "
        "gives +7.0 points"
    ) in text
    assert "it pays at every size up to 10,000 labels; it costs accuracy at 50,000 labels" in text
    table_ = efficiency.gain_table(gain)
    assert list(dict.fromkeys(table_["arm"])) == ["frozen", "finetune", "linear probe"]
    probe_rows = table_[table_["arm"] == "linear probe"]
    assert set(probe_rows["verdict changes sign between"]) == {"10,000 and 50,000"}


def test_curves_in_arm_order_with_the_probe_last():
    curve = efficiency.curves(rows_of(table(WITH_PROBE)))
    assert list(dict.fromkeys(curve["arm"])) == ["scratch", "frozen", "finetune", "linear probe"]
    at = curve[(curve["arm"] == "linear probe") & (curve["labels"] == 100)].iloc[0]
    assert at["mean"] == pytest.approx(0.87)


def test_plateau_table():
    frame = table(WITH_PROBE).assign(batch_size=100, epochs_run=30, best_epoch=30)
    frame["stopped_early"] = False
    small = frame["labels"] == 100
    frame.loc[small, ["epochs_run", "best_epoch", "stopped_early"]] = [80, 60, True]
    frame.loc[(frame["labels"] == 1000) & (frame["seed"] == 0), "stopped_early"] = True
    out = efficiency.plateau_table(rows_of(frame)).set_index(["arm", "labels"])
    assert out.loc[("scratch", 100), "epoch kept / epochs run (per seed)"] == "60/80, 60/80, 60/80"
    assert out.loc[("scratch", 100), "steps per epoch"] == 1
    assert out.loc[("linear probe", 50000), "steps per epoch"] == 500
    assert out.loc[("finetune", 1000), "stopped early"] == "1 of 3"
    reached = out["plateau reached"]
    assert reached[reached].index.get_level_values("labels").unique().tolist() == [100]


def test_the_arms_are_the_registrys_initialisations_then_the_linear_probe():
    from aeflow.plan.hyperparameters import INITIALISATIONS, NO_HIDDEN

    assert efficiency.ARMS == ("scratch", "frozen", "finetune", "linear probe")
    assert efficiency.ARMS[:-1] == INITIALISATIONS
    assert efficiency.SCRATCH not in efficiency.PRETRAINED
    assert efficiency.arm("frozen", NO_HIDDEN) == efficiency.LINEAR_PROBE
    assert efficiency.arm("frozen", 128) == "frozen"


def test_seeds_needed_from_the_spread_of_the_paired_gains():
    frame = table(PAYS_SMALL)
    # finetune at 100 labels: gains +10 ± 3 points over the seeds (sd 3 points)
    hit = (frame["initialisation"] == "finetune") & (frame["labels"] == 100)
    frame.loc[hit, "test_accuracy"] += frame.loc[hit, "seed"].map({0: -0.03, 1: 0.0, 2: 0.03})
    out = efficiency.seeds_needed(rows_of(frame)).set_index(["arm", "labels"])
    at = out.loc[("finetune", 100)]
    assert at["n"] == 3 and at["sd"] == pytest.approx(0.03)
    assert at["seeds"] == stats.seeds_for_half_width(0.03, 0.02)
    assert out.loc[("frozen", 1000), "seeds"] == 3  # no spread: the fewest an interval needs
