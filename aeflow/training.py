"""The training loop: a plain function over in-memory uint8 tensors.

The whole split lives on the chosen device as uint8; each batch is indexed there
and scaled to [0, 1]. Losses are summed on the device and read once per epoch (no
host synchronisation inside an epoch on CUDA). Each epoch ends with an atomic,
resumable checkpoint when a path is given, so a killed job restarts from its last
finished epoch.

Speed (see ``benchmarks/train_speed.py``): the models' dropout draws its mask from
cheap random bits (:class:`aeflow.models.Dropout`), the model is trained and
evaluated in ``channels_last`` on the CPU (restored to the default layout on
return), the optimizers run on the fused kernels (:mod:`aeflow.optim`), evaluation runs under
``torch.inference_mode``, and on the CPU glibc's allocator keeps freed memory
(:mod:`aeflow.memory`) instead of page-faulting every step's buffers back in.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from aeflow import files, optim
from aeflow.data import configuration_data
from aeflow.grid import DEFAULTS, batch_size_error
from aeflow.logs import duration_text
from aeflow.memory import keep_freed_memory
from aeflow.metrics import batch_loss, eval_batch_size, evaluate_split
from aeflow.models import preferred_memory_format, set_memory_format

OPTIMIZERS = ("adam", "sgd")


class TrainingError(ValueError):
    """Bad training options; the message names the option."""


def use_deterministic_algorithms() -> None:
    """Ask PyTorch for deterministic kernels (matters on CUDA; the CPU path already is).

    Slower on a GPU, and an operation without a deterministic kernel then raises.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def make_optimizer(
    name: str, parameters, lr: float, momentum: float = 0.0, weight_decay: float = 0.0
):
    """Adam or SGD over the parameters that train: :mod:`aeflow.optim`'s, on the fused
    kernels (one for all parameters) and without ``torch.optim``'s import of the compiler,
    where the parameters allow (float32/64 on the CPU or CUDA); ``torch.optim``'s otherwise.

    ``weight_decay`` is an L2 penalty (``weight_decay · w`` added to each gradient, seed
    003's L2 regularisation); ``momentum`` applies to SGD only (Adam has its own moments
    and ignores it)."""
    if name not in OPTIMIZERS:
        raise TrainingError(f"optimizer {name!r} unknown; allowed: {', '.join(OPTIMIZERS)}")
    if momentum < 0 or weight_decay < 0:
        raise TrainingError(
            f"momentum ({momentum}) and weight_decay ({weight_decay}) must not be negative"
        )
    params = [p for p in parameters if p.requires_grad]
    options = {"lr": lr, "weight_decay": weight_decay}
    if name == "sgd":
        options["momentum"] = momentum
    if optim.available(params):
        return {"adam": optim.Adam, "sgd": optim.SGD}[name](params, **options)
    return {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[name](params, **options)


SCHEDULES = ("none", "linear", "exponential")


def scheduled_lr(
    epoch: int,
    lr: float,
    schedule: str = "none",
    lr_min: float = 0.0,
    lr_epochs: int = 1,
    lr_gamma: float = 1.0,
) -> float:
    """The learning rate of epoch ``epoch`` (1-based; t = epoch − 1 epochs done before it):

    - ``none``: η₀;
    - ``linear`` (report 003's linear-saturating): η(t) = max(η_min, η₀ · (1 − t / T)),
      T = ``lr_epochs``;
    - ``exponential`` (report 003): η(t) = η₀ · γᵗ, γ = ``lr_gamma``.
    """
    t = epoch - 1
    if schedule == "none":
        return lr
    if schedule == "linear":
        if lr_epochs < 1:
            raise TrainingError(f"lr_epochs must be at least 1, got {lr_epochs}")
        return max(lr_min, lr * (1 - t / lr_epochs))
    if schedule == "exponential":
        if not 0 < lr_gamma <= 1:
            raise TrainingError(f"lr_gamma must be in (0, 1], got {lr_gamma}")
        return lr * lr_gamma**t
    raise TrainingError(f"lr_schedule {schedule!r} unknown; allowed: {', '.join(SCHEDULES)}")


def train(
    model: nn.Module,
    data: dict,
    *,
    task: str,
    epochs: int,
    batch_size: int,
    optimizer: str,
    lr: float,
    seed: int,
    device: torch.device,
    checkpoint: str | Path | None = None,
    fingerprint: dict | None = None,
    log: Callable[[str], None] = print,
    amp_bf16: bool = False,
    compile: bool = False,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    schedule: dict | None = None,
    patience: int = 0,
) -> dict:
    """Train ``model`` on ``data`` (a split from :func:`aeflow.data.split`).

    ``task`` is "autoencoder" (MSE to the input) or "classifier" (cross-entropy).
    Validation is measured in eval mode (dropout off) after every epoch. Training
    stops at the first epoch whose training loss is not finite and reports it as
    diverged. Returns ``{"history": [...], "diverged": bool, "diverged_epoch": int
    or None, "epochs_run": int, "train_seconds": float}``; the model's weights are
    the last epoch's (in the default memory layout, whatever layout trained them).

    ``momentum``, ``weight_decay``: see :func:`make_optimizer`. ``schedule``: keyword
    arguments of :func:`scheduled_lr` (``schedule``, ``lr_min``, ``lr_epochs``,
    ``lr_gamma``); the rate is set at the start of each epoch and recorded in the
    history (split "train", metric "lr").

    ``patience`` > 0: early stopping on the validation loss. Training stops once
    ``patience`` epochs in a row have not improved on the best validation loss, and the
    model gets back the best epoch's weights; the result's ``final_*`` values are then
    that epoch's (``best_epoch``), the history keeps every epoch run.

    ``amp_bf16``: the forward pass (and loss) under ``torch.autocast`` in bfloat16.
    ``compile``: train through ``torch.compile(model)`` (the weights are shared;
    validation uses the model itself). Both are off by default: ``torch.compile`` made
    CPU training slower, and neither has been measured on a GPU yet.
    """
    if task not in ("autoencoder", "classifier"):
        raise TrainingError(f"task {task!r} unknown")
    n_train = len(data["train_images"])
    if error := batch_size_error(batch_size, n_train):
        raise TrainingError(error)
    if epochs < 1:
        raise TrainingError(f"epochs must be at least 1, got {epochs}")
    if patience < 0:
        raise TrainingError(f"patience must not be negative, got {patience}")
    schedule = dict(schedule or {})
    scheduled_lr(1, lr, **schedule)  # a bad schedule fails before any training
    model.to(device)
    if device.type == "cpu":
        keep_freed_memory()  # no page faults on every step's buffers
    set_memory_format(model, preferred_memory_format(device))
    try:
        return _train(
            model, data, task, epochs, batch_size, optimizer, lr, seed, device,
            checkpoint, fingerprint, log, amp_bf16, compile,
            momentum, weight_decay, schedule, patience,
        )  # fmt: skip
    finally:
        set_memory_format(model, torch.contiguous_format)


def _train(
    model, data, task, epochs, batch_size, optimizer, lr, seed, device,
    checkpoint, fingerprint, log, amp_bf16, compile_model,
    momentum, weight_decay, schedule, patience,
) -> dict:  # fmt: skip
    n_train = len(data["train_images"])
    opt = make_optimizer(optimizer, model.parameters(), lr, momentum, weight_decay)
    step_model = torch.compile(model) if compile_model else model
    if amp_bf16:
        autocast = functools.partial(torch.autocast, device.type, dtype=torch.bfloat16)
    else:
        autocast = contextlib.nullcontext
    train_x = data["train_images"].to(device)
    train_y = data["train_labels"].to(device)
    val_x = data["validation_images"].to(device)
    val_y = data["validation_labels"].to(device)

    state = {
        "history": [],
        "epoch": 0,
        "diverged_epoch": None,
        "seconds": 0.0,
        "best_epoch": None,
        "best_loss": math.inf,
        "stopped_early": False,
    }
    best_weights = None
    checkpoint = Path(checkpoint) if checkpoint else None
    if checkpoint is not None and checkpoint.exists():
        try:
            saved = torch.load(checkpoint, weights_only=True, map_location="cpu")
        except Exception as err:  # noqa: BLE001 - re-raised with the file named
            raise TrainingError(
                f"{checkpoint}: cannot load this resume checkpoint ({type(err).__name__}: "
                f"{err}); delete it to train from the first epoch"
            ) from err
        if saved.get("fingerprint") == fingerprint:
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["optimizer"])  # also one torch.optim's Adam/SGD wrote
            torch.set_rng_state(saved["rng"])
            if device.type == "cuda" and saved.get("cuda_rng") is not None:
                torch.cuda.set_rng_state(saved["cuda_rng"], device)
            state = {**state, **saved["state"]}
            best_weights = saved.get("best_model")
            log(f"resumed from {checkpoint} after epoch {state['epoch']}")
        else:
            log(f"ignoring {checkpoint}: it belongs to other settings")

    model.train()
    while (
        state["epoch"] < epochs and state["diverged_epoch"] is None and not state["stopped_early"]
    ):
        epoch = state["epoch"] + 1
        started = time.perf_counter()
        epoch_lr = scheduled_lr(epoch, lr, **schedule)
        for group in opt.param_groups:
            group["lr"] = epoch_lr
        order = torch.randperm(
            n_train, generator=torch.Generator().manual_seed(seed * 100_003 + epoch)
        )
        order = order.to(device)
        total = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        for start in range(0, n_train, batch_size):
            idx = order[start : start + batch_size]
            with autocast():
                loss, right, _ = batch_loss(step_model, task, train_x[idx], train_y[idx])
            opt.zero_grad(set_to_none=True)
            (loss / len(idx)).backward()
            opt.step()
            total += loss.detach()
            if right is not None:
                correct += right
        rows = {"train": {"loss": total.item() / n_train}}
        if task == "classifier":
            rows["train"]["accuracy"] = correct.item() / n_train
        if math.isfinite(rows["train"]["loss"]):
            rows["validation"] = evaluate_split(
                model, task, val_x, val_y, batch_size=eval_batch_size(device)
            )
        else:
            rows["validation"] = {k: math.nan for k in rows["train"]}
            state["diverged_epoch"] = epoch
        if patience and state["diverged_epoch"] is None:
            if rows["validation"]["loss"] < state["best_loss"]:
                state["best_loss"] = rows["validation"]["loss"]
                state["best_epoch"] = epoch
                best_weights = {
                    k: v.detach().clone().contiguous() for k, v in model.state_dict().items()
                }
            elif epoch - state["best_epoch"] >= patience:
                state["stopped_early"] = True
        if schedule.get("schedule", "none") != "none":
            rows["train"]["lr"] = epoch_lr
        seconds = time.perf_counter() - started
        state["seconds"] += seconds
        for split, metrics in rows.items():
            for metric, value in metrics.items():
                state["history"].append(
                    {"epoch": epoch, "split": split, "metric": metric, "value": value}
                )
        state["epoch"] = epoch
        if checkpoint is not None:
            files.save_torch(
                {
                    "fingerprint": fingerprint,
                    "model": {k: v.contiguous() for k, v in model.state_dict().items()},
                    "optimizer": opt.state_dict(),
                    "rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                    "state": state,
                    "best_model": best_weights,
                },
                checkpoint,
            )
        log(_epoch_line(epoch, epochs, rows, seconds, state["seconds"] / epoch))
    if state["diverged_epoch"] is not None:
        log(f"diverged: training loss not finite at epoch {state['diverged_epoch']}; stopped")
    kept = state["epoch"]
    if patience and best_weights is not None and state["diverged_epoch"] is None:
        kept = state["best_epoch"]
        model.load_state_dict(best_weights)
        why = f"no improvement for {patience} epochs" if state["stopped_early"] else "last epoch"
        log(f"early stopping: {why}; restored the weights of epoch {kept}")
    final = {
        f"final_{row['split']}_{row['metric']}": row["value"]
        for row in state["history"]
        if row["epoch"] == kept and row["metric"] != "lr"
    }
    return {
        **final,
        "history": state["history"],
        "diverged": state["diverged_epoch"] is not None,
        "diverged_epoch": state["diverged_epoch"],
        "epochs_run": state["epoch"],
        "best_epoch": kept,
        "stopped_early": bool(state["stopped_early"]),
        "train_seconds": state["seconds"],
    }


