import pytest
import torch

from aeflow.run import models
from aeflow.run.models import ModelError

AE_PARAMS = {
    "architecture": "conv",
    "latent": 16,
    "dropout": 0.2,
    "optimizer": "adam",
    "lr": 0.001,
    "batch_size": 32,
    "output_activation": "sigmoid",
    "epochs": 1,
}
CLF_PARAMS = {
    "architecture": "conv",
    "latent": 16,
    "hidden": 32,
    "dropout": 0.2,
    "optimizer": "adam",
    "lr": 0.001,
    "batch_size": 32,
    "epochs": 1,
}


def batch(n=5, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("latent", [1, 16, 64, 256])
def test_output_shapes(latent):
    torch.manual_seed(0)
    x = batch(3)
    ae = models.build_autoencoder({**AE_PARAMS, "latent": latent}).eval()
    assert ae.encoder(x).shape == (3, latent)
    out = ae(x)
    assert out.shape == (3, 1, 28, 28)
    assert out.min() >= 0 and out.max() <= 1
    clf = models.build_classifier({**CLF_PARAMS, "latent": latent}).eval()
    assert clf(x).shape == (3, 10)
    assert models.build_classifier({**CLF_PARAMS, "latent": latent}, classes=4)(x).shape == (3, 4)


def test_relu_output_is_non_negative_and_unbounded_above():
    torch.manual_seed(0)
    ae = models.build_autoencoder({**AE_PARAMS, "output_activation": "relu"}).eval()
    assert isinstance(ae.decoder.layers[-1], torch.nn.ReLU)
    assert (ae(batch()) >= 0).all()
    assert isinstance(models.build_autoencoder(AE_PARAMS).decoder.layers[-1], torch.nn.Sigmoid)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"architecture": "resnet"}, "architecture 'resnet' unknown"),
        ({"output_activation": "tanh"}, "output_activation 'tanh' unknown"),
        ({"latent": 0}, "latent must be a positive integer"),
        ({"latent": 2.5}, "latent must be a positive integer"),
    ],
)
def test_bad_autoencoder_options(kwargs, match):
    with pytest.raises(ModelError, match=match):
        models.Autoencoder(**kwargs)


def test_bad_classifier_architecture():
    with pytest.raises(ModelError, match="architecture 'resnet' unknown"):
        models.build_classifier({**CLF_PARAMS, "architecture": "resnet"})


def test_dropout_active_in_train_mode_only():
    torch.manual_seed(0)
    ae = models.Autoencoder(dropout=0.5)
    x = batch()
    ae.train()
    assert not torch.equal(ae(x), ae(x))
    ae.eval()
    assert torch.equal(ae(x), ae(x))


# --- encoder export --------------------------------------------------------------------


def exported(tmp_path, latent=16, dropout=0.3):
    torch.manual_seed(1)
    ae = models.build_autoencoder({**AE_PARAMS, "latent": latent, "dropout": dropout})
    export = models.encoder_export(ae, {**AE_PARAMS, "latent": latent}, "conv-abc")
    path = tmp_path / "encoder.pt"
    torch.save(export, path)
    return ae, export, path


def test_encoder_export_round_trip(tmp_path):
    ae, export, path = exported(tmp_path)
    assert export["format"] == models.ENCODER_FORMAT
    assert export["latent"] == 16 and export["architecture"] == "conv"
    assert export["autoencoder_id"] == "conv-abc"
    assert export["input_shape"] == [1, 28, 28]
    encoder = models.load_encoder(path)
    assert not encoder.training
    assert all(not m.training for m in encoder.modules())
    params = list(encoder.parameters())
    assert params and all(not p.requires_grad for p in params)
    x = batch(4)
    ae.eval()
    with torch.no_grad():
        expected = ae.encoder(x)
    assert torch.equal(encoder(x), expected)
    for key, value in ae.encoder.state_dict().items():
        assert torch.equal(encoder.state_dict()[key], value)


def test_encoder_export_is_weights_only(tmp_path):
    ae, _, path = exported(tmp_path)
    loaded = torch.load(path, weights_only=True)
    assert loaded["latent"] == 16 and loaded["autoencoder_id"] == "conv-abc"
    assert set(loaded["state_dict"]) == set(ae.encoder.state_dict())
    assert all(isinstance(v, torch.Tensor) for v in loaded["state_dict"].values())
    assert models.load_checkpoint(path)["format"] == models.ENCODER_FORMAT


