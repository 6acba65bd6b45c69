"""Many models of the same shape trained as one: a *pack*.

PyTorch's model-ensembling recipe: the members' weights are stacked along a new first
dimension (``torch.func.stack_module_state``) and one step trains all of them through
``torch.vmap(torch.func.functional_call)`` (PyTorch turns the batched convolutions into
grouped ones and the batched linear layers into batched matrix products). A step is one
forward and backward pass and one optimizer call for the whole pack instead of one per
model: on a GPU, where these small models wait on kernel launches, that is the point.

Each member keeps what it would have alone (:func:`aeflow.run.training.run`):

- its seed, its data (a classifier's own labelled subset) and its data order
  (:meth:`aeflow.run.training.TrainOptions.epoch_order`);
- its dropout masks: on the CPU drawn by :func:`aeflow.run.models.dropout_mask` from the
  member's own copy of the default generator's state, the state it had right after its
  model was built, for tensors of the shape and layout the model alone would have
  dropped — so they are exactly the masks of the same model trained alone. On a GPU
  one generator of the pack (seeded from its members' seeds) draws every member's masks
  of a layer at once, one kernel instead of K: reproducible for the same pack, but a
  member's masks depend on its pack, and they are not the draws of ``F.dropout`` alone
  (which on a GPU are not reproduced across devices anyway);
- its hyperparameters (learning rate and its schedule, weight decay, momentum,
  patience may differ between members; the optimizer kind, epochs, batch size, the
  task and the network's shape must agree: :func:`pack_error`);
- its early stopping, history, divergence, result and weights: a member that diverges
  or stops early stops being updated, and the others go on.

A member's numbers equal the same model's alone up to the order of floating-point
sums in the batched kernels: ``tests/test_packed.py`` states and tests the tolerance.
On the CPU a pack is deterministic bit for bit, and a killed pack resumes bit-identically
from its checkpoint (one file for the whole pack, written after every epoch).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.func import functional_call, stack_module_state

from aeflow.run import files, training
from aeflow.run.memory import keep_freed_memory
from aeflow.run.metrics import batch_loss
from aeflow.run.models import Dropout, dropout_mask, preferred_memory_format, set_memory_format
from aeflow.run.training import (
    Progress,
    TrainingError,
    TrainOptions,
    _epoch_line,
    load_resume_checkpoint,
    validation,
)

# Options that must agree between the members of a pack (one step trains them all).
SHARED_OPTIONS = ("task", "epochs", "batch_size", "optimizer", "amp_bf16", "compile")


@dataclass
class Member:
    """One model of a pack: what :func:`aeflow.run.training.run` would get for it, and the
    default CPU generator's state it would start training from (``rng``)."""

    model: nn.Module
    data: dict
    options: TrainOptions
    rng: torch.Tensor
    fingerprint: dict | None = None
    name: str = ""
    progress: Progress = field(default_factory=Progress)
    done: bool = False  # diverged, stopped early or out of epochs: no longer updated


def pack_error(members: list[Member]) -> str | None:
    """Why these members cannot train as one pack (None when they can)."""
    if not members:
        return "a pack needs at least one member"
    for key in SHARED_OPTIONS:
        values = {getattr(m.options, key) for m in members}
        if len(values) > 1:
            return f"members differ in {key} ({sorted(map(str, values))}): they cannot share a step"
    shapes = {tuple((k, tuple(v.shape)) for k, v in m.model.state_dict().items()) for m in members}
    if len(shapes) > 1 or len({type(m.model) for m in members}) > 1:
        return "members have networks of different shapes"
    if len({len(m.data["train_images"]) for m in members}) > 1:
        return "members have training sets of different sizes"
    trains = {tuple(p.requires_grad for p in m.model.parameters()) for m in members}
    if len(trains) > 1:
        return "members train different parameters (a frozen encoder in some only)"
    return None


class _MaskFeed:
    """The dropout masks of one step, handed to the masked dropouts in call order."""

    def __init__(self):
        self.masks = iter(())

    def next(self):
        return next(self.masks)