def _epoch_line(epoch, epochs, rows, seconds, mean_seconds) -> str:
    """``epoch 3/30 train_loss=… validation_loss=… eta=1m48s seconds=4.12``: the time
    left (``eta``) from the mean epoch so far (early stopping can only shorten it)."""
    parts = [f"epoch {epoch}/{epochs}"]
    for split, metrics in rows.items():
        for metric, value in metrics.items():
            parts.append(f"{split}_{metric}={value:.5g}")
    parts.append(f"eta={duration_text((epochs - epoch) * mean_seconds)}")
    parts.append(f"seconds={seconds:.2f}")
    return " ".join(parts)


def planned_epochs(epochs: int, n_train: int, batch_size: int, min_steps: int = 0) -> int:
    """``epochs``, raised so that the run takes at least ``min_steps`` optimiser steps.

    An epoch is ⌈n_train / batch_size⌉ steps: with 100 labelled images and batches of
    100, 30 epochs are 30 steps, which under-trains; ``min_steps`` 3000 makes them 3000
    epochs (early stopping, ``patience``, may end them sooner)."""
    if min_steps < 0:
        raise TrainingError(f"min_steps must not be negative, got {min_steps}")
    if error := batch_size_error(batch_size, n_train):
        raise TrainingError(error)
    steps_per_epoch = math.ceil(n_train / batch_size)
    return max(epochs, math.ceil(min_steps / steps_per_epoch))


