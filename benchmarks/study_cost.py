"""Projected CPU (or GPU) time of a config's whole study: every distinct configuration is
trained for a slice of the real training data, its time per image extrapolated to a full
epoch (plus validation), then multiplied by its epochs and the number of seeds.

    .venv/bin/python benchmarks/study_cost.py                          # config/config.yaml
    .venv/bin/python benchmarks/study_cost.py --configfile config/quick.yaml --images 1000

Prints one row per configuration and a table per study, and the total over distinct
configurations (a configuration shared by studies counts once). Early stopping can end a
training sooner, so those rows are upper bounds; per-job start-up (about 1.8 s, see
benchmarks/workflow_overhead.py) is added per training job.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

from aeflow import data, devices, grid, metrics, models, studies, training

ROOT = Path(__file__).resolve().parents[1]
JOB_START = 1.8  # seconds of start-up per training job (benchmarks/workflow_overhead.py)


def load_config(path: Path) -> dict:
    from snakemake.utils import validate

    config = yaml.safe_load(path.read_text())
    validate(config, str(ROOT / "config" / "schema.yaml"))  # fills the defaults
    return config


def real_split(folder: Path, images: int) -> dict:
    def idx(name, kind):
        return data.read_idx(folder / name, kind)

    train_x = idx("train-images-idx3-ubyte.gz", "images")
    train_y = idx("train-labels-idx1-ubyte.gz", "labels")
    return {
        "train_images": train_x[:images],
        "train_labels": train_y[:images],
        "validation_images": train_x[-1000:],
        "validation_labels": train_y[-1000:],
        "classes": [str(i) for i in range(10)],
    }


def seconds_per_epoch(params, kind, split, device, n_train, n_val) -> float:
    """The second of two epochs of ``params`` over the slice, timed, scaled to ``n_train``
    images, plus validation of ``n_val`` images (timed on the 1 000 validation images)."""
    slice_size = len(split["train_images"])
    batch = min(params["batch_size"], slice_size)
    timed = {**params, "batch_size": batch, "epochs": 1, "patience": 0}
    torch.manual_seed(0)
    if kind == "autoencoder":
        model = models.build_autoencoder(timed)
    else:
        model = models.build_classifier(timed)
        if params["initialisation"] == "frozen":
            model.freeze_encoder()
    lines = []
    training.train(
        model, split, task=kind, epochs=2, batch_size=batch, optimizer=timed["optimizer"],
        lr=timed["lr"], seed=0, device=device, log=lines.append,
    )  # fmt: skip
    # the second epoch: the first one pays for warm-up (allocations, oneDNN primitives)
    second = float(next(x for x in lines if x.startswith("epoch 2/")).rsplit("seconds=", 1)[1])
    started = time.perf_counter()
    metrics.evaluate_split(
        model.to(device), kind, split["validation_images"].to(device),
        split["validation_labels"].to(device), metrics.eval_batch_size(device),
    )  # fmt: skip
    validation = time.perf_counter() - started  # for 1 000 images
    train_only = second - validation  # an epoch's time includes its validation
    return max(train_only, 0.0) * n_train / slice_size + validation * n_val / 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, default=ROOT / "config" / "config.yaml")
    parser.add_argument("--images", type=int, default=2000, help="training images timed")
    parser.add_argument("--data", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_config(args.configfile)
    subset = config["data"].get("subset") or {}
    n_train = (
        subset.get("train") or config["data"]["train_images"] - config["data"]["validation_size"]
    )
    n_val = subset.get("validation") or config["data"]["validation_size"]
    seeds = len(config["seeds"])
    ae = grid.autoencoder_grid(config["autoencoder"], train_size=n_train)
    ae_base = grid.canonical(
        grid.base_params(config["autoencoder"]["base"], grid.AUTOENCODER_KEYS), n_train
    )
    clf = grid.classifier_grid(config["classifier"], ae_base, ae, train_size=n_train)
    found, study_ae, study_clf = studies.expand_studies(config, ae, n_train)
    ae.update(study_ae)
    clf.update(study_clf)
    split = real_split(args.data, args.images)
    device = devices.select_device(args.device)

    rows = []
    for kind, configurations in (("autoencoder", ae), ("classifier", clf)):
        for model_id, params in configurations.items():
            epoch = seconds_per_epoch(params, kind, split, device, n_train, n_val)
            hours = seeds * (params["epochs"] * epoch + JOB_START) / 3600
            rows.append({"kind": kind, "model_id": model_id, "architecture": params["architecture"],
                         "batch_size": params["batch_size"], "epochs": params["epochs"],
                         "s_per_epoch": epoch, "hours_all_seeds": hours})  # fmt: skip
            print(f"{model_id:28s} {params['architecture']:10s} batch {params['batch_size']:>5} "
                  f"{epoch:8.2f} s/epoch  {hours:6.2f} h for {seeds} seeds", flush=True)  # fmt: skip
    table = pd.DataFrame(rows).set_index("model_id")
    print()
    per_study = []
    main_ids = set(grid.autoencoder_grid(config["autoencoder"], train_size=n_train))
    main_ids |= set(grid.classifier_grid(config["classifier"], ae_base, ae, train_size=n_train))
    groups = {"main grid": main_ids} | {
        name: set(s["autoencoders"]) | set(s["classifiers"]) for name, s in found.items()
    }
    for name, ids in groups.items():
        part = table.loc[sorted(ids)]
        per_study.append({"study": name, "configurations": len(part),
                          "trainings": len(part) * seeds,
                          "hours": part["hours_all_seeds"].sum()})  # fmt: skip
    per_study.append({"study": "all (distinct configurations)", "configurations": len(table),
                      "trainings": len(table) * seeds,
                      "hours": table["hours_all_seeds"].sum()})  # fmt: skip
    print(pd.DataFrame(per_study).to_string(index=False, float_format="%.2f"))
    print(f"\n{args.device}, {torch.get_num_threads()} threads, one job at a time; "
          f"{n_train} training images, {seeds} seeds")  # fmt: skip


if __name__ == "__main__":
    main()