class _MaskedDropout(nn.Module):
    """A :class:`aeflow.run.models.Dropout` that multiplies by the next mask of the feed
    (computed outside ``vmap`` for each member) instead of drawing one."""

    def __init__(self, p: float, feed: _MaskFeed):
        super().__init__()
        self.p = p
        self.feed = feed

    def draws(self) -> bool:
        return self.training and self.p > 0.0

    def forward(self, x):
        if not self.draws():
            return x
        return x * self.feed.next()


def _masked_template(model: nn.Module, feed: _MaskFeed) -> nn.Module:
    """A copy of ``model`` whose dropouts take their masks from ``feed``."""
    template = copy.deepcopy(model)

    def swap(module):
        for name, child in module.named_children():
            if isinstance(child, Dropout | nn.Dropout):
                setattr(module, name, _MaskedDropout(child.p, feed))
            else:
                swap(child)

    swap(template)
    return template


class Pack:
    """The stacked members and one step over all of them (see the module's text)."""

    def __init__(self, members: list[Member], device: torch.device, compile_mode=None):
        if error := pack_error(members):
            raise TrainingError(f"pack: {error}")
        self.members = members
        self.device = device
        self.options = members[0].options
        for m in members:
            m.options.check_data(len(m.data["train_images"]))
            m.model.to(device)
        self.feed = _MaskFeed()
        self.template = _masked_template(members[0].model, self.feed).to(device)
        self.template.train()
        for m in members:
            m.model.train()
        params, buffers = stack_module_state([m.model for m in members])
        self.params = params  # name -> (K, ...) leaf; requires_grad as in the members
        self.buffers = buffers
        self.trained = [k for k, p in params.items() if p.requires_grad]
        self.state = {}  # optimizer state: name -> {"step", "exp_avg", ...} stacked
        self._shapes: dict[int, list[tuple]] = {}  # batch length -> dropout (shape, stride, p)
        self._step = torch.vmap(self._member_loss, in_dims=(0, 0, 0, 0, 0))
        if self.options.compile:  # the vmapped forward and loss, compiled once per shape
            self._step = torch.compile(self._step, mode=compile_mode)
        self.autocast = training.autocast_for(self.options, device)
        shared = all(m.data["train_images"] is members[0].data["train_images"] for m in members)
        self.shared_data = shared
        owners = members[:1] if shared else members
        self.train_x = [m.data["train_images"].to(device) for m in owners]
        self.train_y = [m.data["train_labels"].to(device) for m in owners]
        self.generator = None  # off the CPU: the pack's dropout generator
        if device.type != "cpu":
            seed = hash(tuple(m.options.seed for m in members)) % 2**63
            self.generator = torch.Generator(device).manual_seed(seed)

    # --- one step -------------------------------------------------------------------------

    def _member_loss(self, params, buffers, masks, images, labels):
        self.feed.masks = iter(masks)
        model = lambda x: functional_call(self.template, (params, buffers), (x,))  # noqa: E731
        loss, right, _ = batch_loss(model, self.options.task, images, labels)
        if right is None:
            right = torch.zeros((), dtype=torch.int64, device=loss.device)
        return loss, right

    def dropout_shapes(self, batch: int) -> list[tuple]:
        """(shape, stride, p) of the input of each dropout that draws, in call order, for
        a batch of ``batch`` images: what the model alone would drop (its layout
        included), found by running it once, its random state left as it was."""
        if batch not in self._shapes:
            model = self.members[0].model
            seen = []

            def hook(module, args):
                if module.training and 0.0 < module.p:
                    seen.append((tuple(args[0].shape), args[0].stride(), module.p))

            handles = [
                m.register_forward_pre_hook(hook)
                for m in model.modules()
                if isinstance(m, Dropout | nn.Dropout)
            ]
            was = set_memory_format(model, preferred_memory_format(self.device))
            x = self.train_x[0][:batch]
            try:
                with torch.random.fork_rng(devices=[]), torch.no_grad():
                    batch_loss(model, self.options.task, x, self.train_y[0][:batch])
            finally:
                for h in handles:
                    h.remove()
                if was:
                    set_memory_format(model, torch.contiguous_format)
            self._shapes[batch] = seen
        return self._shapes[batch]

    def masks(self, batch: int) -> list[torch.Tensor]:
        """Each drawing dropout's masks for the step, stacked over the members."""
        shapes = self.dropout_shapes(batch)
        if self.device.type != "cpu":  # one draw a layer for the whole pack
            k = len(self.members)
            return [
                torch.empty((k, *s), device=self.device)
                .bernoulli_(1 - p, generator=self.generator)
                .div_(1 - p)
                for s, _, p in shapes
            ]
        per_member = []
        for m in self.members:
            if m.done:
                per_member.append([torch.ones(s, device=self.device) for s, _, _ in shapes])
            else:
                torch.set_rng_state(m.rng)
                per_member.append(
                    [dropout_mask(torch.empty_strided(s, st), p) for s, st, p in shapes]
                )
                m.rng = torch.get_rng_state()
        return [torch.stack(layer) for layer in zip(*per_member)]

    def batch(self, orders: torch.Tensor, start: int, stop: int):
        """The step's images and labels, (K, B, ...): each member's own batch."""
        idx = orders[:, start:stop]
        if self.shared_data:
            return self.train_x[0][idx], self.train_y[0][idx]
        x = torch.stack([xs[i] for xs, i in zip(self.train_x, idx)])
        y = torch.stack([ys[i] for ys, i in zip(self.train_y, idx)])
        return x, y

    def train_epoch(self, epoch: int) -> list[dict]:
        """One epoch of every member still training: each its own order and batches."""
        options = self.options
        n_train = len(self.train_x[0])
        orders = torch.stack([m.options.epoch_order(epoch, n_train) for m in self.members])
        orders = orders.to(self.device)
        k = len(self.members)
        total = torch.zeros(k, device=self.device)
        correct = torch.zeros(k, dtype=torch.int64, device=self.device)
        lrs = [m.options.lr_at(epoch) for m in self.members]
        for start in range(0, n_train, options.batch_size):
            stop = min(start + options.batch_size, n_train)
            x, y = self.batch(orders, start, stop)
            masks = self.masks(stop - start)
            for p in self.params.values():
                p.grad = None
            with self.autocast():
                loss, right = self._step(self.params, self.buffers, masks, x, y)
            (loss / (stop - start)).sum().backward()
            self.optimizer_step(lrs)
            total += loss.detach()
            correct += right
        rows = []
        totals, rights = total.tolist(), correct.tolist()
        for i in range(k):
            row = {"loss": totals[i] / n_train}
            if options.task == "classifier":
                row["accuracy"] = rights[i] / n_train
            rows.append(row)
        return rows

    # --- the optimizer: torch's fused Adam/SGD kernels on each member's slices ---------------

    def optimizer_step(self, lrs: list[float]) -> None:
        """One update of every member still training, with its own hyperparameters:
        the members with equal ones in one fused-kernel call, on their slices of the
        stacked weights (the kernels are elementwise: a slice is updated as the whole
        model alone would be)."""
        groups: dict[tuple, list[int]] = {}
        for i, m in enumerate(self.members):
            if not m.done:
                o = m.options
                groups.setdefault((lrs[i], o.weight_decay, o.momentum), []).append(i)
        with torch.no_grad():
            for (lr, weight_decay, momentum), rows in groups.items():
                if self.options.optimizer == "adam":
                    self._adam(rows, lr, weight_decay)
                else:
                    self._sgd(rows, lr, weight_decay, momentum)

    def _slices(self, rows, key):
        """Each trained weight's ``key`` state for the members ``rows``: the stacked
        tensors themselves when that is every member (one tensor a weight, not K)."""
        if len(rows) == len(self.members):
            return [self.state[n][key] for n in self.trained]
        return [self.state[n][key][i] for n in self.trained for i in rows]

    def _weights(self, rows):
        """The trained weights of the members ``rows`` and their gradients (as
        :meth:`_slices`)."""
        if len(rows) == len(self.members):
            params = [self.params[n] for n in self.trained]
            return params, [p.grad for p in params]
        params = [self.params[n][i] for n in self.trained for i in rows]
        return params, [self.params[n].grad[i] for n in self.trained for i in rows]

    def _adam(self, rows, lr, weight_decay):
        for n in self.trained:
            if n not in self.state:
                p = self.params[n]
                self.state[n] = {
                    "step": torch.zeros(len(self.members), device=p.device),
                    "exp_avg": torch.zeros_like(p),
                    "exp_avg_sq": torch.zeros_like(p),
                }
        params, grads = self._weights(rows)
        steps = self._slices(rows, "step")
        torch._foreach_add_(steps, 1)
        if len(rows) == len(self.members):  # every member: one step count, all equal
            steps = [s[0] for s in steps]
        torch._fused_adam_(
            params, grads, self._slices(rows, "exp_avg"), self._slices(rows, "exp_avg_sq"), [],
            steps, amsgrad=False, lr=lr, beta1=0.9, beta2=0.999, weight_decay=weight_decay,
            eps=1e-8, maximize=False, grad_scale=None, found_inf=None,
        )  # fmt: skip

    def _sgd(self, rows, lr, weight_decay, momentum):
        params, grads = self._weights(rows)
        first = False
        if momentum:
            # all members still training step together: the first step is the pack's
            first = "momentum_buffer" not in self.state.get(self.trained[0], {})
            for n in self.trained:
                self.state.setdefault(n, {}).setdefault(
                    "momentum_buffer", torch.zeros_like(self.params[n])
                )
        torch._fused_sgd_(
            params, grads, self._slices(rows, "momentum_buffer") if momentum else [],
            weight_decay=weight_decay, momentum=momentum, lr=lr, dampening=0, nesterov=False,
            maximize=False, is_first_step=first, grad_scale=None, found_inf=None,
        )  # fmt: skip

    # --- members' own views -----------------------------------------------------------------

    def member_weights(self, i: int) -> dict:
        """Member ``i``'s state dict, cloned from the stacked weights."""
        out = {n: p[i].detach().clone() for n, p in self.params.items()}
        out.update({n: b[i].clone() for n, b in self.buffers.items()})
        return out

    def load_member(self, i: int) -> nn.Module:
        """Member ``i``'s model with its current stacked weights."""
        model = self.members[i].model
        model.load_state_dict(self.member_weights(i))
        return model

    # --- checkpoints ------------------------------------------------------------------------

    def checkpoint_dict(self) -> dict:
        return {
            "fingerprints": [m.fingerprint for m in self.members],
            "params": {n: p.detach() for n, p in self.params.items()},
            "buffers": self.buffers,
            "optimizer": self.state,
            "rngs": [m.rng for m in self.members],
            "device_rng": self.generator.get_state() if self.generator is not None else None,
            "states": [m.progress.state() for m in self.members],
            "best_models": [m.progress.best_weights for m in self.members],
            "done": [m.done for m in self.members],
            "finals": [m.model.state_dict() if m.done else None for m in self.members],
        }

    def resume(self, checkpoint: Path | None, log) -> None:
        if checkpoint is None or not checkpoint.exists():
            return
        saved = load_resume_checkpoint(checkpoint)
        if saved.get("fingerprints") != [m.fingerprint for m in self.members]:
            log(f"ignoring {checkpoint}: it belongs to other settings")
            return
        with torch.no_grad():
            for n, p in self.params.items():
                p.copy_(saved["params"][n])
            for n, b in self.buffers.items():
                b.copy_(saved["buffers"][n])
        self.state = {
            n: {k: v.to(self.device) for k, v in s.items()} for n, s in saved["optimizer"].items()
        }
        if self.generator is not None and saved.get("device_rng") is not None:
            self.generator.set_state(saved["device_rng"])
        for i, m in enumerate(self.members):
            m.rng = saved["rngs"][i]
            m.progress = Progress.from_checkpoint(
                {"state": saved["states"][i], "best_model": saved["best_models"][i]}
            )
            m.done = saved["done"][i]
            if saved["finals"][i] is not None:
                m.model.load_state_dict(saved["finals"][i])
        log(f"resumed from {checkpoint} after epoch {max(m.progress.epoch for m in self.members)}")


