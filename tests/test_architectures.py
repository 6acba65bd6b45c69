"""The architectures of aeflow.run.models: every architecture's shapes, the seeds' specific
layers, and encoders that start classifiers."""

import pytest
import torch
from torch import nn

from aeflow.run import models
from aeflow.run.models import ModelError

AE = {"latent": 16, "dropout": 0.1, "output_activation": "sigmoid"}
CLF = {"latent": 16, "hidden": "24-12", "dropout": 0.1}
# architecture -> options of a small instance
CASES = {
    "conv": {"channels": "16-32", "pooling": "max"},
    "conv_bn": {"channels": "8-12", "pooling": "max-avg"},
    "conv_deep": {},
    "mlp": {},
}


def batch(n=4):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("architecture", list(CASES))
@pytest.mark.parametrize("latent", [8, 64])
def test_every_architecture_maps_images_to_latent_and_back(architecture, latent):
    torch.manual_seed(0)
    params = {**AE, **CASES[architecture], "architecture": architecture, "latent": latent}
    ae = models.build_autoencoder(params).eval()
    x = batch()
    assert ae.encoder(x).shape == (4, latent)
    out = ae(x)
    assert out.shape == (4, 1, 28, 28)
    assert 0 <= out.min() and out.max() <= 1  # sigmoid output
    clf = models.build_classifier(
        {**CLF, **CASES[architecture], "architecture": architecture, "latent": latent}
    ).eval()
    assert clf(x).shape == (4, 10)
    assert clf.encoder(x).shape == (4, latent)


def test_registry_names_the_four_architectures():
    assert set(models.ARCHITECTURES) == {"conv", "conv_bn", "conv_deep", "mlp"}


def test_conv_deep_is_seed_001s_raschka_network():
    ae = models.build_autoencoder({**AE, "architecture": "conv_deep", "latent": 128})
    convs = [m for m in ae.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 64, 64]
    assert [c.stride for c in convs] == [(1, 1), (2, 2), (2, 2), (1, 1)]
    assert sum(isinstance(m, nn.LeakyReLU) for m in ae.encoder.modules()) == 3
    assert all(m.negative_slope == 0.01 for m in ae.modules() if isinstance(m, nn.LeakyReLU))
    assert [m.in_features for m in ae.encoder.modules() if isinstance(m, nn.Linear)] == [64 * 7 * 7]
    # the decoder's last transposed convolution makes 29 x 29, the Trim layer crops to 28 x 28
    decoder = ae.decoder.layers
    trim = next(i for i, m in enumerate(decoder) if isinstance(m, models.Trim))
    before = decoder[:trim](torch.zeros(2, 128))
    assert before.shape == (2, 1, 29, 29)
    assert torch.equal(models.Trim()(before), before[..., :28, :28])
    transposed = [m for m in decoder if isinstance(m, nn.ConvTranspose2d)]
    assert [m.out_channels for m in transposed] == [64, 64, 32, 1]