def test_load_encoder_state_into_classifier(tmp_path):
    ae, export, _ = exported(tmp_path)
    clf = models.build_classifier(CLF_PARAMS)
    models.load_encoder_state(clf.encoder, export, "conv", 16)
    for key, value in ae.encoder.state_dict().items():
        assert torch.equal(clf.encoder.state_dict()[key], value)


def test_load_encoder_state_other_latent(tmp_path):
    _, export, _ = exported(tmp_path, latent=16)
    clf = models.build_classifier({**CLF_PARAMS, "latent": 32})
    with pytest.raises(ModelError, match=r"latent 16.*latent 32"):
        models.load_encoder_state(clf.encoder, export, "conv", 32, source="enc.pt")


def test_load_encoder_state_bad_format_or_weights(tmp_path):
    _, export, _ = exported(tmp_path)
    encoder = models.ConvEncoder(16)
    with pytest.raises(ModelError, match="not an aeflow encoder export"):
        models.load_encoder_state(encoder, {**export, "format": 99}, "conv", 16)
    broken = {**export, "state_dict": dict(list(export["state_dict"].items())[:-1])}
    with pytest.raises(ModelError, match="weights do not fit"):
        models.load_encoder_state(encoder, broken, "conv", 16)


def test_load_encoder_refuses_other_files(tmp_path):
    path = tmp_path / "x.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(ModelError, match="not an aeflow encoder export"):
        models.load_encoder(path)
    path.write_bytes(b"garbage")
    with pytest.raises(ModelError, match=r"x\.pt.*not a loadable"):
        models.load_checkpoint(path)


# --- classifier ----------------------------------------------------------------------------


def test_freeze_encoder_keeps_encoder_in_eval_mode():
    torch.manual_seed(0)
    clf = models.build_classifier({**CLF_PARAMS, "dropout": 0.5})
    clf.freeze_encoder()
    clf.train()
    assert clf.training and clf.head.training
    assert not clf.encoder.training
    assert all(not m.training for m in clf.encoder.modules())
    assert all(not p.requires_grad for p in clf.encoder.parameters())
    assert all(p.requires_grad for p in clf.head.parameters())
    x = batch()
    assert torch.equal(clf.encoder(x), clf.encoder(x))  # no dropout in the encoder
    clf.eval()
    clf.train(True)
    assert not clf.encoder.training and clf.head.training


def test_unfrozen_classifier_trains_its_encoder():
    clf = models.build_classifier(CLF_PARAMS)
    clf.train()
    assert clf.encoder.training
    assert all(p.requires_grad for p in clf.parameters())


# --- load_trained ----------------------------------------------------------------------------


def test_load_trained(tmp_path):
    torch.manual_seed(2)
    ae = models.build_autoencoder(AE_PARAMS)
    path = tmp_path / "model.pt"
    state = {k: v.clone() for k, v in ae.state_dict().items()}
    torch.save({"kind": "autoencoder", "params": dict(AE_PARAMS), "state_dict": state}, path)
    model, saved = models.load_trained(path, AE_PARAMS)
    assert not model.training and saved["kind"] == "autoencoder"
    ae.eval()
    x = batch()
    assert torch.equal(model(x), ae(x))
    with pytest.raises(ModelError, match="expected"):
        models.load_trained(path, {**AE_PARAMS, "latent": 32})
    torch.save(
        {"kind": "autoencoder", "params": {**AE_PARAMS, "latent": 8}, "state_dict": state}, path
    )
    with pytest.raises(ModelError, match="weights do not fit"):
        models.load_trained(path)
    torch.save({"kind": "encoder"}, path)
    with pytest.raises(ModelError, match="not an aeflow model file"):
        models.load_trained(path)


# --- heads without a hidden layer, dropout placement (report 001's classifiers) -----------


def _layers(module, kind):
    return [m for m in module.modules() if isinstance(m, kind)]


