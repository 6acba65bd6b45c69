"""Figures for the study: sweeps, reconstructions, classifier curves, confusion matrices.

Every function takes DataFrames / tensors / dicts plus an output path, writes one PNG
there (creating parent folders) and returns None. Nothing here knows about Snakemake
or fixed paths.
"""

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from aeflow.plan.hyperparameters import INITIALISATIONS  # noqa: E402
from aeflow.plan.units import shown_in_percent  # noqa: E402
from aeflow.report import stats  # noqa: E402

DPI = 120
SPLIT_STYLE = {"train": "-", "validation": "--"}

sns.set_theme(style="whitegrid", context="notebook")


# ---------------------------------------------------------------- helpers


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI, format="png", bbox_inches="tight")  # legends outside
    plt.close(fig)


def _fmt(value):
    """Short label for a hyperparameter value (0.001, 64, 'adam')."""
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else f"{value:g}"
    return str(value)


def _matches(column, wanted):
    """Boolean mask: column equals wanted (floats with a tolerance, None matches NaN)."""
    if wanted is None or (isinstance(wanted, float) and math.isnan(wanted)):
        return column.isna()
    if isinstance(wanted, (int, float, np.number)) and not isinstance(wanted, bool):
        numeric = pd.to_numeric(column, errors="coerce").astype(float)
        return pd.Series(
            np.isclose(numeric, float(wanted), rtol=1e-6, atol=1e-12), index=column.index
        )
    return column.astype(object) == wanted


def _mean_over_seeds(runs):
    """runs: rows of one line (any number of seeds/models) for one split and metric.

    Returns (curve, diverged): curve has columns epoch, mean, low, high, n over the
    finite values only; diverged is the set of (model_id, seed) with a non-finite value.
    """
    values = runs["value"].astype(float)
    finite = np.isfinite(values)
    diverged = set(map(tuple, runs.loc[~finite, ["model_id", "seed"]].to_numpy().tolist()))
    ok = runs.loc[finite].assign(value=values[finite])
    curve = (
        ok.groupby("epoch")["value"]
        .agg(mean="mean", low="min", high="max", n="count")
        .reset_index()
        .sort_values("epoch")
    )
    return curve, diverged


def _draw_curve(ax, curve, color, linestyle, band):
    (line,) = ax.plot(
        curve["epoch"],
        curve["mean"],
        color=color,
        linestyle=linestyle,
        marker="o" if len(curve) == 1 else None,
        markersize=4,
    )
    if band and (curve["n"] > 1).any():
        ax.fill_between(
            curve["epoch"], curve["low"], curve["high"], color=color, alpha=0.15, linewidth=0
        )
    return line


def _diverged_note(diverged, n_runs):
    if not diverged:
        return ""
    return (
        " (diverged)" if len(diverged) == n_runs else f" (diverged: {len(diverged)}/{n_runs} seeds)"
    )


def _split_legend_handles():
    return [
        Line2D([], [], color="black", linestyle=style, label=split)
        for split, style in SPLIT_STYLE.items()
    ]


def _maybe_log(ax, curves):
    """Log-scale y when the positive finite values span more than one decade."""
    values = (
        pd.concat([c[["low", "high", "mean"]] for c in curves if len(c)], ignore_index=True)
        if curves
        else None
    )
    if values is None or values.empty:
        return
    values = values.to_numpy().ravel()
    values = values[np.isfinite(values) & (values > 0)]
    if len(values) and values.max() / values.min() > 10:
        ax.set_yscale("log")


def _integer_epochs(ax):
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))


# ---------------------------------------------------------------- sweeps


def _select_sweep(histories, kind, base, param):
    """Rows of `kind` whose hyperparameters equal `base` everywhere except on `param`."""
    rows = histories[histories["kind"] == kind]
    if param not in rows.columns:
        raise ValueError(f"sweep parameter {param!r} is not a column of the histories")
    for key, wanted in base.items():
        if key == param or key not in rows.columns:
            continue
        rows = rows[_matches(rows[key], wanted)]
    rows = rows[rows[param].notna()]
    if rows.empty:
        raise ValueError(f"no {kind} runs match the base configuration while varying {param!r}")
    return rows