def train_pack(
    members: list[Member],
    device: torch.device,
    checkpoint: str | Path | None = None,
    log: Callable[[str], None] = print,
    compile_mode: str | None = None,
) -> list[dict]:
    """Train the members as one pack; returns each member's result, as
    :func:`aeflow.run.training.run` would (its model holds its final weights, in the
    default memory layout). ``checkpoint``: the pack's resume file, written after every
    epoch; it resumes only the same members (their fingerprints, in order).
    ``compile_mode``: ``torch.compile``'s mode where the members' options ask for
    ``compile`` (``reduce-overhead``: CUDA graphs)."""
    if device.type == "cpu":
        keep_freed_memory()
    pack = Pack(members, device, compile_mode)
    checkpoint = Path(checkpoint) if checkpoint else None
    pack.resume(checkpoint, log)
    epochs = pack.options.epochs
    while any(not m.done for m in members):
        epoch = 1 + max(m.progress.epoch for m in members if not m.done)
        started = time.perf_counter()
        active = [i for i, m in enumerate(members) if not m.done]
        trained = pack.train_epoch(epoch)
        rows = {}
        for i in active:
            # validation and bookkeeping exactly as alone, on the member's own model
            m = members[i]
            model = pack.load_member(i)
            rows[i] = {"train": trained[i]}
            val_x = m.data["validation_images"].to(device)
            val_y = m.data["validation_labels"].to(device)
            rows[i]["validation"] = validation(model, m.options, trained[i], val_x, val_y)
            if not math.isfinite(trained[i]["loss"]):
                m.progress.diverged_epoch = epoch
            m.progress.early_stopping(
                m.options, epoch, rows[i]["validation"]["loss"], lambda i=i: pack.member_weights(i)
            )
            if m.options.lr_schedule != "none":
                rows[i]["train"]["lr"] = m.options.lr_at(epoch)
        # each member's share of the pack's epoch (the members' seconds add up to it)
        seconds = (time.perf_counter() - started) / len(active)
        for i in active:
            members[i].progress.finish_epoch(epoch, rows[i], seconds)
            members[i].done = not members[i].progress.running(epochs)
        if checkpoint is not None:  # before the epoch's lines, as alone
            files.save_torch(pack.checkpoint_dict(), checkpoint)
        for i in active:
            m = members[i]
            mean = m.progress.seconds / epoch
            log(f"{m.name}: " + _epoch_line(epoch, epochs, rows[i], seconds, mean))
    results = []
    for m in members:
        results.append(m.progress.result(m.options, m.model.load_state_dict, log))
        set_memory_format(m.model, torch.contiguous_format)
    return results