def test_hidden_none_head_is_one_linear_layer_from_latent_to_classes():
    clf = models.build_classifier({**CLF_PARAMS, "hidden": "none"})
    head = list(clf.head)
    assert len(head) == 1 and isinstance(head[0], torch.nn.Linear)
    assert (head[0].in_features, head[0].out_features) == (16, 10)
    assert clf.eval()(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_hidden_none_is_refused_for_encoder_channels():
    with pytest.raises(
        ModelError,
        match=r"channels: expected layer widths like 128, 128-64 or \[128, 64\], got .none.",
    ):
        models.build_classifier({**CLF_PARAMS, "channels": "none", "hidden": "none"})


def test_dropout_at_hidden_is_after_every_hidden_activation():
    clf = models.build_classifier({**CLF_PARAMS, "dropout": 0.8})
    ps = [m.p for m in _layers(clf, models.Dropout)]
    # encoder: conv1, conv2, latent; head: hidden 32
    assert ps == [0.8, 0.8, 0.8, 0.8]
    assert not any(isinstance(m, torch.nn.Sequential) for m in clf.encoder.features)


@pytest.mark.parametrize("architecture", ["conv", "conv_bn", "conv_deep", "mlp"])
def test_dropout_at_flatten_is_one_dropout_right_after_the_flatten(architecture):
    params = {**CLF_PARAMS, "architecture": architecture, "dropout": 0.8, "dropout_at": "flatten"}
    params["hidden"] = "none"
    clf = models.build_classifier(params)
    active = [m for m in _layers(clf, models.Dropout) if m.p > 0]
    assert [m.p for m in active] == [0.8]
    flat = [m for m in clf.encoder.features if isinstance(m, torch.nn.Sequential)]
    assert len(flat) == 1
    assert isinstance(flat[0][0], torch.nn.Flatten) and flat[0][1] is active[0]
    # the flatten's slot is followed by the latent Linear: it sees the dropped features
    slots = list(clf.encoder.features)
    assert isinstance(slots[slots.index(flat[0]) + 1], torch.nn.Linear)


def test_dropout_at_flatten_leaves_hidden_head_layers_without_dropout():
    clf = models.build_classifier({**CLF_PARAMS, "dropout": 0.5, "dropout_at": "flatten"})
    assert [type(m) for m in clf.head] == [torch.nn.Linear, torch.nn.ReLU, torch.nn.Linear]


def test_dropout_at_flatten_drops_features_in_training_only():
    torch.manual_seed(0)
    clf = models.build_classifier(
        {**CLF_PARAMS, "hidden": "none", "dropout": 0.5, "dropout_at": "flatten"}
    )
    x = torch.rand(4, 1, 28, 28)
    flatten = next(m for m in clf.encoder.features if isinstance(m, torch.nn.Sequential))
    clf.train()
    dropped = flatten(x.new_ones(4, 2, 5, 5))
    assert set(dropped.unique().tolist()) == {0.0, 2.0}
    clf.eval()
    assert torch.equal(flatten(x.new_ones(4, 2, 5, 5)), x.new_ones(4, 50))
    assert torch.equal(clf(x), clf(x))


def test_dropout_placement_keeps_state_dict_names_so_pretrained_encoders_fit():
    ae = models.build_autoencoder(AE_PARAMS)
    export = models.encoder_export(ae, AE_PARAMS, "conv-x")
    clf = models.build_classifier({**CLF_PARAMS, "hidden": "none", "dropout_at": "flatten"})
    models.load_encoder_state(clf.encoder, export, "conv", 16)
    assert torch.equal(clf.encoder.features[-3].weight, ae.encoder.features[-3].weight)


def test_unknown_dropout_placement_is_an_error_naming_it():
    with pytest.raises(ModelError, match="dropout_at 'head' unknown; allowed: hidden, flatten"):
        models.build_classifier({**CLF_PARAMS, "dropout_at": "head"})


def test_conv_bn_decoder_batch_norm_is_optional_and_the_encoder_keeps_it():
    params = {**AE_PARAMS, "architecture": "conv_bn", "channels": "8-12", "pooling": "max-avg"}
    with_bn = models.build_autoencoder(params)
    seed004 = models.build_autoencoder({**params, "decoder_batch_norm": False})
    assert len(_layers(with_bn.decoder, torch.nn.BatchNorm2d)) == 1
    assert _layers(seed004.decoder, torch.nn.BatchNorm2d) == []
    assert len(_layers(seed004.encoder, torch.nn.BatchNorm2d)) == 2
    assert seed004.eval()(torch.rand(2, 1, 28, 28)).shape == (2, 1, 28, 28)


# --- the networks against the reports' listings and tables ---------------------------------


def _sequence(module: torch.nn.Module) -> list[tuple]:
    """The leaf layers of ``module`` in order, each as (name, its listing's arguments)."""
    out = []
    for m in module.modules():
        if list(m.children()):
            continue
        name = type(m).__name__
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            extra = (m.output_padding[0],) if isinstance(m, torch.nn.ConvTranspose2d) else ()
            args = (m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0])
            out.append((name, *args, *extra))
        elif isinstance(m, torch.nn.Linear):
            out.append((name, m.in_features, m.out_features))
        elif isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
            out.append((name, m.kernel_size))
        elif isinstance(m, models.Dropout):
            out.append(("Dropout", m.p))
        elif isinstance(m, torch.nn.Unflatten):
            out.append((name, tuple(m.unflattened_size)))
        else:
            out.append((name,))
    return out


