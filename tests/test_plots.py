import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from aeflow.report import plots  # noqa: E402

CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
AE_BASE = {
    "architecture": "conv",
    "latent": 16,
    "dropout": 0.0,
    "optimizer": "adam",
    "lr": 0.001,
    "batch_size": 128,
    "output_activation": "sigmoid",
    "epochs": 3,
}
CLF_BASE = {
    "architecture": "conv",
    "latent": 16,
    "hidden": 64,
    "dropout": 0.2,
    "optimizer": "adam",
    "lr": 0.001,
    "batch_size": 128,
    "epochs": 3,
}
SEEDS = [0, 1]
EPOCHS = [1, 2, 3]


def _history_rows(kind, model_id, hparams, metrics, diverge_seed=None):
    rows = []
    for seed in SEEDS:
        for epoch in EPOCHS:
            for split in ("train", "validation"):
                for metric in metrics:
                    value = (0.5 / epoch + 0.01 * seed) if metric == "loss" else 0.6 + 0.1 * epoch
                    if split == "validation":
                        value *= 1.05 if metric == "loss" else 0.98
                    if seed == diverge_seed and epoch == 3:
                        value = math.nan
                    rows.append(
                        {
                            "kind": kind,
                            "model_id": model_id,
                            "seed": seed,
                            "epoch": epoch,
                            "split": split,
                            "metric": metric,
                            "value": value,
                            **hparams,
                        }
                    )
    return rows


@pytest.fixture
def histories():
    rows = []
    # Two autoencoder configurations along the lr sweep (one diverges) ...
    rows += _history_rows("autoencoder", "ae-lr0.001", AE_BASE, ["loss"])
    rows += _history_rows(
        "autoencoder", "ae-lr0.1", {**AE_BASE, "lr": 0.1}, ["loss"], diverge_seed=1
    )
    # ... and one that differs on another hyperparameter, so it is not part of the lr sweep.
    rows += _history_rows("autoencoder", "ae-latent32", {**AE_BASE, "latent": 32}, ["loss"])
    for init in ("scratch", "frozen", "finetune"):
        hp = {
            **CLF_BASE,
            "initialisation": init,
            "autoencoder_id": None if init == "scratch" else "ae-lr0.001",
        }
        rows += _history_rows("classifier", f"clf-{init}", hp, ["loss", "accuracy"])
    return pd.DataFrame(rows)


@pytest.fixture
def classifier_metrics():
    rows = []
    for i, init in enumerate(("scratch", "frozen", "finetune")):
        for seed in SEEDS:
            rows.append(
                {
                    "model_id": f"clf-{init}",
                    "seed": seed,
                    **CLF_BASE,
                    "initialisation": init,
                    "test_loss": 0.3,
                    "test_accuracy": 0.85 + 0.02 * i + 0.01 * seed,
                    "test_macro_f1": 0.84,
                    "diverged": False,
                    "diverged_epoch": np.nan,
                    "epochs_run": 3,
                    "train_seconds": 1.0,
                }
            )
    rows[-1].update(diverged=True, diverged_epoch=2, test_accuracy=0.10)
    return pd.DataFrame(rows)


@pytest.fixture
def confusion():
    rng = np.random.default_rng(0)
    rows = []
    for init in ("scratch", "frozen", "finetune"):
        for seed in SEEDS:
            for t in range(10):
                for p in range(10):
                    count = int(rng.integers(80, 100)) if t == p else int(rng.integers(0, 5))
                    rows.append(
                        {
                            "model_id": f"clf-{init}",
                            "seed": seed,
                            "initialisation": init,
                            "true_label": t,
                            "true_name": CLASS_NAMES[t],
                            "predicted_label": p,
                            "predicted_name": CLASS_NAMES[p],
                            "count": count,
                        }
                    )
    return pd.DataFrame(rows)


def assert_png(path, min_width=300, min_height=200):
    assert path.exists()
    assert path.read_bytes()[:4] == b"\x89PNG"
    image = mpimg.imread(path)
    height, width = image.shape[:2]
    assert width >= min_width and height >= min_height
    assert width < 5000 and height < 5000
    assert image.std() > 0  # not a blank canvas


# ---------------------------------------------------------------- sweep


def test_select_sweep_keeps_only_the_sweep(histories):
    selected = plots._select_sweep(histories, "autoencoder", AE_BASE, "lr")
    assert set(selected["model_id"]) == {"ae-lr0.001", "ae-lr0.1"}
    selected = plots._select_sweep(histories, "autoencoder", AE_BASE, "latent")
    assert set(selected["model_id"]) == {"ae-lr0.001", "ae-latent32"}