def _fit(model, task, params, data, seed, device, checkpoint, log, engine) -> dict:
    """:func:`train` with a configuration's hyperparameters; resumable for that
    configuration and seed only (the checkpoint's fingerprint)."""
    option = {**DEFAULTS, **params}  # a key a configuration leaves out: its default
    epochs = planned_epochs(
        params["epochs"], len(data["train_images"]), params["batch_size"], option["min_steps"]
    )
    if epochs != params["epochs"]:
        log(f"min_steps {params['min_steps']}: {epochs} epochs instead of {params['epochs']}")
    schedule = {k: params[k] for k in ("lr_min", "lr_epochs", "lr_gamma") if k in params}
    schedule["schedule"] = option["lr_schedule"]
    return train(
        model, data, task=task, epochs=epochs, batch_size=params["batch_size"],
        optimizer=params["optimizer"], lr=params["lr"], seed=seed, device=device,
        checkpoint=checkpoint, fingerprint={**params, "seed": seed}, log=log,
        momentum=option["momentum"], weight_decay=option["weight_decay"],
        schedule=schedule, patience=option["patience"], **engine,
    )  # fmt: skip


def fit_autoencoder(
    params: dict, data: dict, seed: int, device, checkpoint=None, log=print, **engine
):
    """Build report 000's autoencoder from ``params``, train it, return (model, result).

    ``engine``: :func:`train`'s ``amp_bf16`` and ``compile`` switches."""
    from aeflow.models import build_autoencoder

    seed_everything(seed)
    model = build_autoencoder(params)
    return model, _fit(model, "autoencoder", params, data, seed, device, checkpoint, log, engine)