def test_conv_deep_with_max_pooling_keeps_its_shapes():
    """Report 001's suggested follow-up: pooling in the Raschka encoder instead of its
    stride-2 convolutions; the same shapes, so the same decoder and Linear layer."""
    torch.manual_seed(0)
    params = {**CLF, "architecture": "conv_deep", "latent": 10, "downsampling": "max-pool"}
    clf = models.build_classifier(params).eval()
    convs = [m for m in clf.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [c.stride for c in convs] == [(1, 1)] * 4
    pools = [m for m in clf.encoder.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 2 and all(p.kernel_size == 2 for p in pools)
    layers = list(clf.encoder.features)
    # each pooling right after the convolution it replaces the stride of
    assert [type(layers[layers.index(p) - 1]) for p in pools] == [nn.Conv2d, nn.Conv2d]
    assert clf(batch()).shape == (4, 10)
    plain = models.build_classifier({**params, "downsampling": "stride"})
    assert not any(isinstance(m, nn.MaxPool2d) for m in plain.modules())
    # the same weights, in the same order (the pooling layers have none)
    shapes = [v.shape for v in clf.state_dict().values()]
    assert shapes == [v.shape for v in plain.state_dict().values()]
    with pytest.raises(ModelError, match="downsampling must be stride or max-pool"):
        models.build_classifier({**params, "downsampling": "avg"})


def test_downsampling_is_refused_on_other_architectures_and_absent_at_its_default():
    from aeflow.plan import grid

    base = {"architecture": "conv", "latent": 16, "hidden": 32, "dropout": 0.2,
            "optimizer": "adam", "lr": 0.001, "batch_size": 100, "epochs": 2}  # fmt: skip
    with pytest.raises(grid.GridError, match="downsampling: 'max-pool' applies to architecture"):
        grid.check({**base, "downsampling": "max-pool"}, "studies.x.classifier")
    full = grid.base_params(base, grid.CLASSIFIER_KEYS)
    assert "downsampling" not in grid.canonical(full)  # no id, params or column changes
    deep = {**full, "architecture": "conv_deep"}
    assert grid.config_id("scratch", deep) != grid.config_id(
        "scratch", {**deep, "downsampling": "max-pool"}
    )


def test_mlp_autoencoder_is_784_latent_784():
    ae = models.build_autoencoder({**AE, "architecture": "mlp", "latent": 512})
    linears = [m for m in ae.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 512), (512, 784)]


def test_mlp_classifier_widths_as_in_seeds_002_and_003():
    clf = models.build_classifier(
        {"architecture": "mlp", "latent": 128, "hidden": "64", "dropout": 0.2}
    )
    shapes = [(m.in_features, m.out_features) for m in clf.modules() if isinstance(m, nn.Linear)]
    assert shapes == [(784, 128), (128, 64), (64, 10)]
    clf = models.build_classifier(
        {"architecture": "mlp", "latent": 400, "hidden": [100, 80], "dropout": 0.0}
    )
    shapes = [(m.in_features, m.out_features) for m in clf.modules() if isinstance(m, nn.Linear)]
    assert shapes == [(784, 400), (400, 100), (100, 80), (80, 10)]
    assert not any(isinstance(m, nn.Conv2d) for m in clf.modules())


def test_conv_bn_has_batch_norm_before_pooling_and_its_pooling_and_channels():
    enc = models.build_autoencoder(
        {**AE, "architecture": "conv_bn", "channels": "64-96", "pooling": "max-avg"}
    ).encoder.features
    kinds = [type(m) for m in enc]
    bn = [i for i, k in enumerate(kinds) if k is nn.BatchNorm2d]
    pools = [i for i, k in enumerate(kinds) if k in (nn.MaxPool2d, nn.AvgPool2d)]
    assert len(bn) == 2 and all(b < p for b, p in zip(bn, pools))
    assert [kinds[p] for p in pools] == [nn.MaxPool2d, nn.AvgPool2d]
    assert [m.out_channels for m in enc if isinstance(m, nn.Conv2d)] == [64, 96]
    plain = models.build_autoencoder({**AE, "architecture": "conv"}).encoder.features
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain)
    assert [m.out_channels for m in plain if isinstance(m, nn.Conv2d)] == [16, 32]


@pytest.mark.parametrize("architecture", list(CASES))
def test_every_encoder_exports_and_starts_a_classifier(architecture, tmp_path):
    torch.manual_seed(1)
    params = {**AE, **CASES[architecture], "architecture": architecture}
    ae = models.build_autoencoder(params).eval()
    path = tmp_path / "encoder.pt"
    torch.save(models.encoder_export(ae, params, f"{architecture}-x"), path)
    encoder = models.load_encoder(path)
    x = batch()
    assert torch.equal(encoder(x), ae.encoder(x))
    clf = models.build_classifier({**CLF, **CASES[architecture], "architecture": architecture})
    export = models.load_checkpoint(path)
    models.load_encoder_state(
        clf.encoder, export, architecture, 16, options=models.encoder_options(params)
    )
    assert torch.equal(clf.eval().encoder(x), ae.encoder(x))


def test_encoder_with_other_channels_is_refused(tmp_path):
    params = {**AE, "architecture": "conv_bn", "channels": "8-12", "pooling": "max"}
    export = models.encoder_export(models.build_autoencoder(params), params, "conv_bn-x")
    clf = models.build_classifier({**CLF, "architecture": "conv_bn", "channels": "8-16"})
    with pytest.raises(ModelError, match="options"):
        models.load_encoder_state(
            clf.encoder, export, "conv_bn", 16, options={"channels": "8-16", "pooling": "max"}
        )


@pytest.mark.parametrize(
    "value, match",
    [("16", "two widths"), ("16-32-64", "two widths"), ("a-b", "widths"), (0, "widths")],
)
def test_bad_channels(value, match):
    with pytest.raises(ModelError, match=match):
        models.build_autoencoder({**AE, "architecture": "conv", "channels": value})


def test_bad_pooling():
    with pytest.raises(ModelError, match="pooling 'avg' unknown"):
        models.build_autoencoder({**AE, "architecture": "conv", "pooling": "avg"})


def test_the_constructors_defaults_are_the_registrys():
    """Autoencoder() and Classifier() are the registry's default configuration, layer for
    layer (the defaults come from aeflow.plan.hyperparameters, not typed in models.py)."""
    import inspect

    from aeflow.plan.hyperparameters import HYPERPARAMETERS

    for cls in (models.Autoencoder, models.Classifier):
        for name, p in inspect.signature(cls).parameters.items():
            if name in HYPERPARAMETERS:
                assert p.default == HYPERPARAMETERS[name].default, (cls.__name__, name)
    defaults = {n: h.default for n, h in HYPERPARAMETERS.items()}
    assert models.Classifier().head[0].out_features == defaults["hidden"]
    assert models.Autoencoder().encoder.latent == defaults["latent"]
    assert isinstance(models.Autoencoder().decoder.layers[-1], nn.Sigmoid)