def test_select_sweep_float_tolerance_and_unknown_keys(histories):
    base = {**AE_BASE, "dropout": 1e-13, "not_a_column": "x"}
    selected = plots._select_sweep(histories, "autoencoder", base, "lr")
    assert set(selected["model_id"]) == {"ae-lr0.001", "ae-lr0.1"}


def test_select_sweep_none_matches_missing(histories):
    base = {**CLF_BASE, "autoencoder_id": None}
    selected = plots._select_sweep(histories, "classifier", base, "lr")
    assert set(selected["model_id"]) == {"clf-scratch"}


def test_sweep_raises_when_nothing_matches(histories, tmp_path):
    with pytest.raises(ValueError, match="lr"):
        plots.sweep_curves(
            histories, "autoencoder", {**AE_BASE, "latent": 999}, "lr", tmp_path / "x.png"
        )
    with pytest.raises(ValueError, match="momentum"):
        plots.sweep_curves(histories, "autoencoder", AE_BASE, "momentum", tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_plot_sweep_draws_train_and_validation_per_value(histories):
    selected = plots._select_sweep(histories, "autoencoder", AE_BASE, "lr")
    fig, ax = plt.subplots()
    lines = plots._plot_sweep(ax, selected, "lr", "loss")
    assert len(lines) == 4  # 2 lr values x (train, validation)
    assert len(ax.get_lines()) == 4
    assert sorted(line.get_linestyle() for line in lines) == ["-", "-", "--", "--"]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "lr=0.001" in labels and "lr=0.1 (diverged: 1/2 seeds)" in labels
    assert "train" in labels and "validation" in labels
    for line in lines:  # only finite parts are drawn
        assert np.isfinite(line.get_ydata()).all()
    plt.close(fig)


def test_plot_sweep_all_seeds_diverged(histories):
    one_seed = histories[histories["seed"] == 1]
    selected = plots._select_sweep(one_seed, "autoencoder", AE_BASE, "lr")
    fig, ax = plt.subplots()
    lines = plots._plot_sweep(ax, selected, "lr", "loss")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "lr=0.1 (diverged)" in labels
    diverged_lines = [line for line in lines if len(line.get_xdata()) == 2]
    assert len(diverged_lines) == 2  # train and validation stop before the NaN epoch
    plt.close(fig)


def test_sweep_curves_writes_png(histories, tmp_path):
    out = tmp_path / "figs" / "ae_lr.png"
    plots.sweep_curves(histories, "autoencoder", AE_BASE, "lr", out)
    assert_png(out)


def test_sweep_curves_single_seed_single_epoch(histories, tmp_path):
    one = histories[(histories["seed"] == 0) & (histories["epoch"] == 1)]
    out = tmp_path / "one.png"
    plots.sweep_curves(one, "autoencoder", AE_BASE, "lr", out)
    assert_png(out)


# ---------------------------------------------------------------- reconstructions


def test_reconstructions_grid(tmp_path):
    torch.manual_seed(0)
    originals = (torch.rand(8, 28, 28) * 255).to(torch.uint8)
    recs = {"latent=8": torch.rand(8, 28, 28), "latent=32": torch.rand(8, 1, 28, 28) * 1.2}
    out = tmp_path / "recon.png"
    plots.reconstructions_grid(originals, recs, out)
    assert_png(out, min_width=300, min_height=150)


def test_reconstructions_grid_single_image(tmp_path):
    out = tmp_path / "recon1.png"
    plots.reconstructions_grid(torch.rand(1, 28, 28), {"model": torch.rand(1, 28, 28)}, out)
    assert_png(out, min_width=200, min_height=100)


# ---------------------------------------------------------------- classifiers


def test_classifier_curves(histories, tmp_path):
    out = tmp_path / "clf.png"
    ids = {"scratch": "clf-scratch", "frozen": "clf-frozen", "finetune": "clf-finetune"}
    plots.classifier_curves(histories, ids, out)
    assert_png(out, min_width=800)


def test_classifier_curves_single_seed_and_epoch(histories, tmp_path):
    one = histories[(histories["seed"] == 0) & (histories["epoch"] == 1)]
    out = tmp_path / "clf1.png"
    plots.classifier_curves(one, {"scratch": "clf-scratch"}, out)
    assert_png(out)


def test_classifier_curves_unknown_model(histories, tmp_path):
    with pytest.raises(ValueError, match="nope"):
        plots.classifier_curves(histories, {"x": "nope"}, tmp_path / "x.png")


def test_confusion_table_sums_over_seeds(confusion):
    table = plots._confusion_table(confusion, "clf-frozen")
    assert table.shape == (10, 10)
    assert list(table.index) == CLASS_NAMES and list(table.columns) == CLASS_NAMES
    expected = confusion[confusion["model_id"] == "clf-frozen"]["count"].sum()
    assert table.to_numpy().sum() == expected


@pytest.mark.parametrize("normalize", [True, False])
def test_confusion_matrices(confusion, tmp_path, normalize):
    out = tmp_path / f"cm_{normalize}.png"
    ids = {"scratch": "clf-scratch", "frozen": "clf-frozen", "finetune": "clf-finetune"}
    plots.confusion_matrices(confusion, ids, out, normalize=normalize)
    assert_png(out, min_width=1200)


def test_many_confusion_matrices_wrap_into_rows(confusion, tmp_path):
    """A study's figure shows every classifier its claims name: seven here, in rows of
    three (one row of seven would be over 40 inches wide)."""
    ids = {f"{init} {k}": f"clf-{init}" for k in range(3) for init in ("scratch", "frozen")}
    ids["finetune"] = "clf-finetune"
    one_row = tmp_path / "one.png"
    plots.confusion_matrices(confusion, dict(list(ids.items())[:3]), one_row)
    wrapped = tmp_path / "seven.png"
    plots.confusion_matrices(confusion, ids, wrapped)
    assert_png(wrapped, min_width=1200, min_height=1200)
    one_h, one_w = mpimg.imread(one_row).shape[:2]
    h, w = mpimg.imread(wrapped).shape[:2]
    assert abs(w - one_w) < 0.05 * one_w and h > 2.5 * one_h  # three columns, three rows


def test_accuracy_by_group(classifier_metrics, tmp_path):
    out = tmp_path / "acc.png"
    plots.accuracy_by_group(classifier_metrics, "initialisation", out)
    assert_png(out)


def test_accuracy_by_group_single_seed(classifier_metrics, tmp_path):
    out = tmp_path / "acc1.png"
    plots.accuracy_by_group(
        classifier_metrics[classifier_metrics["seed"] == 0], "initialisation", out
    )
    assert_png(out)


def test_mean_ci():
    mean, (below, above) = plots._mean_ci([0.8, 0.85, 0.9])
    assert mean == pytest.approx(0.85)
    half = 4.302653 * np.std([0.8, 0.85, 0.9], ddof=1) / np.sqrt(3)
    assert (below, above) == (pytest.approx(half), pytest.approx(half))
    # clipped to what an accuracy can take: 0.85 + 0.124 would pass 1
    mean, (below, above) = plots._mean_ci([0.8, 0.85, 0.9], bounds=(0.0, 0.9))
    assert below == pytest.approx(half) and above == pytest.approx(0.05)
    # fewer than three seeds: no error bar, the runs are the points
    assert plots._mean_ci([0.8, 0.9]) == (pytest.approx(0.85), (0.0, 0.0))
    assert plots._mean_ci([0.5]) == (0.5, (0.0, 0.0))


@pytest.mark.parametrize("n_seeds", [3, 12, 20, 30])
def test_error_bars_are_the_tables_intervals(monkeypatch, tmp_path, n_seeds):
    """The figure's error bar and the report's table interval for the same numbers are
    one interval (12 and 20 seeds: 11 and 19 degrees of freedom, where they once differed)."""
    from matplotlib.container import ErrorbarContainer

    from aeflow.report import stats, tables

    rng = np.random.default_rng(n_seeds)
    metrics = pd.DataFrame(
        [
            {"initialisation": init, "seed": s, "diverged": False,
             "test_accuracy": 0.8 + shift + 0.02 * rng.standard_normal()}
            for init, shift in [("scratch", 0.05), ("frozen", 0.0)]  # intervals inside [0, 1]
            for s in range(n_seeds)
        ]
    )  # fmt: skip
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig))
    plots.accuracy_by_group(metrics, "initialisation", tmp_path / "acc.png")
    (ax,) = figures[0].axes
    bars = {}
    for container, name in zip(
        [c for c in ax.containers if isinstance(c, ErrorbarContainer)], ["scratch", "frozen"]
    ):
        _, _, (barlines,) = container.lines
        ((_, low), (_, high)) = barlines.get_segments()[0]
        bars[name] = ((low + high) / 2, (high - low) / 2)
    plt.close(figures[0])
    summary = tables.summarise(metrics, ["initialisation"], ["test_accuracy"])
    summary = summary.set_index("initialisation")
    for name in ["scratch", "frozen"]:
        values = metrics.loc[metrics["initialisation"] == name, "test_accuracy"]
        estimate = stats.Estimate.of(values)
        mean, half = bars[name]
        assert mean == pytest.approx(100 * summary.loc[name, "test_accuracy mean"])
        assert half == pytest.approx(100 * summary.loc[name, "test_accuracy ci95"])
        assert half == pytest.approx(100 * estimate.half)
        assert half == pytest.approx(
            100 * stats.t_quantile(n_seeds - 1) * values.std(ddof=1) / math.sqrt(n_seeds)
        )


