"""How long a study's trainings take: a rough projection without torch, for the plan the
workflow prints before its first job, and the shared parts of
``benchmarks/study_cost.py`` (which measures every configuration instead).

The projection multiplies, per configuration, the training images by a cost per image
and per batch for its kind and architecture, adds validation and each job's start-up,
and sums over configurations and seeds. The costs are constants measured on this
project's 2-core CPU (one job with 2 threads, see CPU_COST). On a GPU the plan projects
no time: the step times there are unmeasured (one measurement exists, of one model
alone: GPU_STEP_MEASURED; ``benchmarks/pack_speed.py --device cuda`` measures a
model alone and in packs). A faster or slower CPU scales them all: read the projection
as an order of magnitude.
"""

from __future__ import annotations

from aeflow.plan import grid
from aeflow.plan.logs import duration_text

JOB_START = 1.8  # seconds of start-up per training job (benchmarks/workflow_overhead.py)

# One job with 2 threads on the project's 2-core CPU: seconds per training image, per
# batch and per validation image, by kind and architecture (classifiers: "frozen" when
# their encoder does not train; mlp rows: per image and per weight, see mlp_weights).
# From the per-epoch times benchmarks/study_cost.py and benchmarks/train_speed.py
# measured (README, Performance): conv 4.6 + 0.25 s (autoencoder) and 3.0 + 0.1 s
# (classifier) per 50 000 + 10 000 images, ~1 s frozen; conv_bn 64/96 ~18 s, 15 s
# fine-tuned, 5 s frozen; conv_deep autoencoder ~28 s at batch 32 (its classifiers
# scaled from it: encoder only); mlp 0.2-8 s, ~4e-11 s per image and weight. Those
# measurements did not separate a per-batch cost (0 here); `benchmarks/study_cost.py
# --constants` measures all three columns afresh.
CPU_COST = {
    ("autoencoder", "conv"): (9.2e-5, 0.0, 2.5e-5),
    ("autoencoder", "conv_bn"): (3.4e-4, 0.0, 1.0e-4),
    ("autoencoder", "conv_deep"): (5.3e-4, 0.0, 1.5e-4),
    ("autoencoder", "mlp"): (4.0e-11, 0.0, 1.3e-11),
    ("classifier", "conv"): (6.0e-5, 0.0, 1.0e-5),
    ("classifier", "conv_bn"): (3.0e-4, 0.0, 5.0e-5),
    ("classifier", "conv_deep"): (2.6e-4, 0.0, 7.0e-5),
    ("classifier", "mlp"): (4.0e-11, 0.0, 1.3e-11),
    ("frozen", "conv"): (1.8e-5, 0.0, 1.0e-5),
    ("frozen", "conv_bn"): (9.0e-5, 0.0, 5.0e-5),
    ("frozen", "conv_deep"): (9.0e-5, 0.0, 7.0e-5),
    ("frozen", "mlp"): (2.0e-11, 0.0, 1.3e-11),
}
# The one GPU measurement (docs/performance.md): 3.3 ms per optimiser step of 100 images,
# report 000's conv autoencoder alone, one H200 (1.67 s per epoch of 500 steps). Not used
# for projections: other architectures, packs and other GPUs are unmeasured.
GPU_STEP_MEASURED = 3.3e-3
# Training jobs side by side on a CPU, one thread each, against one job with 2 threads:
# 1.74x the throughput with 2 jobs on 2 cores (benchmarks/job_arrangement.py).
SIDE_BY_SIDE = 1.74 / 2


def split_sizes(data: dict) -> tuple[int, int]:
    """Training and validation images of a config's ``data`` section (after defaults)."""
    subset = data.get("subset") or {}
    train = subset.get("train") or data["train_images"] - data["validation_size"]
    return train, subset.get("validation") or data["validation_size"]


def _batch(params: dict, n_train: int) -> int:
    batch = params["batch_size"]
    return n_train if batch == grid.FULL_BATCH else min(int(batch), n_train)


def mlp_weights(kind: str, params: dict) -> int:
    """Weights of an mlp model (784-latent-784, or 784-latent-hidden…-10): its cost per
    image grows with them, so the mlp rows of CPU_COST are per image and per weight."""
    if kind == "autoencoder":
        return 2 * 784 * params["latent"]
    hidden = grid.layer_widths("hidden", params["hidden"]) if params.get("hidden") else ()
    sizes = [784, params["latent"], *hidden, 10]
    return sum(a * b for a, b in zip(sizes, sizes[1:]))


def training_images(params: dict, n_train: int) -> int:
    """Images a configuration trains on per epoch: a classifier's ``labels``, else its
    ``images``' training part, else all ``n_train``."""
    own = grid.train_images(params, n_train)
    return min(params.get("labels") or own, own)