def _plot_sweep(ax, selected, param, metric):
    """Draw the sweep on `ax`; returns the list of data lines drawn (legend handles are separate)."""
    rows = selected[selected["metric"] == metric]
    if rows.empty:
        raise ValueError(f"no {metric!r} values for the runs varying {param!r}")
    values = sorted(rows[param].unique())
    numeric = all(isinstance(v, (int, float, np.number)) for v in values)
    colors = sns.color_palette("viridis" if numeric else "deep", len(values))
    lines, handles, curves = [], [], []
    for value, color in zip(values, colors):
        runs = rows[rows[param] == value]
        n_seeds = runs[["model_id", "seed"]].drop_duplicates().shape[0]
        diverged_runs = set()
        for split, style in SPLIT_STYLE.items():
            curve, diverged = _mean_over_seeds(runs[runs["split"] == split])
            diverged_runs |= diverged
            if len(curve):
                lines.append(_draw_curve(ax, curve, color, style, band=n_seeds > 1))
                curves.append(curve)
        label = f"{param}={_fmt(value)}" + _diverged_note(diverged_runs, n_seeds)
        handles.append(Line2D([], [], color=color, label=label))
    if metric == "loss":
        _maybe_log(ax, curves)
    _integer_epochs(ax)
    ax.legend(handles=handles + _split_legend_handles(), fontsize="small", loc="best")
    return lines