def probe_metrics():
    """Three autoencoders, two seeds: the lower the MSE (the larger the latent), the higher
    the linear probe (Spearman ρ −1 against MSE); the k-NN peaks at latent 64 (ρ −0.5
    against MSE, +0.5 against n). A fourth, diverged autoencoder is left out."""
    rows = []
    for k, (latent, mse, knn, linear) in enumerate(
        [(16, 0.030, 0.70, 0.60), (64, 0.020, 0.80, 0.70), (256, 0.010, 0.75, 0.80)]
    ):
        for seed, noise in ((0, -0.01), (1, 0.01)):
            rows.append({"model_id": f"conv-{k}", "seed": seed, "architecture": "conv",
                         "latent": latent, "test_mse": mse + noise / 10,
                         "test_knn_accuracy": knn + noise, "test_linear_probe_accuracy": linear,
                         "diverged": False})  # fmt: skip
    rows.append({"model_id": "conv-bad", "seed": 0, "architecture": "conv", "latent": 8,
                 "test_mse": math.inf, "test_knn_accuracy": 0.1,
                 "test_linear_probe_accuracy": 0.1, "diverged": True})  # fmt: skip
    return pd.DataFrame(rows)


def test_probe_figure_means_intervals_and_rank_correlations(tmp_path, monkeypatch):
    table = plots._per_autoencoder(probe_metrics(), ["test_mse", *plots.PROBES])
    assert list(table["model_id"]) == ["conv-0", "conv-1", "conv-2"]  # diverged one left out
    at = table.set_index("latent")
    assert at.loc[64, "test_knn_accuracy"] == pytest.approx(0.80)
    # two seeds 0.79 and 0.81: t(1) quantile 12.706 × sd 0.01414 / sqrt(2)
    assert at.loc[64, "test_knn_accuracy_half"] == pytest.approx(12.706 * 0.01, rel=1e-3)
    assert at.loc[64, "test_linear_probe_accuracy_half"] == pytest.approx(0)

    drawn = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: drawn.append(fig))
    plots.probes(probe_metrics(), tmp_path / "probes.png")
    (mse_axis, latent_axis) = drawn[0].axes
    mse_legend = [t.get_text() for t in mse_axis.get_legend().get_texts()]
    latent_legend = [t.get_text() for t in latent_axis.get_legend().get_texts()]
    assert mse_legend == [
        "k-NN (k = 20), Spearman ρ = -0.50",
        "linear probe, Spearman ρ = -1.00",
    ]
    assert latent_legend == [
        "k-NN (k = 20), Spearman ρ = +0.50",
        "linear probe, Spearman ρ = +1.00",
    ]
    assert "Probes of 3 autoencoders (mean of 2 seeds" in drawn[0]._suptitle.get_text()
    plt.close(drawn[0])


def test_probe_figure_writes_a_png_and_names_missing_columns(tmp_path):
    plots.probes(probe_metrics(), tmp_path / "fig" / "probes.png")
    assert (tmp_path / "fig" / "probes.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="lack test_knn_accuracy"):
        plots.probes(probe_metrics().drop(columns="test_knn_accuracy"), tmp_path / "x.png")


def test_report_time_jobs_leave_out_the_libraries_they_never_use():
    """A figure job (scripts/plot_*.py) starts without torch, and the tables, evaluation
    and report jobs without scipy until a statistic asks for it: ~1.3 s and ~0.5 s of
    every such job's start-up (the reconstructions import torch where they draw)."""
    import subprocess
    import sys

    code = (
        "import sys; from aeflow.report import document, tables; "
        "print(sorted(m for m in ('torch', 'scipy') if m in sys.modules)); "
        "from aeflow.report import stats; stats.half_width(1.0, 3); "
        "print('scipy' in sys.modules); "
        "from aeflow.report import plots; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split("\n")[:3] == ["[]", "True", "False"]
