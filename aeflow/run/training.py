"""The training loop: a plain function over in-memory uint8 tensors.

The whole split lives on the chosen device as uint8; each batch is indexed there
and scaled to [0, 1]. Losses are summed on the device and read once per epoch (no
host synchronisation inside an epoch on CUDA). Each epoch ends with an atomic,
resumable checkpoint when a path is given, so a killed job restarts from its last
finished epoch.

One :class:`TrainOptions` (frozen, complete, checked when built) is all the loop reads;
:func:`run` is the loop, made of parts with one job each (:func:`resume`,
:func:`train_epoch`, :func:`validation`, :meth:`Progress.early_stopping`,
:meth:`Progress.finish_epoch`, :func:`save_checkpoint`, :meth:`Progress.result`), which
:mod:`aeflow.run.packed` reuses to train several models as one.

Speed (see ``benchmarks/train_speed.py``): the models' dropout draws its mask from
cheap random bits (:class:`aeflow.run.models.Dropout`), the model is trained and
evaluated in ``channels_last`` on the CPU (restored to the default layout on
return), the optimizers run on the fused kernels (:mod:`aeflow.run.optim`), evaluation runs under
``torch.inference_mode``, and on the CPU glibc's allocator keeps freed memory
(:mod:`aeflow.run.memory`) instead of page-faulting every step's buffers back in.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from aeflow.plan import hyperparameters
from aeflow.plan.grid import batch_size_error
from aeflow.plan.logs import duration_text
from aeflow.run import files, optim
from aeflow.run.data import configuration_data
from aeflow.run.memory import keep_freed_memory
from aeflow.run.metrics import batch_loss, eval_batch_size, evaluate_split
from aeflow.run.models import preferred_memory_format, set_memory_format

OPTIMIZERS = ("adam", "sgd")
TASKS = ("autoencoder", "classifier")
ENGINE_SWITCHES = ("amp_bf16", "compile")  # the config's `engine` section


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
    """Adam or SGD over the parameters that train: :mod:`aeflow.run.optim`'s, on the fused
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


@dataclass(frozen=True)
class TrainOptions:
    """Everything one training run reads, complete: built once (:meth:`from_params` for a
    configuration, :func:`train`'s keywords otherwise) and checked when built, so that bad
    options fail before any training. The loop reads nothing else."""

    task: str
    epochs: int
    batch_size: int
    optimizer: str
    lr: float
    seed: int
    momentum: float = 0.0
    weight_decay: float = 0.0
    lr_schedule: str = "none"
    lr_min: float = 0.0
    lr_epochs: int = 1
    lr_gamma: float = 1.0
    patience: int = 0
    amp_bf16: bool = False
    compile: bool = False

    def __post_init__(self):
        if self.task not in TASKS:
            raise TrainingError(f"task {self.task!r} unknown")
        if self.epochs < 1:
            raise TrainingError(f"epochs must be at least 1, got {self.epochs}")
        if self.patience < 0:
            raise TrainingError(f"patience must not be negative, got {self.patience}")
        if self.optimizer not in OPTIMIZERS:
            raise TrainingError(
                f"optimizer {self.optimizer!r} unknown; allowed: {', '.join(OPTIMIZERS)}"
            )
        if self.momentum < 0 or self.weight_decay < 0:
            raise TrainingError(
                f"momentum ({self.momentum}) and weight_decay ({self.weight_decay}) must not "
                "be negative"
            )
        self.lr_at(1)  # a bad schedule fails before any training

    @classmethod
    def from_params(
        cls, task: str, params: dict, seed: int, n_train: int, engine: dict | None = None
    ) -> TrainOptions:
        """A configuration's options: its hyperparameters, completed with the defaults
        of the ones it leaves out (:func:`aeflow.plan.hyperparameters.complete`), its epochs raised to ``min_steps``
        (:func:`planned_epochs` over ``n_train`` images), and the ``engine`` switches
        (``amp_bf16``, ``compile``)."""
        option = hyperparameters.complete(params, task)
        engine = dict(engine or {})
        unknown = sorted(set(engine) - set(ENGINE_SWITCHES))
        if unknown:
            raise TrainingError(
                f"engine: unknown switch(es) {', '.join(unknown)}; allowed: "
                f"{', '.join(ENGINE_SWITCHES)}"
            )
        epochs = planned_epochs(
            option["epochs"], n_train, option["batch_size"], option.get("min_steps", 0)
        )  # autoencoders have no min_steps
        return cls(
            task=task,
            epochs=epochs,
            batch_size=option["batch_size"],
            optimizer=option["optimizer"],
            lr=option["lr"],
            seed=seed,
            momentum=option["momentum"],
            weight_decay=option["weight_decay"],
            lr_schedule=option["lr_schedule"],
            lr_min=option["lr_min"],
            lr_epochs=option["lr_epochs"],
            lr_gamma=option["lr_gamma"],
            patience=option["patience"],
            **engine,
        )

    def lr_at(self, epoch: int) -> float:
        """The learning rate of ``epoch`` (:func:`scheduled_lr`)."""
        return scheduled_lr(
            epoch, self.lr, self.lr_schedule, self.lr_min, self.lr_epochs, self.lr_gamma
        )

    def check_data(self, n_train: int) -> None:
        if error := batch_size_error(self.batch_size, n_train):
            raise TrainingError(error)

    def epoch_order(self, epoch: int, n_train: int) -> torch.Tensor:
        """The order of the training images in ``epoch``: drawn from the seed and the
        epoch alone, so a resumed run and a run in a pack see the same batches."""
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        return torch.randperm(n_train, generator=generator)