def sweep_curves(histories, kind, base, param, path, metric="loss", model_ids=None):
    """Training curves of a one-factor-at-a-time sweep over `param` around `base`
    (among the models in `model_ids` when given: one study's)."""
    if model_ids is not None:
        histories = histories[histories["model_id"].isin(list(model_ids))]
    selected = _select_sweep(histories, kind, base, param)
    n_seeds = selected["seed"].nunique()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _plot_sweep(ax, selected, param, metric)
    spread = f"mean over {n_seeds} seeds, band = min–max" if n_seeds > 1 else "1 seed"
    ax.set_title(f"{kind.capitalize()}: {metric} vs epoch by {param}\n({spread})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    _save(fig, path)


# ---------------------------------------------------------------- reconstructions


def _as_images(x):
    """[k,28,28] or [k,1,28,28], uint8 or float in [0,1] -> float [k,1,28,28] in [0,1]."""
    import torch  # only the reconstructions need it: every other figure job saves ~1.3 s

    x = torch.as_tensor(x).detach().cpu()
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return x.clamp(0.0, 1.0)


def reconstructions_grid(originals, reconstructions, path):
    """Originals on top, one row of reconstructions per label below."""
    from torchvision.utils import make_grid  # only this figure needs torchvision (~1 s)

    rows = {"original": _as_images(originals)}
    rows.update({label: _as_images(images) for label, images in reconstructions.items()})
    k = rows["original"].shape[0]
    fig, axes = plt.subplots(
        len(rows), 1, figsize=(max(6.0, 0.6 * k + 0.5), 1.05 * len(rows) + 0.7), squeeze=False
    )
    for ax, (label, images) in zip(axes[:, 0], rows.items()):
        grid = make_grid(images, nrow=k, padding=2, pad_value=1.0)[0]
        ax.imshow(grid.numpy(), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title(label, loc="left", fontsize="small", pad=3)  # labels can be long
    fig.suptitle("Test images and their reconstructions")
    _save(fig, path)


# ---------------------------------------------------------------- classifiers


def _palette(n):
    return sns.color_palette("deep" if n <= 10 else "husl", n)


def _curves(histories, model_ids, path, panels, title):
    """One panel per (metric, title, y label, scale); one colour per label -> model_id."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels) + 1, 4.5), squeeze=False)
    colors = _palette(len(model_ids))
    handles, loss_curves = [], []
    for (label, model_id), color in zip(model_ids.items(), colors):
        runs = histories[histories["model_id"] == model_id]
        if runs.empty:
            raise ValueError(f"no history rows for {label!r} (model_id {model_id!r})")
        n_seeds = runs["seed"].nunique()
        diverged_runs = set()
        for ax, (metric, _, _, scale) in zip(axes[0], panels):
            for split, style in SPLIT_STYLE.items():
                curve, diverged = _mean_over_seeds(
                    runs[(runs["metric"] == metric) & (runs["split"] == split)]
                )
                diverged_runs |= diverged
                if len(curve):
                    curve[["mean", "low", "high"]] *= scale
                    _draw_curve(ax, curve, color, style, band=n_seeds > 1)
                    if metric == "loss":
                        loss_curves.append(curve)
        handles.append(
            Line2D([], [], color=color, label=label + _diverged_note(diverged_runs, n_seeds))
        )
    for ax, (metric, name, ylabel, _) in zip(axes[0], panels):
        if metric == "loss":
            _maybe_log(ax, loss_curves)
        ax.set_title(f"{name} vs epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        _integer_epochs(ax)
    fig.suptitle(title)
    fig.tight_layout()
    # below the panels (figure legends are outside tight_layout; the saved image grows)
    fig.legend(
        handles=handles + _split_legend_handles(),
        fontsize="small",
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=1 if max(len(h.get_label()) for h in handles) > 40 else 2,
    )
    _save(fig, path)


def classifier_curves(histories, model_ids, path):
    """Loss and accuracy vs epoch for a few classifiers (label -> model_id)."""
    panels = [
        ("loss", "Loss", "cross-entropy loss", 1.0),
        ("accuracy", "Accuracy", "accuracy (%)", 100.0),
    ]
    _curves(histories, model_ids, path, panels, "Classifiers: mean over seeds (band = min–max)")


def autoencoder_curves(histories, model_ids, path):
    """Reconstruction loss vs epoch for several autoencoders (label -> model_id)."""
    panels = [("loss", "Reconstruction loss", "MSE per pixel", 1.0)]
    _curves(histories, model_ids, path, panels, "Autoencoders: mean over seeds (band = min–max)")


def _confusion_table(confusion, model_id):
    """Counts summed over seeds as a [true x predicted] DataFrame indexed by class name."""
    rows = confusion[confusion["model_id"] == model_id]
    if rows.empty:
        raise ValueError(f"no confusion rows for model_id {model_id!r}")
    names = rows.drop_duplicates("true_label").set_index("true_label")["true_name"].sort_index()
    table = rows.pivot_table(
        index="true_label", columns="predicted_label", values="count", aggfunc="sum", fill_value=0
    )
    table = table.reindex(index=names.index, columns=names.index, fill_value=0)
    table.index = list(names)
    table.columns = list(names)
    return table


CONFUSION_COLUMNS = 3  # matrices per row of the figure


def confusion_matrices(confusion, model_ids, path, normalize=True):
    """Confusion-matrix heatmaps (label -> model_id), summed over seeds, side by side in
    rows of at most :data:`CONFUSION_COLUMNS`."""
    tables = {label: _confusion_table(confusion, model_id) for label, model_id in model_ids.items()}
    n = len(tables)
    cols = min(n, CONFUSION_COLUMNS)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 5.8 * rows + 0.4), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    vmax = 100.0 if normalize else max(float(t.to_numpy().max()) for t in tables.values())
    for i, (ax, (label, counts)) in enumerate(zip(axes.flat, tables.items())):
        total = counts.to_numpy().sum()
        accuracy = 100.0 * np.trace(counts.to_numpy()) / total if total else float("nan")
        shown = (
            counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0) * 100
            if normalize
            else counts
        )
        sns.heatmap(
            shown,
            ax=ax,
            annot=True,
            fmt=".1f" if normalize else "d",
            annot_kws={"fontsize": 7},
            cmap="Blues",
            vmin=0,
            vmax=vmax,
            square=True,
            cbar=i % cols == cols - 1 or i == n - 1,
            cbar_kws={"label": "% of true class" if normalize else "count", "shrink": 0.8},
        )
        ax.set_title(f"{label} (accuracy {accuracy:.2f} %)")
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class" if i % cols == 0 else "")
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
        ax.tick_params(axis="y", labelrotation=0, labelsize=8)
        for tick in ax.get_xticklabels():
            tick.set_ha("right")
    n_seeds = confusion["seed"].nunique()
    unit = "row-normalised, % of true class" if normalize else "counts"
    fig.suptitle(
        f"Test-set confusion matrices (summed over {n_seeds} seed{'s' * (n_seeds != 1)}, {unit})"
    )
    _save(fig, path)


# ---------------------------------------------------------------- accuracy by group


def _mean_ci(values, bounds=None):
    """Mean and the distances below and above it of its 95 % t interval
    (:class:`aeflow.report.stats.Estimate`), clipped to ``bounds``; (0, 0), no error bar, with
    fewer than :data:`aeflow.report.stats.MIN_SEEDS` values (the runs are shown instead)."""
    estimate = stats.Estimate.of(values)
    if estimate.n < stats.MIN_SEEDS:
        return estimate.mean, (0.0, 0.0)
    low, high = stats.clip(estimate.low, estimate.high, bounds)
    return estimate.mean, (estimate.mean - low, high - estimate.mean)


def _title_case(name):
    return name.replace("_", " ").capitalize()


def accuracy_by_group(metrics, group, path, value="test_accuracy", order=None):
    """One point per seed plus mean ± 95 % t-interval per group value; diverged runs marked ×.

    ``order``: the group values left to right (default: initialisations, then sorted)."""
    percent = shown_in_percent(value)
    data = metrics[[group, value]].copy()
    data[value] = data[value].astype(float) * (100.0 if percent else 1.0)
    diverged = (
        metrics["diverged"].fillna(False).astype(bool)
        if "diverged" in metrics
        else pd.Series(False, data.index)
    )
    present = list(data[group].dropna().unique())
    if order is None:
        order = [g for g in INITIALISATIONS if g in present] + sorted(
            g for g in present if g not in INITIALISATIONS
        )
    else:
        order = [g for g in order if g in present]
    data[group] = pd.Categorical(data[group], categories=order)
    ok = data[~diverged & np.isfinite(data[value])]
    bad = data[diverged & np.isfinite(data[value])]

    fig, ax = plt.subplots(
        figsize=(max(4.5, 1.2 * len(order) + 2), 4.5 + (1.5 if len(order) > 3 else 0))
    )
    handles = []
    if len(ok):
        sns.stripplot(
            data=ok,
            x=group,
            y=value,
            order=order,
            ax=ax,
            color="tab:blue",
            size=6,
            jitter=0.1,
            alpha=0.8,
        )
        handles.append(Line2D([], [], marker="o", color="tab:blue", linestyle="", label="one seed"))
    if len(bad):
        positions = bad[group].cat.codes.to_numpy()
        ax.scatter(positions, bad[value], marker="x", color="tab:red", s=50, zorder=3)
        handles.append(
            Line2D([], [], marker="x", color="tab:red", linestyle="", label="diverged (excluded)")
        )
    bounds = (0.0, 100.0) if percent else None
    for i, name in enumerate(order):
        mean, (below, above) = _mean_ci(ok.loc[ok[group] == name, value], bounds)
        if np.isfinite(mean):
            ax.errorbar(i + 0.25, mean, yerr=[[below], [above]], fmt="D", color="black",
                        capsize=5, markersize=6, zorder=4)  # fmt: skip
    label = f"mean ± 95 % CI (from {stats.MIN_SEEDS} seeds on)"
    handles.append(Line2D([], [], marker="D", color="black", label=label))
    ax.set_xticks(range(len(order)))
    long_labels = max((len(str(g)) for g in order), default=0) > 12
    ax.set_xticklabels(
        order, rotation=30 if long_labels else 0, ha="right" if long_labels else "center"
    )
    ax.set_xlim(-0.5, len(order) - 0.5)
    ax.set_xlabel(group)
    ax.set_ylabel(_title_case(value) + (" (%)" if percent else ""))
    title = f"{_title_case(value)} by {group}"
    n_hidden = int((diverged & ~np.isfinite(data[value])).sum())
    if len(bad) or n_hidden:
        title += f"\n({int(diverged.sum())} diverged run(s) excluded from the mean)"
    ax.set_title(title)
    ax.legend(handles=handles, fontsize="small", loc="best")
    _save(fig, path)


# ---------------------------------------------------------------- label efficiency


def label_efficiency(curve, path, value_label="Test accuracy"):
    """Accuracy against the number of labelled training images (log axis): one line per
    arm (scratch, frozen, finetune, linear probe) through its mean over seeds, with a
    band for its 95 % interval where the size has at least :data:`aeflow.report.stats.MIN_SEEDS`
    seeds (the interval is clipped to [0, 1]: :func:`aeflow.report.efficiency.curves`), else
    the runs themselves as points.

    ``curve``: :func:`aeflow.report.efficiency.curves` (arm, labels, mean, low, high, n, values),
    whose order of arms is the legend's."""
    if curve.empty:
        raise ValueError("label_efficiency: empty curve table")
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    order = list(dict.fromkeys(curve["arm"]))
    few = curve["n"] < stats.MIN_SEEDS
    for color, name in zip(_palette(len(order)), order):
        line = curve[curve["arm"] == name].sort_values("labels")
        ax.plot(line["labels"], 100 * line["mean"], marker="o", color=color, label=name)
        banded = line[np.isfinite(line["low"]) & (line["n"] >= stats.MIN_SEEDS)]
        if len(banded):
            ax.fill_between(
                banded["labels"], 100 * banded["low"], 100 * banded["high"], color=color, alpha=0.2
            )
        for _, row in line[line["n"] < stats.MIN_SEEDS].iterrows():
            runs = np.asarray(row["values"], dtype=float)
            ax.scatter(np.full(len(runs), row["labels"]), 100 * runs, marker="x", color=color,
                       s=30, zorder=3)  # fmt: skip
    ax.set_xscale("log")
    sizes = sorted(curve["labels"].unique())
    ax.set_xticks(sizes)
    ax.set_xticklabels([f"{int(s):,}" for s in sizes], rotation=30 if len(sizes) > 4 else 0)
    ax.minorticks_off()
    ax.set_xlabel("Labelled training images")
    ax.set_ylabel(f"{value_label} (%)")
    seeds = sorted(set(curve["n"]))
    seeds_text = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]}"
    if few.all():
        spread = f"fewer than {stats.MIN_SEEDS} seeds: × = each run"
    elif few.any():
        spread = f"95 % band; × = each run where fewer than {stats.MIN_SEEDS} seeds"
    else:
        spread = "95 % band"
    ax.set_title(f"{value_label} by number of labels\n(mean of {seeds_text} seeds, {spread})")
    ax.legend(title="arm", fontsize="small")
    _save(fig, path)


