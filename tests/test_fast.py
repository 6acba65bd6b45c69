"""The fast paths of training: aeflow's dropout, memory layout, optimizer, options.

Quick (a few seconds): big tensors for the statistics, tiny models for the engine.
"""

import math

import pytest
import torch
from torch import nn

from aeflow.run import metrics, models, optim, training
from aeflow.run.models import Dropout, dropout_mask, effective_dropout

CPU = torch.device("cpu")
N = 1 << 22  # elements in the statistical checks (~4.2 M)


def zero_fraction_ok(y, p):
    """Dropped fraction within 5 standard deviations of the mask's probability."""
    q = effective_dropout(p)
    sd = math.sqrt(q * (1 - q) / y.numel())
    return abs((y == 0).double().mean().item() - q) < 5 * sd + 1e-12


@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.9])
def test_train_mode_drops_a_fraction_p_and_scales_survivors(p):
    torch.manual_seed(0)
    y = Dropout(p).train()(torch.ones(N))
    assert zero_fraction_ok(y, p)
    kept = y[y != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / (1 - p)), rtol=1e-6, atol=0)


def test_each_element_is_its_own_draw():
    """Every 16-bit lane of the 64-bit random words, every position, drops at rate p."""
    torch.manual_seed(1)
    y = Dropout(0.2).train()(torch.ones(N // 4, 4))
    for lane in range(4):
        assert zero_fraction_ok(y[:, lane], 0.2), lane
    # no correlation between neighbours: both dropped at rate p²
    both = ((y[:, 0] == 0) & (y[:, 1] == 0)).double().mean().item()
    assert abs(both - 0.04) < 5 * math.sqrt(0.04 * 0.96 / (N // 4))


def test_values_are_the_input_times_the_mask():
    torch.manual_seed(2)
    x = torch.randn(64, 16, 13, 13)
    y = Dropout(0.3).train()(x)
    kept = y != 0
    assert torch.equal(y[kept], x[kept] * torch.tensor(1 / 0.7, dtype=x.dtype))


def test_effective_probability_is_p_quantised_to_2_pow_minus_16():
    for p in [0.0, 0.1, 0.2, 1 / 3, 0.5, 0.9, 1.0]:
        assert abs(effective_dropout(p) - p) <= 2**-17
    assert effective_dropout(0.25) == 0.25 and effective_dropout(0.5) == 0.5


def test_eval_mode_and_p0_are_identity():
    x = torch.randn(10, 5)
    assert Dropout(0.5).eval()(x) is x
    assert Dropout(0.0).train()(x) is x


def test_p1_drops_everything_and_bad_p_is_refused():
    x = torch.randn(10, 5, requires_grad=True)
    y = Dropout(1.0).train()(x)
    assert torch.equal(y, torch.zeros_like(y))
    y.sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            Dropout(p)


def test_gradient_is_the_mask():
    torch.manual_seed(3)
    x = torch.randn(200, 300, requires_grad=True)
    y = Dropout(0.2).train()(x)
    g = torch.randn_like(y)
    y.backward(g)
    mask = (y != 0).float() * (1 / 0.8)  # x is never exactly 0
    assert torch.allclose(x.grad, g * mask, rtol=1e-6, atol=0)
    assert torch.equal(x.grad == 0, y == 0)


def test_gradcheck_in_double():
    x = torch.randn(6, 7, dtype=torch.double, requires_grad=True)
    state = torch.get_rng_state()

    def f(t):
        torch.set_rng_state(state)  # the same mask on every call
        return Dropout(0.4).train()(t)

    assert torch.autograd.gradcheck(f, (x,))


def test_deterministic_under_a_seed():
    x = torch.ones(1000, 100)
    torch.manual_seed(7)
    a = Dropout(0.2).train()(x)
    torch.manual_seed(7)
    b = Dropout(0.2).train()(x)
    torch.manual_seed(8)
    c = Dropout(0.2).train()(x)
    assert torch.equal(a, b) and not torch.equal(a, c)
    # the RNG state (what checkpoints save) determines the next mask
    state = torch.get_rng_state()
    d = dropout_mask(x, 0.2)
    torch.set_rng_state(state)
    assert torch.equal(d, dropout_mask(x, 0.2))


def test_layout_and_half_precision():
    torch.manual_seed(4)
    x = torch.ones(50, 16, 26, 26).to(memory_format=torch.channels_last)
    y = Dropout(0.2).train()(x)
    assert y.is_contiguous(memory_format=torch.channels_last) and zero_fraction_ok(y, 0.2)
    yb = Dropout(0.2).train()(torch.ones(N // 4, dtype=torch.bfloat16))
    assert yb.dtype == torch.bfloat16 and zero_fraction_ok(yb, 0.2)
    assert set(yb.unique().tolist()) == {0.0, 1.25}


def torch_dropout_copy(model):
    """The same model with ``nn.Dropout`` (the tutorial's) in place of aeflow's."""
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, Dropout):
                setattr(module, name, nn.Dropout(child.p))
    return model


def test_models_use_it_and_keep_their_state_dict_keys():
    for build in (models.Autoencoder, models.Classifier):
        torch.manual_seed(0)
        ours = build()
        torch.manual_seed(0)
        theirs = torch_dropout_copy(build())
        assert sum(isinstance(m, Dropout) for m in ours.modules()) >= 4
        assert ours.state_dict().keys() == theirs.state_dict().keys()
        theirs.load_state_dict(ours.state_dict())
        x = torch.rand(8, 1, 28, 28)
        assert torch.equal(ours.eval()(x), theirs.eval()(x))  # eval: no dropout at all


# --- the engine ---------------------------------------------------------------------------

AE = {
    "architecture": "conv", "latent": 8, "dropout": 0.1, "optimizer": "adam", "lr": 0.005,
    "batch_size": 32, "output_activation": "sigmoid", "epochs": 1,
}  # fmt: skip


def test_train_and_evaluate_leave_the_default_layout(tiny_split):
    model, _ = training.fit_autoencoder(AE, tiny_split, 0, CPU, log=lambda _: None)
    weights = [p for p in model.parameters() if p.dim() == 4]
    assert weights and all(p.is_contiguous() for p in weights)
    x, y = tiny_split["validation_images"], tiny_split["validation_labels"]
    before = metrics.evaluate_split(model, "autoencoder", x, y)
    assert all(p.is_contiguous() for p in weights) and model.training  # both restored
    # channels_last changes no value beyond rounding
    model.eval()
    with torch.no_grad():
        inputs = metrics.as_input(x)
        expected = torch.nn.functional.mse_loss(model(inputs), inputs).item()
    assert before["loss"] == pytest.approx(expected, rel=1e-5)


def test_fused_optimizers_and_state_layout():
    """aeflow.run.optim's optimizers; a state saved in the default layout is loaded in the
    parameters' layout (the fused kernels expect moments laid out like the weights)."""
    model = models.Autoencoder(latent=4)
    for name, cls in (("adam", optim.Adam), ("sgd", optim.SGD)):
        assert type(training.make_optimizer(name, model.parameters(), 0.01)) is cls
    opt = training.make_optimizer("adam", model.parameters(), 0.01)
    model(torch.rand(2, 1, 28, 28)).sum().backward()
    opt.step()  # state in the default layout
    saved = opt.state_dict()
    models.set_memory_format(model, torch.channels_last)
    opt = training.make_optimizer("adam", model.parameters(), 0.01)
    opt.load_state_dict(saved)
    for p in model.parameters():
        for value in opt.state[p].values():
            if value.shape == p.shape:
                assert value.stride() == p.stride()
    opt.step()


def test_amp_bf16_option_trains(tiny_split):
    torch.manual_seed(0)
    model = models.build_autoencoder(AE)
    result = training.train(
        model, tiny_split, task="autoencoder", epochs=1, batch_size=32, optimizer="adam",
        lr=0.005, seed=0, device=CPU, log=lambda _: None, amp_bf16=True,
    )  # fmt: skip
    assert not result["diverged"] and math.isfinite(result["final_validation_loss"])


def test_resume_from_an_unfused_checkpoint(tiny_split, tmp_path):
    """A checkpoint written by the earlier engine (default-layout Adam moments, no fused
    flag) resumes, and to the same result as one written by this engine."""
    checkpoint = tmp_path / "resume.pt"
    params = {**AE, "epochs": 2}

    def quiet(_):
        return None

    with pytest.raises(RuntimeError, match="stop"):

        def stop(line):
            if line.startswith("epoch 1/2"):
                raise RuntimeError("stop")

        training.fit_autoencoder(params, tiny_split, 0, CPU, checkpoint, log=stop)
    saved = torch.load(checkpoint, weights_only=True)
    for group in saved["optimizer"]["param_groups"]:
        group["fused"] = None
    for state in saved["optimizer"]["state"].values():
        for key, value in state.items():
            if value.dim() == 4:
                state[key] = value.contiguous()
    old = tmp_path / "old.pt"
    torch.save(saved, old)
    _, resumed = training.fit_autoencoder(params, tiny_split, 0, CPU, checkpoint, log=quiet)
    _, from_old = training.fit_autoencoder(params, tiny_split, 0, CPU, old, log=quiet)
    assert from_old["history"] == resumed["history"]
