"""Adam and SGD on PyTorch's fused kernels, without ``torch.optim``'s start-up cost.

Every ``torch.optim`` optimizer imports ``torch._dynamo`` (the compiler) when it is built
and stepped: ``Optimizer.add_param_group``, ``zero_grad`` and ``step`` are wrapped so that
``torch.compile`` can see through them, and the wrappers import it whether or not anything
is compiled. That import is a large part of a training job's start-up on the CPU (the
measurement: ``docs/performance.md``).

:class:`Adam` and :class:`SGD` call the kernels ``torch.optim.Adam(fused=True)`` and
``torch.optim.SGD(fused=True)`` call (``torch._fused_adam_``, ``torch._fused_sgd_``; one
kernel for all parameters, on the CPU and CUDA) on the same state, so their updates are
bit-identical to those (``tests/test_optim.py`` checks it), and their ``state_dict`` has
``torch.optim``'s format: a checkpoint written by one resumes with the other. They do
what aeflow needs and no more: one parameter group, float32/float64 parameters on the
CPU or CUDA, L2 ``weight_decay``, SGD ``momentum``; ``lr`` is read from
``param_groups[0]["lr"]`` at every step, as ``torch.optim`` does, so a schedule sets it
there. :func:`available` says whether a set of parameters can use them.

The kernels are private to torch and may change between releases: if the first step
fails for any reason, the optimizer logs one line and hands over, with its
hyperparameters and state, to the ``torch.optim`` optimizer of the same name, which
does every step from then on.
"""

from __future__ import annotations

import logging

import torch

_LOG = logging.getLogger(__name__)

FUSED_DEVICES = ("cpu", "cuda")
FUSED_DTYPES = (torch.float32, torch.float64)


def available(params) -> bool:
    """Whether :class:`Adam`/:class:`SGD` can train ``params``: this torch has the fused
    kernels and every parameter is float32/64 on the CPU or CUDA."""
    params = list(params)
    return (
        bool(params)
        and hasattr(torch, "_fused_adam_")
        and hasattr(torch, "_fused_sgd_")
        and all(p.device.type in FUSED_DEVICES and p.dtype in FUSED_DTYPES for p in params)
    )