@dataclass
class Progress:
    """Where one run stands after its last finished epoch: what a checkpoint saves (its
    ``state``; ``best_weights`` separately) and what the result is made of."""

    history: list = field(default_factory=list)
    epoch: int = 0
    diverged_epoch: int | None = None
    seconds: float = 0.0
    best_epoch: int | None = None
    best_loss: float = math.inf
    stopped_early: bool = False
    best_weights: dict | None = None

    def running(self, epochs: int) -> bool:
        return self.epoch < epochs and self.diverged_epoch is None and not self.stopped_early

    def state(self) -> dict:
        """The checkpoint's ``state`` (plain values: weights_only-safe)."""
        return {k: v for k, v in asdict(self).items() if k != "best_weights"}

    @classmethod
    def from_checkpoint(cls, saved: dict) -> Progress:
        return cls(**saved["state"], best_weights=saved.get("best_model"))

    def finish_epoch(self, epoch: int, rows: dict, seconds: float) -> None:
        """Append the epoch's rows to the history (split, metric, value) and count it."""
        self.seconds += seconds
        for split, metrics in rows.items():
            for metric, value in metrics.items():
                self.history.append(
                    {"epoch": epoch, "split": split, "metric": metric, "value": value}
                )
        self.epoch = epoch

    def early_stopping(self, options: TrainOptions, epoch: int, validation_loss, weights) -> None:
        """With ``patience``: keep the best epoch (``weights()`` gives its weights) and
        stop after ``patience`` epochs without improvement. A diverged run is left alone."""
        if not options.patience or self.diverged_epoch is not None:
            return
        if validation_loss < self.best_loss:
            self.best_loss = validation_loss
            self.best_epoch = epoch
            self.best_weights = weights()
        elif epoch - self.best_epoch >= options.patience:
            self.stopped_early = True

    def result(self, options: TrainOptions, restore, log) -> dict:
        """:func:`train`'s result; with ``patience``, ``restore(weights)`` gives the model
        back the best epoch's weights first."""
        if self.diverged_epoch is not None:
            log(f"diverged: training loss not finite at epoch {self.diverged_epoch}; stopped")
        kept = self.epoch
        if options.patience and self.best_weights is not None and self.diverged_epoch is None:
            kept = self.best_epoch
            restore(self.best_weights)
            why = (
                f"no improvement for {options.patience} epochs"
                if self.stopped_early
                else "last epoch"
            )
            log(f"early stopping: {why}; restored the weights of epoch {kept}")
        final = {
            f"final_{row['split']}_{row['metric']}": row["value"]
            for row in self.history
            if row["epoch"] == kept and row["metric"] != "lr"
        }
        return {
            **final,
            "history": self.history,
            "diverged": self.diverged_epoch is not None,
            "diverged_epoch": self.diverged_epoch,
            "epochs_run": self.epoch,
            "best_epoch": kept,
            "stopped_early": bool(self.stopped_early),
            "train_seconds": self.seconds,
        }


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
    """Train ``model`` on ``data`` (a split from :func:`aeflow.run.data.split`):
    :func:`run` with a :class:`TrainOptions` made of these keywords.

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
    schedule = dict(schedule or {})
    if "schedule" in schedule:
        schedule["lr_schedule"] = schedule.pop("schedule")
    options = TrainOptions(
        task=task, epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr,
        seed=seed, momentum=momentum, weight_decay=weight_decay, patience=patience,
        amp_bf16=amp_bf16, compile=compile, **schedule,
    )  # fmt: skip
    return run(model, data, options, device, checkpoint, fingerprint, log)


def run(
    model: nn.Module,
    data: dict,
    options: TrainOptions,
    device: torch.device,
    checkpoint: str | Path | None = None,
    fingerprint: dict | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Train ``model`` on ``data`` as ``options`` say (:func:`train` describes the
    result); resumable from ``checkpoint`` when its ``fingerprint`` is this run's."""
    options.check_data(len(data["train_images"]))
    model.to(device)
    if device.type == "cpu":
        keep_freed_memory()  # no page faults on every step's buffers
    set_memory_format(model, preferred_memory_format(device))
    try:
        return _run(model, data, options, device, checkpoint, fingerprint, log)
    finally:
        set_memory_format(model, torch.contiguous_format)


