"""Did every size of a label-efficiency run train to its plateau? Prints, from a finished
run's tables, per arm and number of labels: the epoch kept and the epochs run by each
seed, the optimiser steps run, whether early stopping ended the run, the validation
accuracy over the last epochs run (flat: a plateau) and the test accuracy (mean of the
seeds).

    .venv/bin/python benchmarks/plateau.py -d /tmp/le2 [--last 5]

``-d``: the run's working directory (its ``results/tables``). Every classifier with a
``labels`` value is shown (a configuration that leaves ``labels`` out is not).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from aeflow.report import efficiency


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--directory", type=Path, default=Path("."))
    parser.add_argument("--last", type=int, default=5, help="validation epochs shown")
    args = parser.parse_args()
    tables = args.directory / "results" / "tables"
    metrics = pd.read_parquet(tables / "classifier_metrics.parquet")
    metrics = metrics[metrics["labels"].notna()]
    rows = efficiency.study_rows(metrics, metrics["model_id"].unique())
    histories = pd.read_parquet(
        tables / "histories.parquet",
        filters=[("kind", "==", "classifier"), ("split", "==", "validation"),
                 ("metric", "==", "accuracy")],
    )  # fmt: skip
    out = []
    for (arm, labels), group in rows.groupby(["arm", "labels"], sort=True):
        seeds = []
        for run in group.sort_values("seed").itertuples():
            curve = histories[(histories["model_id"] == run.model_id)
                              & (histories["seed"] == run.seed)].sort_values("epoch")  # fmt: skip
            last = " ".join(f"{100 * v:.1f}" for v in curve["value"].tail(args.last))
            steps = run.epochs_run * -(-int(labels) // int(run.batch_size))
            seeds.append(
                f"seed {run.seed}: kept {run.best_epoch}/{run.epochs_run} ({steps} steps"
                f"{', stopped early' if run.stopped_early else ''}); last: {last}"
            )
        out.append({"arm": arm, "labels": int(labels),
                    "test accuracy %": 100 * group["test_accuracy"].mean(),
                    "runs": " | ".join(seeds)})  # fmt: skip
    table = efficiency.in_arm_order(pd.DataFrame(out))
    with pd.option_context("display.max_colwidth", None, "display.width", 250):
        print(table.to_string(index=False, float_format="%.1f"))


if __name__ == "__main__":
    main()
