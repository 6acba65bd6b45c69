"""aeflow.run.optim: the same updates as torch.optim's fused Adam and SGD, bit for bit, their
state_dict format both ways, and no import of the compiler."""

import copy
import math
import subprocess
import sys

import pytest
import torch
from torch import nn

from aeflow.run import models, optim

CASES = [
    ("adam", {}),
    ("adam", {"weight_decay": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "weight_decay": 0.01}),
]
OURS = {"adam": optim.Adam, "sgd": optim.SGD}
THEIRS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


def model_pair(seed=0):
    """Two identical small conv autoencoders, in channels_last as the engine trains."""
    torch.manual_seed(seed)
    a = models.Autoencoder(latent=8, dropout=0.0)
    b = models.Autoencoder(latent=8, dropout=0.0)
    b.load_state_dict(a.state_dict())
    for m in (a, b):
        models.set_memory_format(m, torch.channels_last)
    return a, b


def steps(model, opt, n, start=0, lrs=None):
    for i in range(start, start + n):
        if lrs:
            opt.param_groups[0]["lr"] = lrs[i]
        x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(i))
        opt.zero_grad(set_to_none=True)
        nn.functional.mse_loss(model(x), x).backward()
        opt.step()


def same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("name, options", CASES)
def test_bit_identical_to_torch_fused(name, options):
    ours_model, theirs_model = model_pair()
    ours = OURS[name](ours_model.parameters(), lr=0.01, **options)
    theirs = THEIRS[name](theirs_model.parameters(), lr=0.01, fused=True, **options)
    lrs = [0.01, 0.01, 0.005, 0.005, 0.002, 0.001]  # a schedule sets the group's lr
    steps(ours_model, ours, 6, lrs=lrs)
    steps(theirs_model, theirs, 6, lrs=lrs)
    assert same(ours_model, theirs_model)
    start = next(iter(model_pair(0)[0].state_dict().values()))
    assert not torch.equal(next(iter(ours_model.state_dict().values())), start)  # it trained


@pytest.mark.parametrize("name, options", CASES)
def test_state_dicts_load_both_ways(name, options):
    """A checkpoint written by torch.optim resumes with aeflow.run.optim and the other way
    round, to the same weights as training straight through."""
    straight, _ = model_pair()
    opt = OURS[name](straight.parameters(), lr=0.01, **options)
    steps(straight, opt, 6)

    for first, second in ((THEIRS, OURS), (OURS, THEIRS)):
        model, _ = model_pair()
        extra = {"fused": True} if first is THEIRS else {}
        before = first[name](model.parameters(), lr=0.01, **options, **extra)
        steps(model, before, 3)
        saved = before.state_dict()
        extra = {"fused": True} if second is THEIRS else {}
        after = second[name](model.parameters(), lr=0.5, **options, **extra)
        after.load_state_dict(saved)
        assert after.param_groups[0]["lr"] == 0.01  # the saved hyperparameters
        steps(model, after, 3, start=3)
        assert same(model, straight)


def test_state_dict_is_torch_optims_layout():
    model, twin = model_pair()
    ours = optim.Adam(model.parameters(), lr=0.01)
    theirs = torch.optim.Adam(twin.parameters(), lr=0.01, fused=True)
    steps(model, ours, 1)
    steps(twin, theirs, 1)
    a, b = ours.state_dict(), theirs.state_dict()
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for key in a["state"]:
        assert a["state"][key].keys() == b["state"][key].keys()
        for name in a["state"][key]:
            assert a["state"][key][name].dtype == b["state"][key][name].dtype


def test_zero_grad_and_refusals():
    w = nn.Parameter(torch.ones(3))
    opt = optim.SGD([w], lr=0.1)
    w.grad = torch.ones(3)
    opt.zero_grad(set_to_none=False)
    assert torch.equal(w.grad, torch.zeros(3))
    opt.zero_grad()
    assert w.grad is None
    opt.step()  # no gradient: nothing changes
    assert torch.equal(w.detach(), torch.ones(3))
    assert not optim.available([nn.Parameter(torch.ones(3, dtype=torch.float16))])
    with pytest.raises(ValueError, match="float32/float64"):
        optim.Adam([nn.Parameter(torch.ones(3, dtype=torch.bfloat16))])
    with pytest.raises(ValueError, match="other parameters"):
        optim.Adam([w]).load_state_dict(optim.Adam([w, nn.Parameter(torch.ones(2))]).state_dict())