def _run(model, data, options, device, checkpoint, fingerprint, log) -> dict:
    opt = make_optimizer(
        options.optimizer, model.parameters(), options.lr, options.momentum, options.weight_decay
    )
    step_model = torch.compile(model) if options.compile else model
    autocast = autocast_for(options, device)
    train_x, train_y, val_x, val_y = (
        data[k].to(device)
        for k in ("train_images", "train_labels", "validation_images", "validation_labels")
    )
    checkpoint = Path(checkpoint) if checkpoint else None
    progress = resume(checkpoint, fingerprint, model, opt, device, log)
    model.train()
    while progress.running(options.epochs):
        epoch = progress.epoch + 1
        started = time.perf_counter()
        epoch_lr = options.lr_at(epoch)
        for group in opt.param_groups:
            group["lr"] = epoch_lr
        rows = {"train": train_epoch(step_model, opt, options, train_x, train_y, epoch, autocast)}
        rows["validation"] = validation(model, options, rows["train"], val_x, val_y)
        if not math.isfinite(rows["train"]["loss"]):
            progress.diverged_epoch = epoch
        progress.early_stopping(
            options, epoch, rows["validation"]["loss"], lambda: weights_copy(model)
        )
        if options.lr_schedule != "none":
            rows["train"]["lr"] = epoch_lr
        seconds = time.perf_counter() - started
        progress.finish_epoch(epoch, rows, seconds)
        if checkpoint is not None:
            save_checkpoint(checkpoint, fingerprint, model, opt, progress, device)
        log(_epoch_line(epoch, options.epochs, rows, seconds, progress.seconds / epoch))
    return progress.result(options, model.load_state_dict, log)


