"""Per-model rows and their parquet file, without pandas: what a training job writes.

A training job imports torch anyway; leaving pandas out of it saves about a quarter of a
second of start-up per job (``benchmarks/workflow_overhead.py``). The aggregation and
everything that reads the tables use pandas (:mod:`aeflow.report.tables`).
"""

from __future__ import annotations

from pathlib import Path

from aeflow.run import files


def identity(kind: str, model_id: str, seed: int, params: dict) -> dict:
    """The columns in front of every row: the model, its seed and its hyperparameters."""
    return {"kind": kind, "model_id": model_id, "seed": int(seed), **params}


def history_rows(history: list[dict], kind: str, model_id: str, seed: int, params: dict) -> list:
    """One row per epoch, split and metric, with the model's identity in front."""
    front = identity(kind, model_id, seed, params)
    return [
        {**front, "epoch": int(r["epoch"]), "split": r["split"], "metric": r["metric"],
         "value": float(r["value"])}
        for r in history
    ]  # fmt: skip


HISTORY_COLUMNS = ("epoch", "split", "metric", "value")


def write_parquet(rows: list[dict], path: str | Path, columns=None) -> None:
    """Write ``rows`` (dicts with the same keys) as a parquet file, atomically.

    ``columns``: the column names when ``rows`` may be empty."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if rows:
        table = pa.Table.from_pylist(rows)
    else:
        table = pa.table({c: pa.array([], pa.null()) for c in columns or ()})
    with files.atomic_output(path) as tmp:
        pq.write_table(table, tmp)