def fit_pack(
    kind: str,
    runs: list[tuple[dict, int]],
    data: dict,
    device: torch.device,
    checkpoint: str | Path | None = None,
    log: Callable[[str], None] = print,
    encoders: list | None = None,
    engine: dict | None = None,
) -> list[tuple[nn.Module, dict]]:
    """:func:`aeflow.run.training.fit_autoencoder`/``fit_classifier`` for several
    ``(params, seed)`` runs at once, as one pack: each member built, seeded and given
    its data exactly as alone (``encoders``: each classifier's encoder export, or None).
    Returns ``(model, result)`` per run, in order."""
    members = []
    for i, (params, seed) in enumerate(runs):
        if kind == "autoencoder":
            model, own = training.autoencoder_to_train(params, seed), data
        else:
            encoder = encoders[i] if encoders else None
            model, own = training.classifier_to_train(params, data, seed, encoder)
        rng = torch.get_rng_state()  # where the model alone would start drawing its masks
        options = TrainOptions.from_params(kind, params, seed, len(own["train_images"]), engine)
        members.append(
            Member(model, own, options, rng, training.fingerprint(params, seed), f"seed {seed}")
        )
    results = train_pack(members, device, checkpoint, log)
    return [(m.model, r) for m, r in zip(members, results)]