def autocast_for(options: TrainOptions, device: torch.device):
    """The context the forward pass runs in: bfloat16 autocast, or nothing."""
    if options.amp_bf16:
        return functools.partial(torch.autocast, device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


def resume(checkpoint, fingerprint, model, opt, device, log) -> Progress:
    """The progress saved in ``checkpoint`` when it belongs to this run (its
    ``fingerprint``), with the model, optimizer and random state put back; a fresh
    :class:`Progress` otherwise."""
    if checkpoint is None or not checkpoint.exists():
        return Progress()
    saved = load_resume_checkpoint(checkpoint)
    if saved.get("fingerprint") != fingerprint:
        log(f"ignoring {checkpoint}: it belongs to other settings")
        return Progress()
    model.load_state_dict(saved["model"])
    opt.load_state_dict(saved["optimizer"])  # also one torch.optim's Adam/SGD wrote
    torch.set_rng_state(saved["rng"])
    if device.type == "cuda" and saved.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(saved["cuda_rng"], device)
    progress = Progress.from_checkpoint(saved)
    log(f"resumed from {checkpoint} after epoch {progress.epoch}")
    return progress


def load_resume_checkpoint(checkpoint: Path) -> dict:
    try:
        return torch.load(checkpoint, weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - re-raised with the file named
        raise TrainingError(
            f"{checkpoint}: cannot load this resume checkpoint ({type(err).__name__}: "
            f"{err}); delete it to train from the first epoch"
        ) from err


def train_epoch(step_model, opt, options, train_x, train_y, epoch, autocast) -> dict:
    """One pass over the training images in the epoch's order: the summed loss (and
    correct predictions) stay on the device and are read once, at the end."""
    n_train = len(train_x)
    device = train_x.device
    order = options.epoch_order(epoch, n_train).to(device)
    total = torch.zeros((), device=device)
    correct = torch.zeros((), device=device)
    for start in range(0, n_train, options.batch_size):
        idx = order[start : start + options.batch_size]
        with autocast():
            loss, right, _ = batch_loss(step_model, options.task, train_x[idx], train_y[idx])
        opt.zero_grad(set_to_none=True)
        (loss / len(idx)).backward()
        opt.step()
        total += loss.detach()
        if right is not None:
            correct += right
    row = {"loss": total.item() / n_train}
    if options.task == "classifier":
        row["accuracy"] = correct.item() / n_train
    return row


def validation(model, options, train_row, val_x, val_y) -> dict:
    """The validation metrics of the epoch (eval mode); NaN when training diverged."""
    if not math.isfinite(train_row["loss"]):
        return {k: math.nan for k in train_row}
    return evaluate_split(
        model, options.task, val_x, val_y, batch_size=eval_batch_size(val_x.device)
    )


def weights_copy(model: nn.Module) -> dict:
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def save_checkpoint(checkpoint, fingerprint, model, opt, progress: Progress, device) -> None:
    """The resume checkpoint of the last finished epoch (atomic)."""
    files.save_torch(
        {
            "fingerprint": fingerprint,
            "model": {k: v.contiguous() for k, v in model.state_dict().items()},
            "optimizer": opt.state_dict(),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            "state": progress.state(),
            "best_model": progress.best_weights,
        },
        checkpoint,
    )


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
    """:func:`run` with a configuration's options (:meth:`TrainOptions.from_params`);
    resumable for that configuration and seed only (the checkpoint's fingerprint)."""
    options = TrainOptions.from_params(task, params, seed, len(data["train_images"]), engine)
    if options.epochs != params["epochs"]:
        log(
            f"min_steps {params['min_steps']}: {options.epochs} epochs instead of {params['epochs']}"
        )
    return run(model, data, options, device, checkpoint, fingerprint(params, seed), log)


def fingerprint(params: dict, seed: int) -> dict:
    """What a resume checkpoint must belong to: the configuration and the seed."""
    return {**params, "seed": seed}


def autoencoder_to_train(params: dict, seed: int) -> nn.Module:
    """Report 000's autoencoder built from ``params`` after seeding with ``seed``: the
    model :func:`fit_autoencoder` trains, with the random state its training starts from."""
    from aeflow.run.models import build_autoencoder

    seed_everything(seed)
    return build_autoencoder(params)


def fit_autoencoder(
    params: dict, data: dict, seed: int, device, checkpoint=None, log=print, **engine
):
    """Build report 000's autoencoder from ``params``, train it, return (model, result).

    ``engine``: :func:`train`'s ``amp_bf16`` and ``compile`` switches."""
    model = autoencoder_to_train(params, seed)
    return model, _fit(model, "autoencoder", params, data, seed, device, checkpoint, log, engine)


def classifier_to_train(params: dict, data: dict, seed: int, encoder=None):
    """The classifier :func:`fit_classifier` trains and the data it trains on:
    ``(model, data)``, the model built after seeding with ``seed``, its encoder started
    from ``encoder`` (an export dict) for ``frozen``/``finetune`` and frozen for
    ``frozen``."""
    from aeflow.run.models import build_classifier, encoder_options, load_encoder_state

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
    return model, data


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
    """Build the classifier (:func:`classifier_to_train`), train it; return (model, result).

    ``params["images"]``, ``params["labels"]``: train and validate on the configuration's
    own subset, and on that many labelled images only (stratified, drawn per ``seed``:
    :func:`configuration_data`)."""
    model, data = classifier_to_train(params, data, seed, encoder)
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