def test_a_training_job_does_not_import_the_compiler(tiny_split, tmp_path):
    """What a training job does (scripts/train.py: load the split, train, write the history
    and the model) leaves torch._dynamo unimported: its import cost ~1.2 s of start-up."""
    from aeflow.run import data

    data.save(tiny_split, tmp_path / "split.pt")
    code = f"""
import sys
from aeflow.run import data, devices, records, training
split = data.load({str(tmp_path / "split.pt")!r})
params = {{"architecture": "conv", "latent": 8, "dropout": 0.2, "output_activation": "sigmoid",
          "epochs": 1, "batch_size": 50, "optimizer": "adam", "lr": 1e-3}}
clf = {{**params, "hidden": 16, "initialisation": "scratch", "optimizer": "sgd", "momentum": 0.9}}
for kind, fit, p in (("autoencoder", training.fit_autoencoder, params),
                     ("classifier", training.fit_classifier, clf)):
    model, result = fit(p, split, 0, devices.select_device("cpu"), log=lambda m: None)
    records.write_parquet(records.history_rows(result["history"], kind, "m", 0, p),
                          {str(tmp_path)!r} + "/history.parquet")
    training.save_model(training.model_file(kind, "m", 0, p, model, result),
                        {str(tmp_path)!r} + "/model.pt")
print("torch._dynamo" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


KERNELS = {"adam": "_fused_adam_", "sgd": "_fused_sgd_"}


def broken_kernel(*args, **kwargs):
    raise TypeError("_fused_op_() got an unexpected keyword argument 'lr'")


@pytest.mark.parametrize("name, options", CASES)
def test_a_failing_kernel_falls_back_to_torch_optim(name, options, monkeypatch, caplog):
    """If torch's private kernel fails at the first step, the optimizer goes on as
    torch.optim's (non-fused) one would have from the start, and says so once."""
    ours_model, theirs_model = model_pair()
    monkeypatch.setattr(torch, KERNELS[name], broken_kernel)
    ours = OURS[name](ours_model.parameters(), lr=0.01, **options)
    theirs = THEIRS[name](theirs_model.parameters(), lr=0.01, **options)
    lrs = [0.01, 0.01, 0.005, 0.005, 0.002, 0.001]  # a schedule still reaches it
    with caplog.at_level("WARNING", logger="aeflow.run.optim"):
        steps(ours_model, ours, 6, lrs=lrs)
    steps(theirs_model, theirs, 6, lrs=lrs)
    assert isinstance(ours.fallback, THEIRS[name])
    assert same(ours_model, theirs_model)
    start = next(iter(model_pair(0)[0].state_dict().values()))
    assert not torch.equal(next(iter(ours_model.state_dict().values())), start)  # it trained
    lines = [r.getMessage() for r in caplog.records if r.name == "aeflow.run.optim"]
    assert len(lines) == 1 and f"torch.optim.{THEIRS[name].__name__}" in lines[0]
    assert "TypeError" in lines[0]
    # its checkpoint is torch.optim's and resumes on either
    resumed = THEIRS[name](theirs_model.parameters(), lr=0.5, **options)
    resumed.load_state_dict(ours.state_dict())
    assert resumed.param_groups[0]["lr"] == 0.001


@pytest.mark.parametrize("name, options", [("adam", {}), ("sgd", {"momentum": 0.9})])
def test_fallback_after_resume_keeps_the_state(name, options, monkeypatch):
    """A resumed optimizer whose first step fails hands its loaded state (moments, step
    counts) over: the run ends where torch.optim resumed from the same checkpoint ends."""
    ours_model, theirs_model = model_pair()
    first = THEIRS[name](ours_model.parameters(), lr=0.01, **options)
    steps(ours_model, first, 3)
    theirs_model.load_state_dict(ours_model.state_dict())
    saved = first.state_dict()
    monkeypatch.setattr(torch, KERNELS[name], broken_kernel)
    ours = OURS[name](ours_model.parameters(), lr=0.5, **options)
    ours.load_state_dict(copy.deepcopy(saved))  # (loading may alias the saved tensors)
    theirs = THEIRS[name](theirs_model.parameters(), lr=0.5, **options)
    theirs.load_state_dict(copy.deepcopy(saved))
    steps(ours_model, ours, 3, start=3)
    steps(theirs_model, theirs, 3, start=3)
    assert ours.fallback is not None
    assert same(ours_model, theirs_model)


def test_a_failure_after_a_successful_step_is_not_hidden(monkeypatch):
    model, _ = model_pair()
    opt = optim.Adam(model.parameters(), lr=0.01)
    steps(model, opt, 1)
    monkeypatch.setattr(torch, "_fused_adam_", broken_kernel)
    with pytest.raises(TypeError, match="unexpected keyword"):
        steps(model, opt, 1, start=1)
    assert opt.fallback is None


def test_training_goes_on_when_the_kernel_fails(tiny_split, monkeypatch):
    from aeflow.run import devices, training

    params = {"architecture": "conv", "latent": 8, "dropout": 0.0,
              "output_activation": "sigmoid", "epochs": 2, "batch_size": 50,
              "optimizer": "adam", "lr": 1e-3}  # fmt: skip
    device = devices.select_device("cpu")
    _, expected = training.fit_autoencoder(params, tiny_split, 0, device, log=lambda m: None)
    monkeypatch.setattr(torch, "_fused_adam_", broken_kernel)
    _, result = training.fit_autoencoder(params, tiny_split, 0, device, log=lambda m: None)

    def losses(history):
        return [r["value"] for r in history if (r["split"], r["metric"]) == ("train", "loss")]

    assert len(losses(result["history"])) == 2 and all(
        map(math.isfinite, losses(result["history"]))
    )
    assert not result["diverged"]
    # torch.optim's non-fused Adam: the same updates up to rounding
    assert losses(result["history"]) == pytest.approx(losses(expected["history"]), rel=1e-4)