# ---------------------------------------------------------------- latent maps


def latent_maps(
    maps, labels, classes, path, title="Test-set latents of the base autoencoder", columns=None
):
    """Small multiples of two-dimensional maps of the same points, coloured by class.

    ``maps``: {panel title: [N, 2] array} (e.g. PCA and t-SNE of one autoencoder, or one
    PCA per autoencoder of a study), drawn row by row, ``columns`` per row (default: all
    in one row); ``labels``: [N] class indices."""
    if not maps:
        raise ValueError("latent_maps: no maps to draw")
    labels = np.asarray(labels)
    colors = sns.color_palette("tab10", len(classes))
    columns = min(columns or len(maps), len(maps))
    rows = -(-len(maps) // columns)
    size = 5 if rows == 1 and columns <= 3 else 3.2
    fig, axes = plt.subplots(
        rows, columns, figsize=(size * columns + 2, size * rows), squeeze=False
    )
    for ax in axes.flat[len(maps) :]:
        ax.set_visible(False)
    for ax, (name, points) in zip(axes.flat, maps.items()):
        points = np.asarray(points)
        if len(points) != len(labels):
            raise ValueError(f"latent_maps: {name} has {len(points)} points, {len(labels)} labels")
        for c, (color, cls) in enumerate(zip(colors, classes)):
            at = labels == c
            ax.scatter(points[at, 0], points[at, 1], s=4, color=color, alpha=0.7, label=cls)
        ax.set_title(name, fontsize="medium" if size > 4 else "small")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][-1].legend(
        *axes[0][0].get_legend_handles_labels(),
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        markerscale=3,
        fontsize="small",
    )
    fig.suptitle(f"{title} ({len(labels)} images)")
    _save(fig, path)


