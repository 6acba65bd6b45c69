"""How many replicate seeds a label-efficiency study needs where the variance is. Prints,
from a finished run's classifier metrics, per pretrained arm and number of labels: the
seed pairs measured, the standard deviation of the gain over scratch across them, the
half-width of its 95 % interval now, and the seeds for an expected half-width of
``--points`` (default 2) points (:func:`aeflow.report.efficiency.seeds_needed`).

    .venv/bin/python benchmarks/seeds.py -d /tmp/stats-var/run [--points 2]

``-d``: the run's working directory (its ``results/tables``, or the per-run
``results/classifier/*/seed*/metrics.parquet`` files of a run still going). Every
classifier with a ``labels`` value is used.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from aeflow.report import efficiency


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--directory", type=Path, default=Path("."))
    parser.add_argument("--points", type=float, default=2.0, help="target half-width")
    args = parser.parse_args()
    table = args.directory / "results" / "tables" / "classifier_metrics.parquet"
    if table.exists():
        metrics = pd.read_parquet(table)
    else:
        runs = sorted((args.directory / "results" / "classifier").glob("*/seed*/metrics.parquet"))
        metrics = pd.concat([pd.read_parquet(p) for p in runs], ignore_index=True)
    metrics = metrics[metrics["labels"].notna()]
    rows = efficiency.study_rows(metrics, metrics["model_id"].unique())
    out = efficiency.seeds_needed(rows, args.points / 100)
    out[["sd", "half"]] *= 100
    print(out.to_string(index=False, float_format="%.2f"))


if __name__ == "__main__":
    main()
