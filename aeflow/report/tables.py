"""Tidy tables: per-model frames and their aggregation into the study's parquet files."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from aeflow.report import stats
from aeflow.run import files, records


def slug(name: str) -> str:
    """Class name → column-friendly slug: "T-shirt/top" → "t_shirt_top"."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _with_params(
    frame: pd.DataFrame, kind: str, model_id: str, seed: int, params: dict
) -> pd.DataFrame:
    front = {"kind": kind, "model_id": model_id, "seed": int(seed), **params}
    for i, (key, value) in enumerate(front.items()):
        frame.insert(i, key, [value] * len(frame))
    return frame


def history_frame(
    history: list[dict], kind: str, model_id: str, seed: int, params: dict
) -> pd.DataFrame:
    """One row per epoch, split and metric, with the model's hyperparameters (the rows
    of :func:`aeflow.run.records.history_rows`, which a training job writes without pandas)."""
    rows = records.history_rows(history, kind, model_id, seed, params)
    columns = [*records.identity(kind, model_id, seed, params), *records.HISTORY_COLUMNS]
    return pd.DataFrame(rows, columns=columns)


def metrics_frame(kind: str, model_id: str, seed: int, params: dict, values: dict) -> pd.DataFrame:
    """One row: the model's identity, hyperparameters and metric values."""
    return _with_params(pd.DataFrame([values]), kind, model_id, seed, params)


def classifier_values(scores: dict, summary: dict, classes: list[str]) -> dict:
    """Flatten :func:`aeflow.run.metrics.classification_scores` and a training summary."""
    values = {
        "test_loss": scores["loss"],
        "test_accuracy": scores["accuracy"],
        "test_macro_f1": scores["macro_f1"],
    }
    for name, p, r in zip(classes, scores["precision"], scores["recall"]):
        values[f"precision_{slug(name)}"] = p
        values[f"recall_{slug(name)}"] = r
    return {**values, **summary_values(summary)}


def summary_values(summary: dict) -> dict:
    """Training summary columns: final losses (of the epoch whose weights the model
    keeps: the best one under early stopping), divergence, epochs run, the epoch kept,
    whether early stopping ended training, seconds."""
    return {
        **{k: float(v) for k, v in sorted(summary.items()) if k.startswith("final_")},
        "diverged": bool(summary["diverged"]),
        "diverged_epoch": summary["diverged_epoch"],
        "epochs_run": int(summary["epochs_run"]),
        "best_epoch": int(summary.get("best_epoch") or summary["epochs_run"]),
        "stopped_early": bool(summary.get("stopped_early", False)),
        "train_seconds": float(summary["train_seconds"]),
    }


def confusion_frame(
    model_id: str, seed: int, params: dict, matrix, classes: list[str]
) -> pd.DataFrame:
    """One row per (true class, predicted class) with its count, zeros included."""
    rows = [
        {
            "true_label": t,
            "true_name": classes[t],
            "predicted_label": p,
            "predicted_name": classes[p],
            "count": int(matrix[t][p]),
        }
        for t in range(len(classes))
        for p in range(len(classes))
    ]
    frame = pd.DataFrame(rows)
    frame.insert(0, "model_id", model_id)
    frame.insert(1, "seed", int(seed))
    frame.insert(2, "initialisation", params.get("initialisation"))
    return frame


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a parquet file atomically (temporary file, then rename)."""
    with files.atomic_output(path) as tmp:
        frame.to_parquet(tmp, index=False)


def combine(paths: list[str | Path]) -> pd.DataFrame:
    """Concatenate per-model parquet files into one table (columns unioned)."""
    frames = [pd.read_parquet(p) for p in paths]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True, sort=False)


def varying(frame: pd.DataFrame, keys, at_least: str) -> list[str]:
    """The columns of ``keys`` that take more than one value in ``frame`` (the ones worth
    grouping by), or ``[at_least]`` when none does."""
    out = [k for k in keys if k in frame and frame[k].nunique(dropna=False) > 1]
    return out or [at_least]


def summarise(metrics: pd.DataFrame, by: list[str], values: list[str]) -> pd.DataFrame:
    """Mean, standard deviation, 95 % interval half-width and number of seeds of
    ``values`` per group of ``by``.

    Diverged runs are counted apart (``diverged`` column) and left out of the means.
    """
    ok = metrics[~metrics["diverged"].astype(bool)] if "diverged" in metrics else metrics
    grouped = ok.groupby(by, dropna=False, sort=True, observed=True)
    out = grouped[values].agg(["mean", "std"])
    out.columns = [f"{v} {stat}" for v, stat in out.columns]
    out["seeds"] = grouped.size()
    for v in values:
        half = [stats.half_width(sd, n) for sd, n in zip(out[f"{v} std"], out["seeds"])]
        out.insert(out.columns.get_loc(f"{v} std") + 1, f"{v} ci95", half)
    if "diverged" in metrics:
        # every group, including one whose runs all diverged (seeds 0, means NaN)
        diverged = metrics.groupby(by, dropna=False, sort=True, observed=True)["diverged"].sum()
        out = out.reindex(diverged.index)
        out["seeds"] = out["seeds"].fillna(0).astype(int)
        out["diverged"] = diverged.astype(int)
    return out.reset_index()