def fit_classifier(
    params: dict,
    data: dict,
    seed: int,
    device,
    encoder=None,
    checkpoint=None,
    log=print,
    **engine,
):
    """Build the classifier, start its encoder from ``encoder`` (an export dict) for
    ``frozen``/``finetune``, freeze it for ``frozen``, train; return (model, result).

    ``params["images"]``, ``params["labels"]``: train and validate on the configuration's
    own subset, and on that many labelled images only (stratified, drawn per ``seed``:
    :func:`configuration_data`)."""
    from aeflow.models import build_classifier, encoder_options, load_encoder_state

    init = params["initialisation"]
    if (encoder is None) != (init == "scratch"):
        raise TrainingError(
            f"initialisation {init!r} needs {'an' if init != 'scratch' else 'no'} encoder"
        )
    data = configuration_data(data, params, seed)
    seed_everything(seed)
    model = build_classifier(params, classes=len(data["classes"]))
    if encoder is not None:
        load_encoder_state(
            model.encoder,
            encoder,
            params["architecture"],
            params["latent"],
            options=encoder_options(params),
        )
    if init == "frozen":
        model.freeze_encoder()
    return model, _fit(model, "classifier", params, data, seed, device, checkpoint, log, engine)


def model_file(kind: str, model_id: str, seed: int, params: dict, model, result: dict) -> dict:
    """What a trained model's file holds: weights and plain metadata (weights_only-safe)."""
    return {
        "kind": kind,
        "model_id": model_id,
        "seed": int(seed),
        "params": dict(params),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "summary": {k: v for k, v in result.items() if k != "history"},
    }


def save_model(obj: dict, path) -> None:
    files.save_torch(obj, path)