def split_parts(data: dict) -> dict[str, int | None]:
    """{train, validation, test: images} of a config's ``data`` section; the test count
    only where ``data.subset`` gives it (else it is known once the file is read)."""
    train, validation = split_sizes(data)
    return {
        "train": train,
        "validation": validation,
        "test": (data.get("subset") or {}).get("test"),
    }


def planned_epochs(epochs: int, n_train: int, batch_size: int, min_steps: int = 0) -> int:
    """``epochs``, raised so that the run takes at least ``min_steps`` optimiser steps of
    ⌈n_train / batch_size⌉ per epoch: :func:`aeflow.run.training.planned_epochs` without torch
    (tests/test_machine.py keeps the two equal)."""
    return max(epochs, -(-min_steps // -(-n_train // batch_size)))


def epoch_seconds(kind: str, params: dict, n_train: int, n_val: int, device: str = "cpu") -> float:
    """Projected seconds of one epoch (training and validation) of one configuration;
    ``n_train``: the training split (a classifier with ``labels`` trains on that many).
    None on a GPU: unmeasured there (see the module's text)."""
    counts = grid.image_counts(params.get(grid.IMAGES))
    n_val = counts["validation"] if counts else n_val
    n_train = training_images(params, n_train)
    batches = -(-n_train // _batch(params, n_train))
    if device != "cpu":
        return None
    key = "frozen" if params.get("initialisation") == "frozen" else kind
    per_image, per_batch, per_validation = CPU_COST[(key, params["architecture"])]
    if params["architecture"] == "mlp":
        weights = mlp_weights(kind, params)
        per_image, per_validation = per_image * weights, per_validation * weights
    return n_train * per_image + batches * per_batch + n_val * per_validation


def training_seconds(kind, params, n_train, n_val, device="cpu") -> float:
    """Projected seconds of one training job (all its planned epochs, ``min_steps``
    included, and its start-up); early stopping can only shorten it. None on a GPU."""
    if device != "cpu":
        return None
    images = training_images(params, n_train)
    epochs = planned_epochs(
        params["epochs"], images, _batch(params, images), params.get("min_steps", 0)
    )
    return epochs * epoch_seconds(kind, params, n_train, n_val, device) + JOB_START


def wall_seconds(job_seconds: list[float], device: str, cores: int, gpus: int) -> float | None:
    """Projected wall time of these training jobs on a CPU: side by side on the cores
    (one thread each), at the measured throughput. None on a GPU (unmeasured)."""
    if device != "cpu":
        return None
    total = sum(job_seconds)
    if cores <= 1:
        return total * 1.49  # one thread against two (benchmarks/train_speed.py)
    return total / (SIDE_BY_SIDE * min(cores, max(1, len(job_seconds))))


def plan_lines(
    trainings: dict[str, list[tuple[dict, bool]]],
    n_train: int,
    n_val: int,
    device: str,
    gpus: int,
    cores: int,
    report: str,
    pack: int = 1,
) -> list[str]:
    """The few lines printed before the first job: how many trainings (``trainings``:
    kind → one ``(params, already trained)`` per configuration and seed), in how many
    jobs (``pack`` models per job: a configuration's seeds, ``engine.pack``), where they
    run, how long the ones left should take here, and where the report will be."""
    todo = {kind: [params for params, done in jobs if not done] for kind, jobs in trainings.items()}
    total = sum(len(jobs) for jobs in trainings.values())
    left = sum(len(jobs) for jobs in todo.values())
    counts = " and ".join(f"{len(jobs)} {kind}" for kind, jobs in trainings.items())
    per_job = f", {pack} models a job (a configuration's seeds as one pack)" if pack > 1 else ""
    if device == "cpu":
        where = f"cpu ({'no GPU visible' if gpus == 0 else 'device: cpu'}), "
        where += (
            "training jobs one at a time on 1 core"
            if cores == 1
            else (f"training jobs side by side on {cores} cores")
        )
    else:
        where = f"cuda, one training job at a time per GPU ({gpus} visible)"
        if gpus == 0:
            where = "cuda asked for, but no GPU is visible: training jobs will fail"
    where += per_job
    seconds = wall_seconds(
        [
            training_seconds(kind, params, n_train, n_val, device)
            for kind, jobs in todo.items()
            for params in jobs
        ],
        device,
        cores,
        gpus,
    )
    if seconds is None:
        projected = (
            "  projected: no time on a GPU, its step times are unmeasured (measure them with"
            " benchmarks/pack_speed.py --device cuda; aeflow/plan/cost.py)"
        )
    else:
        projected = (
            f"  projected: about {duration_text(seconds)} of training (constants measured on"
            " a 2-core CPU, aeflow/plan/cost.py; early stopping only shortens it)"
        )
    return [
        f"aeflow plan: {total} trainings ({counts}), {left} of them not trained yet",
        f"  device: {where}",
        projected,
        f"  report: {report}",
    ]
