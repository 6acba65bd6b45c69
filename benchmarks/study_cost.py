"""Projected CPU (or GPU) time of a config's whole study: every distinct configuration is
trained for a slice of the real training data, its time per image extrapolated to a full
epoch (plus validation), then multiplied by its epochs and the number of seeds.

    .venv/bin/python benchmarks/study_cost.py                          # config/config.yaml
    .venv/bin/python benchmarks/study_cost.py --configfile config/quick.yaml --images 1000

Prints one row per configuration (measured, and as aeflow/plan/cost.py's constants project
it) and a table per study, and the total over distinct configurations (a configuration
shared by studies counts once). Early stopping can end a training sooner, so those rows
are upper bounds; per-job start-up (aeflow.plan.cost.JOB_START, see
benchmarks/workflow_overhead.py) is added per training job.

    .venv/bin/python benchmarks/study_cost.py --device cuda --pack     # the study's wall time
                                                                       # on a GPU, in packs

    .venv/bin/python benchmarks/study_cost.py --projected              # seconds, no timing

prints the same tables from aeflow/plan/cost.py's constants alone (what the plan projects).

    .venv/bin/python benchmarks/study_cost.py --constants --images 1000

instead times the first configuration of each kind and architecture at two batch sizes
and prints the table of per-image and per-batch costs to paste into aeflow/plan/cost.py
(CPU_COST), which the plan printed before a run uses.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

from aeflow.plan import cost, plan, studies
from aeflow.plan.cost import JOB_START
from aeflow.run import data, devices, metrics, models, packed, training

ROOT = Path(__file__).resolve().parents[1]


def load_config(path: Path) -> dict:
    from snakemake.utils import validate

    config = yaml.safe_load(path.read_text())
    validate(config, str(ROOT / "config" / "schema.yaml"))  # fills the defaults
    return config


def real_split(folder: Path, images: int) -> dict:
    def idx(name, kind):
        return data.read_idx(folder / name, kind)

    train_x = idx("train-images-idx3-ubyte.gz", "images")
    train_y = idx("train-labels-idx1-ubyte.gz", "labels").long()  # as aeflow.run.data.split
    return {
        "train_images": train_x[:images],
        "train_labels": train_y[:images],
        "validation_images": train_x[-1000:],
        "validation_labels": train_y[-1000:],
        "classes": [str(i) for i in range(10)],
    }


def seconds_per_epoch(params, kind, split, device, n_train, n_val, pack=1) -> float:
    """The second of two epochs of ``params`` over the slice, timed, scaled to ``n_train``
    images, plus validation of ``n_val`` images (timed on the 1 000 validation images);
    ``pack`` > 1: of that many seeds trained as one pack (aeflow.run.packed), all of them."""
    train_only, validation = epoch_parts(params, kind, split, device, pack)
    return train_only * n_train / len(split["train_images"]) + validation * n_val / 1000


def epoch_parts(params, kind, split, device, pack=1) -> tuple[float, float]:
    """Seconds of the second of two epochs over the slice, training only, and seconds of
    validating the 1 000 validation images (by each of the ``pack`` models)."""
    slice_size = len(split["train_images"])
    batch = min(params["batch_size"], slice_size)
    timed = {**params, "batch_size": batch, "epochs": 2, "patience": 0, "min_steps": 0}
    members, lines = [], []
    for seed in range(pack):
        torch.manual_seed(seed)
        if kind == "autoencoder":
            model = models.build_autoencoder(timed)
        else:
            model = models.build_classifier(timed)
            if params["initialisation"] == "frozen":
                model.freeze_encoder()
        options = training.TrainOptions.from_params(kind, timed, seed, slice_size)
        members.append(packed.Member(model, split, options, torch.get_rng_state()))
    if pack == 1:
        training.run(model, split, members[0].options, device, log=lines.append)
    else:
        packed.train_pack(members, device, log=lines.append)
    # the second epoch: the first one pays for warm-up (allocations, oneDNN primitives);
    # in a pack each member's line carries its share of the pack's epoch
    second = sum(float(x.rsplit("seconds=", 1)[1]) for x in lines if "epoch 2/" in x)
    started = time.perf_counter()
    metrics.evaluate_split(
        model.to(device), kind, split["validation_images"].to(device),
        split["validation_labels"].to(device), metrics.eval_batch_size(device),
    )  # fmt: skip
    validation = (time.perf_counter() - started) * pack  # for 1 000 images, each model
    train_only = second - validation  # an epoch's time includes its validation
    return max(train_only, 0.0), validation


def constants(ae, clf, split, device):
    """aeflow.plan.cost.CPU_COST measured: per kind and architecture, the first configuration
    timed at its batch size and at a quarter of it, fitted as a + b / batch per image."""
    slice_size = len(split["train_images"])
    first = {}
    for kind, configurations in (("autoencoder", ae), ("classifier", clf)):
        for params in configurations.values():
            key = "frozen" if params.get("initialisation") == "frozen" else kind
            first.setdefault((key, params["architecture"]), (kind, params))
    table = {}
    for (key, architecture), (kind, params) in sorted(first.items()):
        batch = params["batch_size"]
        big = min(slice_size if batch == "full" else int(batch), slice_size)
        small = max(8, big // 4)
        times = {}
        for b in (big, small):
            train_only, validation = epoch_parts({**params, "batch_size": b}, kind, split, device)
            times[b] = train_only
        # train_only = n (a + b_ / batch): two equations, two unknowns
        per_batch = max(0.0, (times[small] - times[big]) / (slice_size / small - slice_size / big))
        per_image = max(0.0, (times[big] - per_batch * slice_size / big) / slice_size)
        per_validation = validation / 1000
        if architecture == "mlp":  # per image and per weight
            weights = cost.mlp_weights(kind, params)
            per_image, per_validation = per_image / weights, per_validation / weights
        table[(key, architecture)] = (per_image, per_batch, per_validation)
        print(f"    ({key!r}, {architecture!r}): ({per_image:.2e}, {per_batch:.2e}, "
              f"{per_validation:.2e}),", flush=True)  # fmt: skip
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, default=ROOT / "config" / "config.yaml")
    parser.add_argument("--images", type=int, default=2000, help="training images timed")
    parser.add_argument("--data", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--constants", action="store_true", help="print aeflow.plan.cost.CPU_COST")
    parser.add_argument(
        "--pack", action="store_true", help="every configuration's seeds as one pack, one job"
    )
    parser.add_argument(
        "--projected", action="store_true", help="aeflow/plan/cost.py's projection, nothing timed"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_config(args.configfile)
    # the workflow's own plan (aeflow.plan.plan.build): every configuration, its seeds and,
    # with --pack, which of them train as one pack (those whose seeds are the run's)
    engine = {**config.get("engine", {}), "pack": bool(args.pack)}
    the_plan = plan.build({**config, "engine": engine}, gpus=0)
    n_train, n_val = the_plan.train_size, the_plan.validation_size
    ae, clf = the_plan.autoencoders, the_plan.classifiers
    run_seeds = the_plan.run_seeds
    device = devices.select_device(args.device)
    if args.projected and device.type != "cpu":
        raise SystemExit("aeflow/plan/cost.py projects no GPU time (unmeasured): time it instead")
    pack = len(config["seeds"]) if args.pack else 1
    if not args.projected:
        split = real_split(args.data, args.images)
    if args.constants:
        constants(ae, clf, split, device)
        return

    rows = []
    for kind, configurations in (("autoencoder", ae), ("classifier", clf)):
        for model_id, params in configurations.items():
            projected = cost.epoch_seconds(kind, params, n_train, n_val, device.type)
            images = cost.training_images(params, n_train)  # a classifier's labels
            epochs = cost.planned_epochs(
                params["epochs"], images, min(params["batch_size"], images),
                params.get("min_steps", 0),
            )  # fmt: skip
            seeds = len(run_seeds[kind][model_id])
            k = pack if model_id in the_plan.packed[kind] else 1
            epoch = (  # a pack's epoch: projected as k models' (no pack speed-up is known)
                k * projected
                if args.projected
                else seconds_per_epoch(params, kind, split, device, images, n_val, k)
            )
            hours = seeds // k * (epochs * epoch + JOB_START) / 3600
            rows.append({"kind": kind, "model_id": model_id, "architecture": params["architecture"],
                         "batch_size": params["batch_size"], "epochs": epochs, "seeds": seeds,
                         "s_per_epoch": epoch, "hours_all_seeds": hours,
                         "projected_s_per_epoch": projected})  # fmt: skip
            print(f"{model_id:28s} {params['architecture']:10s} batch {params['batch_size']:>5} "
                  f"{epoch:8.2f} s/epoch  {hours:6.2f} h for {seeds} seeds "
                  f"(aeflow.plan.cost: {'unmeasured' if projected is None else f'{projected:.2f}'}"
                  " s/epoch)", flush=True)  # fmt: skip
    table = pd.DataFrame(rows).set_index("model_id")
    print()
    per_study = []
    groups = {
        "main grid" if name == studies.MAIN else name: set(s["autoencoders"])
        | set(s["classifiers"])
        for name, s in the_plan.studies.items()
    }
    for name, ids in groups.items():
        part = table.loc[sorted(ids)]
        per_study.append({"study": name, "configurations": len(part),
                          "trainings": part["seeds"].sum(),
                          "hours": part["hours_all_seeds"].sum()})  # fmt: skip
    per_study.append({"study": "all (distinct configurations)", "configurations": len(table),
                      "trainings": table["seeds"].sum(),
                      "hours": table["hours_all_seeds"].sum()})  # fmt: skip
    print(pd.DataFrame(per_study).to_string(index=False, float_format="%.2f"))
    basis = "projected by aeflow/plan/cost.py" if args.projected else "measured"
    jobs = f"packs of {pack} (a configuration's seeds)" if pack > 1 else "one model a job"
    print(f"\n{basis}: {args.device}, {torch.get_num_threads()} threads, one job at a time, "
          f"{jobs}; {n_train} training images, seeds {config['seeds']} unless a study says "
          "otherwise (its own seeds train one job a seed)")  # fmt: skip


if __name__ == "__main__":
    main()