# ---------------------------------------------------------------- probes

PROBES = {"test_knn_accuracy": "k-NN (k = 20)", "test_linear_probe_accuracy": "linear probe"}


def _per_autoencoder(metrics, columns):
    """One row per autoencoder: each column's mean and 95 % half-width over its seeds
    (diverged runs and non-finite values left out), with its latent size and architecture."""
    ok = (
        metrics[~metrics["diverged"].fillna(False).astype(bool)]
        if "diverged" in metrics
        else metrics
    )
    rows = []
    for model_id, group in ok.groupby("model_id", sort=True):
        row = {"model_id": model_id, "latent": int(group["latent"].iloc[0]),
               "architecture": group["architecture"].iloc[0]}  # fmt: skip
        for column in columns:
            e = stats.Estimate.of(group[column])
            row[column], row[f"{column}_half"] = e.mean, (e.half if e.n > 1 else 0.0)
        rows.append(row)
    table = pd.DataFrame(rows)
    return table[np.isfinite(table[list(columns)]).all(axis=1)] if len(table) else table


def probes(metrics, path):
    """Probe accuracy of every autoencoder (k-NN and linear probe on its frozen latent)
    against its test reconstruction MSE and against its latent size n: one point per
    autoencoder and probe, the mean over seeds with 95 % interval bars (both axes); the
    Spearman rank correlation across autoencoders in each legend entry.

    ``metrics``: autoencoder metrics with ``test_mse``, ``latent``, ``architecture`` and
    the :data:`PROBES` columns (one row per autoencoder and seed)."""
    missing = [c for c in ("test_mse", "latent", "architecture", *PROBES) if c not in metrics]
    if missing:
        raise ValueError(f"probes: the autoencoder metrics lack {', '.join(missing)}")
    table = _per_autoencoder(metrics, ["test_mse", *PROBES])
    if table.empty:
        raise ValueError("probes: no autoencoder with finite test MSE and probe accuracies")
    import scipy.stats

    seeds = int(metrics["seed"].nunique())
    markers = dict(zip(sorted(table["architecture"].unique()), "osD^vP*X"))
    colors = dict(zip(PROBES, _palette(len(PROBES))))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for ax, x in zip(axes, ("test_mse", "latent")):
        for column in PROBES:
            for arch, marker in markers.items():
                at = table[table["architecture"] == arch]
                ax.errorbar(
                    at[x], 100 * at[column], yerr=100 * at[f"{column}_half"],
                    xerr=at["test_mse_half"] if x == "test_mse" else None,
                    fmt=marker, color=colors[column], capsize=3, markersize=6, alpha=0.85,
                )  # fmt: skip
        ax.set_xscale("log", base=10 if x == "test_mse" else 2)
        if x == "latent":
            sizes = sorted(table["latent"].unique())
            ax.set_xticks(sizes)
            ax.set_xticklabels([str(s) for s in sizes])
            ax.minorticks_off()
        ax.set_xlabel(
            "Test reconstruction MSE per pixel (log)" if x == "test_mse" else "Latent size n (log)"
        )
        handles = []
        for column, name in PROBES.items():
            rho = (
                scipy.stats.spearmanr(table[x], table[column]).statistic
                if len(table) > 2 and table[x].nunique() > 1
                else math.nan
            )
            text = f", Spearman ρ = {rho:+.2f}" if math.isfinite(rho) else ""
            handles.append(Line2D([], [], color=colors[column], marker="o", linestyle="",
                                  label=f"{name}{text}"))  # fmt: skip
        if len(markers) > 1:
            handles += [Line2D([], [], color="gray", marker=m, linestyle="", label=a)
                        for a, m in markers.items()]  # fmt: skip
        ax.legend(handles=handles, fontsize="small", loc="best")
    axes[0].set_ylabel("Test accuracy of the probe (%)")
    axes[0].set_title("Probe accuracy against reconstruction error")
    axes[1].set_title("Probe accuracy against latent size")
    fig.suptitle(
        f"Probes of {len(table)} autoencoder{'s' * (len(table) != 1)} "
        f"(mean of {seeds} seed{'s' * (seeds != 1)}, bars: 95 % intervals)"
    )
    _save(fig, path)