class _Fused:
    """What the two share: one parameter group, per-parameter state, torch.optim's
    ``state_dict`` format."""

    def __init__(self, params, defaults: dict):
        params = list(params)
        if not available(params):
            raise ValueError("fused optimizers need float32/float64 parameters on the CPU or CUDA")
        self.defaults = dict(defaults)
        self.param_groups = [{**self.defaults, "params": params}]
        self.state: dict[torch.Tensor, dict] = {}
        self.fallback: torch.optim.Optimizer | None = None  # set if the kernels failed
        self._proven = False  # a step on the kernels has succeeded

    @property
    def params(self) -> list[torch.Tensor]:
        return self.param_groups[0]["params"]

    def zero_grad(self, set_to_none: bool = True) -> None:
        if self.fallback is not None:
            self.fallback.zero_grad(set_to_none=set_to_none)
            return
        for p in self.params:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One update of the parameters that have a gradient, with the group's current lr.

        The first update that reaches the kernels is guarded: should it fail, the
        parameters and state are put back as they were and :meth:`_fall_back` hands
        over to ``torch.optim``, which makes this update and every later one."""
        if self.fallback is not None:
            self.fallback.step()
            return
        params = [p for p in self.params if p.grad is not None]
        if not params:
            return
        if self._proven:
            self._update(self.param_groups[0], params)
            return
        state = {p: {k: _copy(v) for k, v in s.items()} for p, s in self.state.items()}
        values = [p.detach().clone() for p in params]
        try:
            self._update(self.param_groups[0], params)
        except Exception as error:  # noqa: BLE001 - any failure of private kernels
            for p, value in zip(params, values):
                p.copy_(value)
            self._fall_back(state, error)
            self.fallback.step()
            return
        self._proven = True

    def _fall_back(self, state: dict, error: Exception) -> None:
        """Continue on ``torch.optim``'s optimizer of the same name, built with this one's
        current hyperparameters and given its state; this object then delegates to it and
        shares its ``param_groups`` (a schedule's lr reaches it) and ``state``."""
        group = self.param_groups[0]
        fallback = self.fallback_class(self.params, **{k: group[k] for k in self.hyperparameters})
        for p, entry in state.items():
            fallback.state[p] = entry
        self.fallback = fallback
        self.param_groups = fallback.param_groups
        self.state = fallback.state
        _LOG.warning(
            "fused %s failed at its first step (%s: %s); continuing with torch.optim.%s",
            type(self).__name__, type(error).__name__, error, self.fallback_class.__name__,
        )  # fmt: skip

    def _update(self, group: dict, params: list[torch.Tensor]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """``torch.optim.Optimizer.state_dict``'s layout: state keyed by parameter index."""
        if self.fallback is not None:
            return self.fallback.state_dict()
        index = {id(p): i for i, p in enumerate(self.params)}
        group = self.param_groups[0]
        return {
            "state": {index[id(p)]: dict(s) for p, s in self.state.items()},
            "param_groups": [
                {
                    **{k: v for k, v in group.items() if k != "params"},
                    "params": list(range(len(self.params))),
                }
            ],
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state saved by this class or by the same ``torch.optim`` optimizer: the
        hyperparameters it knows, and each parameter's state, on the parameter's device
        and in its memory layout (the fused kernels expect moments laid out like their
        parameter)."""
        if self.fallback is not None:
            self.fallback.load_state_dict(state_dict)
            return
        groups = state_dict["param_groups"]
        if len(groups) != 1 or len(groups[0]["params"]) != len(self.params):
            raise ValueError("the saved optimizer state has other parameters than this one")
        saved = groups[0]
        group = self.param_groups[0]
        for key in self.hyperparameters:
            if key in saved:
                group[key] = saved[key]
        self.state = {}
        for position, p in zip(saved["params"], self.params):
            entry = state_dict["state"].get(position, state_dict["state"].get(str(position)))
            if entry:
                self.state[p] = {k: self._placed(k, v, p) for k, v in entry.items()}

    def _placed(self, key, value, p):
        if not torch.is_tensor(value):
            return value
        if key == "step":
            return value.to(device=p.device, dtype=torch.float32)
        return torch.empty_like(p).copy_(value)


class Adam(_Fused):
    """``torch.optim.Adam(params, lr, betas, eps, weight_decay, fused=True)``."""

    hyperparameters = ("lr", "betas", "eps", "weight_decay")
    fallback_class = torch.optim.Adam

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(
            params,
            {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
             "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
             "differentiable": False, "fused": True, "decoupled_weight_decay": False},
        )  # fmt: skip

    def _update(self, group, params):
        for p in params:
            if p not in self.state:
                self.state[p] = {
                    "step": torch.zeros((), dtype=torch.float32, device=p.device),
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                }
        for device_params in _by_device(params):
            states = [self.state[p] for p in device_params]
            steps = [s["step"] for s in states]
            torch._foreach_add_(steps, 1)
            beta1, beta2 = group["betas"]
            torch._fused_adam_(
                device_params,
                [p.grad for p in device_params],
                [s["exp_avg"] for s in states],
                [s["exp_avg_sq"] for s in states],
                [],
                steps,
                amsgrad=False,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                maximize=False,
                grad_scale=None,
                found_inf=None,
            )


class SGD(_Fused):
    """``torch.optim.SGD(params, lr, momentum, weight_decay=weight_decay, fused=True)``."""

    hyperparameters = ("lr", "momentum", "dampening", "weight_decay")
    fallback_class = torch.optim.SGD

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0):
        super().__init__(
            params,
            {"lr": lr, "momentum": momentum, "dampening": 0, "weight_decay": weight_decay,
             "nesterov": False, "maximize": False, "foreach": None, "differentiable": False,
             "fused": True},
        )  # fmt: skip

    def _update(self, group, params):
        momentum = group["momentum"]
        first = False
        if momentum != 0:
            found = [self.state.get(p, {}).get("momentum_buffer") for p in params]
            first = all(b is None for b in found)
            for p, b in zip(params, found):
                if b is None:
                    # the kernel sets it to the gradient on the first step; a parameter
                    # joining later starts from zeros, which gives the same
                    b = torch.empty_like(p.grad) if first else torch.zeros_like(p.grad)
                    self.state.setdefault(p, {})["momentum_buffer"] = b
        for device_params in _by_device(params):
            torch._fused_sgd_(
                device_params,
                [p.grad for p in device_params],
                [self.state[p]["momentum_buffer"] for p in device_params] if momentum else [],
                weight_decay=group["weight_decay"],
                momentum=momentum,
                lr=group["lr"],
                dampening=group["dampening"],
                nesterov=False,
                maximize=False,
                is_first_step=first,
                grad_scale=None,
                found_inf=None,
            )


def _copy(value):
    return value.clone() if torch.is_tensor(value) else value


def _by_device(params):
    """The parameters grouped by (device, dtype), in order, as the fused kernels take them."""
    groups: dict = {}
    for p in params:
        groups.setdefault((p.device, p.dtype), []).append(p)
    return groups.values()