# Report 001, fig. 3 ("Autoencoder convolucional «consigna»"), with hidden_size n = 64 and
# dropout_rate p = 0.2 (report 000's defaults); ConvTranspose2d's padding is PyTorch's 0.
N, P = 64, 0.2
CONSIGNA_ENCODER = [
    ("Conv2d", 1, 16, 3, 1, 0), ("ReLU",), ("Dropout", P), ("MaxPool2d", 2),
    ("Conv2d", 16, 32, 3, 1, 0), ("ReLU",), ("Dropout", P), ("MaxPool2d", 2),
    ("Flatten",), ("Linear", 32 * 5 * 5, N), ("ReLU",), ("Dropout", P),
]  # fmt: skip
CONSIGNA_DECODER = [
    ("Linear", N, 32 * 5 * 5), ("ReLU",), ("Dropout", P), ("Unflatten", (32, 5, 5)),
    ("ConvTranspose2d", 32, 16, 4, 2, 0, 1), ("ReLU",), ("Dropout", P),
    ("ConvTranspose2d", 16, 1, 3, 2, 0, 1), ("Sigmoid",), ("Dropout", P),
]  # fmt: skip


def test_the_consigna_autoencoder_with_output_dropout_is_report_001s_listing():
    params = {**AE_PARAMS, "latent": N, "dropout": P, "output_dropout": True}
    ae = models.build_autoencoder(params)
    assert _sequence(ae.encoder) == CONSIGNA_ENCODER
    assert _sequence(ae.decoder) == CONSIGNA_DECODER
    # without it (the main grid): the listing less its last Dropout, parameters unchanged
    plain = models.build_autoencoder({**params, "output_dropout": False})
    assert _sequence(plain.decoder) == CONSIGNA_DECODER[:-1]
    assert plain.state_dict().keys() == ae.state_dict().keys()


def test_output_dropout_drops_output_pixels_in_training_only():
    torch.manual_seed(0)
    params = {**AE_PARAMS, "dropout": 0.5, "output_dropout": True}
    ae = models.build_autoencoder(params)
    plain = models.build_autoencoder({**params, "output_dropout": False})
    plain.load_state_dict(ae.state_dict())
    x = batch(4)
    ae.eval(), plain.eval()
    assert torch.equal(ae(x), plain(x))  # evaluation: identity
    ae.decoder.layers[-1].train()  # the output dropout alone in training mode
    out, clean = ae(x), plain(x)
    zeros = out == 0
    assert 0.3 < zeros.float().mean() < 0.7  # about half the output pixels dropped
    assert torch.allclose(out[~zeros], 2 * clean[~zeros])  # the rest scaled by 1 / (1 − p)


def test_output_dropout_is_conv_only_and_left_out_at_its_default():
    from aeflow.plan import grid

    base = {**AE_PARAMS, "output_dropout": False}
    assert grid.config_id("conv", grid.canonical(base)) == grid.config_id(
        "conv", grid.canonical(AE_PARAMS)
    )
    assert "output_dropout" not in grid.canonical(base)
    with pytest.raises(grid.GridError, match="output_dropout: True applies to architecture conv"):
        grid.check({**AE_PARAMS, "architecture": "mlp", "output_dropout": True}, "autoencoder")


def _active(sequence: list[tuple]) -> list[tuple]:
    """A layer sequence without its dropouts of p = 0 (identities)."""
    return [layer for layer in sequence if layer != ("Dropout", 0.0)]


# Report 004's Tabla 2 ("Detalles de las capas que conforman el modelo baseline del
# autoencoder"): type, output side, kernel, stride, padding of each of its six layers.
TABLA_2 = [
    ("Conv", 26, 3, 1, 0),
    ("Max Pool", 13, 2, 2, 0),
    ("Conv", 11, 3, 1, 0),
    ("Max Pool", 5, 2, 2, 0),
    ("ConvT", 13, 5, 2, 2),
    ("ConvT", 28, 6, 2, 1),
]
TABLE_NAMES = {"Conv2d": "Conv", "MaxPool2d": "Max Pool", "AvgPool2d": "Avg Pool",
               "ConvTranspose2d": "ConvT"}  # fmt: skip


def _table_rows(model: torch.nn.Module) -> list[tuple]:
    """Each convolution, pooling and transposed convolution of ``model`` as a row of
    Tabla 2 (type, output side, kernel, stride, padding), read from a forward pass."""
    rows = []

    def first(v):
        return v[0] if isinstance(v, tuple) else v

    def record(m, _, out):
        k, s, p = (first(getattr(m, a)) for a in ("kernel_size", "stride", "padding"))
        rows.append((TABLE_NAMES[type(m).__name__], out.shape[-1], k, s, p))

    hooks = [m.register_forward_hook(record) for m in model.modules()
             if type(m).__name__ in TABLE_NAMES]  # fmt: skip
    model.eval()(batch(2))
    for h in hooks:
        h.remove()
    return rows


SEED_004 = {**AE_PARAMS, "latent": 800, "dropout": 0.2, "bottleneck": False,
            "decoder": "tabla-2"}  # fmt: skip


def test_report_004s_baseline_autoencoder_is_its_tabla_2():
    ae = models.build_autoencoder(SEED_004)
    assert _table_rows(ae) == TABLA_2
    # its fig. 1: "convolución y reducción (encoder), seguido de una función lineal y una
    # convolución transpuesta (decoder)": the encoder ends at its 32 × 5 × 5 features, the
    # decoder opens with a Linear layer to 32 × 7 × 7 (16 and 32 kernels, dropout 0.2)
    assert _sequence(ae.encoder)[-2:] == [("MaxPool2d", 2), ("Flatten",)]
    assert _sequence(ae.decoder) == [
        ("Linear", 800, 32 * 7 * 7), ("ReLU",), ("Dropout", 0.2), ("Unflatten", (32, 7, 7)),
        ("ConvTranspose2d", 32, 16, 5, 2, 2, 0), ("ReLU",), ("Dropout", 0.2),
        ("ConvTranspose2d", 16, 1, 6, 2, 1, 0), ("Sigmoid",),
    ]  # fmt: skip


def test_report_004s_improved_autoencoder_keeps_tabla_2s_shapes():
    params = {**SEED_004, "architecture": "conv_bn", "decoder_batch_norm": False,
              "pooling": "max-avg", "channels": "64-96", "latent": 2400, "dropout": 0.0}  # fmt: skip
    ae = models.build_autoencoder(params)
    rows = _table_rows(ae)
    assert [r[1:] for r in rows] == [r[1:] for r in TABLA_2]  # sides, kernels, strides, pads
    assert [r[0] for r in rows] == ["Conv", "Max Pool", "Conv", "Avg Pool", "ConvT", "ConvT"]
    assert _sequence(ae.decoder)[0] == ("Linear", 2400, 96 * 7 * 7)


def test_the_consigna_decoder_layout_is_the_default():
    assert _table_rows(models.build_autoencoder(AE_PARAMS))[-2:] == [
        ("ConvT", 13, 4, 2, 0),
        ("ConvT", 28, 3, 2, 0),
    ]
    with pytest.raises(ModelError, match="decoder 'k5' unknown; allowed: consigna, tabla-2"):
        models.build_autoencoder({**AE_PARAMS, "decoder": "k5"})


def test_report_004s_classifier_is_one_fc_layer_on_the_encoders_features():
    params = {**CLF_PARAMS, "architecture": "conv_bn", "pooling": "max-avg",
              "channels": "64-96", "bottleneck": False, "latent": 2400, "hidden": "none",
              "dropout": 0.0}  # fmt: skip
    clf = models.build_classifier(params)
    # "el encoder optimizado y una capa FC de 10 salidas": FC on the 96 × 5 × 5 features
    assert _sequence(clf.head) == [("Linear", 96 * 5 * 5, 10)]
    assert _active(_sequence(clf.encoder))[-3:] == [("ReLU",), ("AvgPool2d", 2), ("Flatten",)]
    assert clf.eval()(batch(3)).shape == (3, 10)
    # the bottleneck kept (the added configuration): Linear(2400, 64) → ReLU, then the FC
    kept = models.build_classifier({**params, "bottleneck": True, "latent": 64})
    assert _active(_sequence(kept.encoder))[-3:] == [("Flatten",), ("Linear", 2400, 64), ("ReLU",)]
    assert _sequence(kept.head) == [("Linear", 64, 10)]


def test_without_bottleneck_latent_must_be_the_features_number():
    with pytest.raises(ModelError, match=r"latent 64 without the bottleneck: .* 32 × 5 × 5 = 800"):
        models.build_classifier({**CLF_PARAMS, "latent": 64, "bottleneck": False})
    from aeflow.plan import grid

    with pytest.raises(
        grid.GridError, match="where: latent 64 with bottleneck false: .*must be 800"
    ):
        grid.check({**AE_PARAMS, "latent": 64, "bottleneck": False}, "where")
    grid.check({**AE_PARAMS, "latent": 800, "bottleneck": False}, "where")
    grid.check({**AE_PARAMS, "channels": "64-96", "latent": 2400, "bottleneck": False}, "where")


# Report 001's classifiers (sec. II Clasificadores): the consigna listing's encoder with "se
# eliminaron los dos primeros y el tercero se movió luego de la operación flatten"; the
# Raschka one with "se eliminaron todos los dropout y se agregó uno luego de flatten";
# "La capa de clasificación tiene una entrada del tamaño de la capa oculta y devuelve un
# vector de orden 10". Tabla II: n = 10, dropout 0.8.
CONSIGNA_CLASSIFIER = [
    ("Conv2d", 1, 16, 3, 1, 0), ("ReLU",), ("MaxPool2d", 2),
    ("Conv2d", 16, 32, 3, 1, 0), ("ReLU",), ("MaxPool2d", 2),
    ("Flatten",), ("Dropout", 0.8), ("Linear", 32 * 5 * 5, 10), ("ReLU",),
    ("Linear", 10, 10),
]  # fmt: skip
RASCHKA_CLASSIFIER = [
    ("Conv2d", 1, 32, 3, 1, 1), ("LeakyReLU",), ("Conv2d", 32, 64, 3, 2, 1), ("LeakyReLU",),
    ("Conv2d", 64, 64, 3, 2, 1), ("LeakyReLU",), ("Conv2d", 64, 64, 3, 1, 1),
    ("Flatten",), ("Dropout", 0.8), ("Linear", 64 * 7 * 7, 10), ("Linear", 10, 10),
]  # fmt: skip


@pytest.mark.parametrize(
    "architecture, listed", [("conv", CONSIGNA_CLASSIFIER), ("conv_deep", RASCHKA_CLASSIFIER)]
)
def test_report_001s_classifiers_are_its_listings_with_the_dropouts_moved(architecture, listed):
    params = {**CLF_PARAMS, "architecture": architecture, "latent": 10, "hidden": "none",
              "dropout": 0.8, "dropout_at": "flatten"}  # fmt: skip
    assert _active(_sequence(models.build_classifier(params))) == listed


def test_report_001s_frozen_arm_keeps_its_tuned_dropout_after_the_flatten():
    """ "dejar fijos los pesos del encoder pre-entrenado y optimizar solo la capa
    clasificadora, con los hiperparámetros ajustados": the encoder's weights and batch-norm
    statistics stay fixed, the dropout of 0.8 after the flatten still drops in training."""
    params = {**CLF_PARAMS, "architecture": "conv_bn", "latent": 10, "hidden": "none",
              "dropout": 0.8, "dropout_at": "flatten"}  # fmt: skip
    clf = models.build_classifier(params)
    clf.freeze_encoder()
    clf.train()
    (flat,) = [m for m in clf.encoder.modules() if isinstance(m, models.FlattenDropout)]
    others = [m for m in clf.encoder.modules() if m is not flat and m is not clf.encoder]
    assert flat.training and flat.p == 0.8
    assert not clf.encoder.training and not any(m.training for m in others)
    assert not any(p.requires_grad for p in clf.encoder.parameters())
    torch.manual_seed(0)
    x = batch(8)
    assert not torch.equal(clf.encoder(x), clf.encoder(x))  # dropped, differently each time
    clf.eval()
    assert not flat.training and torch.equal(clf.encoder(x), clf.encoder(x))
    # report 000's frozen arm (dropout after every hidden activation): encoder all eval
    hidden = models.build_classifier({**CLF_PARAMS, "dropout": 0.5})
    hidden.freeze_encoder()
    hidden.train()
    assert not any(m.training for m in hidden.encoder.modules())
    assert hidden.head.training
