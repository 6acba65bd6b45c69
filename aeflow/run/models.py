"""The networks, a registry chosen by name (``architecture`` in the config).

- ``conv``: report 000's convolutional autoencoder ("consigna"), channels and pooling
  configurable;
- ``conv_bn``: report 004's improved one (batch norm before pooling; with
  ``pooling: max-avg`` and ``channels: 64-96`` its final step);
- ``conv_deep``: report 001's deeper "Raschka" autoencoder (4 convolutions, LeakyReLU, Trim);
- ``mlp``: report 001's feed-forward autoencoder 784-``latent``-784, and as a classifier
  reports 002/003's feed-forward network 784-``latent``-``hidden…``-10.

Every classifier is an encoder of one of these plus a head of ``hidden`` widths, so any
autoencoder's encoder can start a classifier (``frozen`` or ``finetune``). Each class
takes its hyperparameters as constructor arguments. Exported encoders
are plain dicts (state dict + metadata) that load with ``weights_only=True``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from aeflow.plan import grid, hyperparameters
from aeflow.plan.hyperparameters import HYPERPARAMETERS
from aeflow.run.memory import (  # noqa: F401 (moved to aeflow.run.memory; for existing callers)
    preferred_memory_format,
    set_memory_format,
)

INPUT_SHAPE = (1, 28, 28)
INPUT_SCALE = 1 / 255  # uint8 pixels → [0, 1]
ENCODER_FORMAT = 1
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}
# The constructors' defaults are the registry's (aeflow.plan.hyperparameters), except where an
# architecture has its own: conv_bn's and conv_deep's dropout 0 and conv_bn's 64-96
# channels with max-avg pooling (report 004's and 001's networks), mlp's latent 512
# (report 001's 784-512-784 autoencoder).
DEFAULT = {name: h.default for name, h in HYPERPARAMETERS.items()}


class ModelError(ValueError):
    """A model that cannot be built or a checkpoint that does not fit; names the problem."""


# --- dropout -------------------------------------------------------------------------------

MASK_BITS = 16  # random bits per element of a CPU dropout mask
_MASK_LEVELS = 1 << MASK_BITS


def dropout_threshold(p: float) -> int:
    """The int16 threshold of :func:`dropout_mask`: an element is kept when its 16 random
    bits, read as a signed int16, are ``>=`` it. ``round(p · 2^16)`` of the 2^16 values are
    below it, so an element is dropped with probability ``effective_dropout(p)``."""
    return -(_MASK_LEVELS // 2) + round(p * _MASK_LEVELS)


def effective_dropout(p: float) -> float:
    """The drop probability the CPU mask really has: ``p`` rounded to a multiple of
    2^-16 (|error| ≤ 2^-17 ≈ 7.6e-6; exact for p = 0, 0.25, 0.5, …)."""
    return round(p * _MASK_LEVELS) / _MASK_LEVELS


def dropout_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """A float mask shaped (and laid out) like ``x``: 0 with probability ≈ ``p``, else
    ``1 / (1 - p)``; elements independent. CPU only (see :class:`Dropout`).

    The random bits come from one ``random_`` call that fills 64-bit words over the
    full range, i.e. four 16-bit draws per generator call, read as int16, converted to
    float in the mask's buffer and compared with a threshold in place. ``bernoulli_``
    draws (and converts) one random number per element, which on the CPU dominated a
    training step (the timings: ``docs/performance.md``). Uses the default CPU
    generator, so ``torch.manual_seed`` and ``torch.get/set_rng_state`` make it
    reproducible.
    """
    # int16 values are exact in float32/64, not in half types: compare in float32 there
    exact = x.dtype in (torch.float32, torch.float64)
    mask = torch.empty_like(x, dtype=x.dtype if exact else torch.float32)
    n = x.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device)
    words.random_(-(1 << 63), None)  # all 64 bits uniformly random
    mask.copy_(words.view(torch.int16)[:n].as_strided(mask.shape, mask.stride()))
    mask.ge_(dropout_threshold(p)).mul_(1.0 / (1.0 - p))
    return mask if exact else mask.to(x.dtype)


class Dropout(nn.Module):
    """``nn.Dropout`` with the same semantics and a faster mask on the CPU.

    Training: each element is zeroed independently with probability ``p`` and the
    survivors are scaled by ``1 / (1 - p)``; evaluation (or ``p == 0``): identity. On
    the CPU the mask is :func:`dropout_mask` (``p`` quantised to 2^-16, see
    :func:`effective_dropout`); elsewhere (CUDA) it is ``F.dropout``, whose fused kernel
    is already fast. No parameters or buffers: state dicts are those of ``nn.Dropout``.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        if x.device.type != "cpu":
            return F.dropout(x, self.p, True)
        return x * dropout_mask(x, self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# Where a classifier applies its dropout (``dropout_at``): ``hidden`` after every hidden
# activation of encoder and head (report 000's network); ``flatten`` only once, right after
# the encoder's flatten (report 001's classifiers: "el tercero se movió luego de la
# operación flatten"), every other dropout removed. The first is the default.
DROPOUT_PLACES = ("hidden", "flatten")


def dropout_at_places(dropout: float, dropout_at: str) -> tuple[float, float]:
    """``(p after each hidden activation, p after the flatten)`` for a placement."""
    if dropout_at not in DROPOUT_PLACES:
        raise ModelError(f"dropout_at {dropout_at!r} unknown; allowed: {', '.join(DROPOUT_PLACES)}")
    return (dropout, 0.0) if dropout_at == "hidden" else (0.0, dropout)


class FlattenDropout(Dropout):
    """The dropout right after the encoder's flatten (``dropout_at: flatten``, report 001's
    classifiers). It belongs to the trained side: a frozen encoder is held in eval mode,
    but this dropout stays in the classifier's mode (:meth:`Classifier.train`), as it did
    in report 001's frozen attempt "con los hiperparámetros ajustados"."""


def _flatten(p: float) -> nn.Module:
    """``nn.Flatten``, followed by a :class:`FlattenDropout` when ``p`` > 0. One slot of a
    Sequential either way, so the parameters' names, and state dicts, do not depend on it."""
    return nn.Sequential(nn.Flatten(), FlattenDropout(p)) if p > 0 else nn.Flatten()


def widths(value, allow_none: bool = False) -> tuple[int, ...]:
    """Layer widths from the config: ``128``, ``"128-64"`` or ``[128, 64]`` → ``(128, 64)``;
    with ``allow_none`` (a classifier head), ``"none"`` → ``()``. Parsed by
    :func:`aeflow.plan.grid.layer_widths`, the one parser."""
    try:
        return grid.layer_widths("hidden" if allow_none else "channels", value)
    except grid.GridError as err:
        raise ModelError(f"layer widths must be positive integers: {err}") from err


POOLINGS = {"max": (nn.MaxPool2d, nn.MaxPool2d), "max-avg": (nn.MaxPool2d, nn.AvgPool2d)}


# conv/conv_bn: 28 → conv3 26 → pool 13 → conv3 11 → pool 5, the features' side
SIDE = grid.CONV_FEATURE_SIDE


class ConvEncoder(nn.Module):
    """(1, 28, 28) → 2 × [Conv3 → (BatchNorm) → ReLU → Dropout → Pool2] → Flatten →
    Linear → ReLU → Dropout → (latent,).

    Report 000's "consigna" encoder with ``channels=(16, 32)``, ``pooling="max"`` and no batch
    norm; report 004's improvements are ``batch_norm`` (before pooling), ``pooling="max-avg"``
    (max pooling, then average pooling) and wider ``channels`` such as ``(64, 96)``. Without
    the ``bottleneck`` (report 004's "convolución y reducción") it ends at the flattened
    c2 × 5 × 5 features, and ``latent`` must be their number.
    """

    def __init__(
        self,
        latent=DEFAULT["latent"],
        dropout=DEFAULT["dropout"],
        channels=DEFAULT["channels"],
        pooling=DEFAULT["pooling"],
        batch_norm=False,
        dropout_at=DEFAULT["dropout_at"],
        bottleneck=DEFAULT["bottleneck"],
        **_,  # options of other architectures (downsampling: conv_deep's)
    ):
        super().__init__()
        c1, c2 = _two(channels)
        dropout, at_flatten = dropout_at_places(dropout, dropout_at)
        first, second = _pooling(pooling)
        if not bottleneck and latent != c2 * SIDE * SIDE:
            raise ModelError(
                f"latent {latent} without the bottleneck: the encoder's output is its "
                f"{c2} × {SIDE} × {SIDE} = {c2 * SIDE * SIDE} features"
            )
        self.latent = latent
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, kernel_size=3),  # c1 × 26 × 26
            *([nn.BatchNorm2d(c1)] if batch_norm else []),
            nn.ReLU(),
            Dropout(dropout),
            first(2),  # c1 × 13 × 13
            nn.Conv2d(c1, c2, kernel_size=3),  # c2 × 11 × 11
            *([nn.BatchNorm2d(c2)] if batch_norm else []),
            nn.ReLU(),
            Dropout(dropout),
            second(2),  # c2 × 5 × 5
            _flatten(at_flatten),
            *([nn.Linear(c2 * SIDE * SIDE, latent), nn.ReLU(), Dropout(dropout)]
              if bottleneck else []),
        )  # fmt: skip

    def forward(self, x):
        return self.features(x)


# The conv decoders' layouts (``decoder``): the side of the Linear layer's c2 × side × side
# output, then (kernel, stride, padding, output_padding) of the two transposed convolutions.
# consigna: report 001's listing, 5 → (5−1)·2+4+1 = 13 → (13−1)·2+3+1 = 28; tabla-2:
# report 004's Tabla 2, 7 → (7−1)·2−4+5 = 13 → (13−1)·2−2+6 = 28.
DECODER_LAYOUTS = {
    "consigna": (SIDE, (4, 2, 0, 1), (3, 2, 0, 1)),
    "tabla-2": (7, (5, 2, 2, 0), (6, 2, 1, 0)),
}


class ConvDecoder(nn.Module):
    """(latent,) → Linear → ReLU → Dropout → c2 × side × side → ConvTranspose → ReLU →
    Dropout → ConvTranspose → (1, 28, 28), Sigmoid or ReLU output, and with
    ``output_dropout`` a Dropout after it, as the consigna listing ends (report 001, fig. 3:
    ``nn.Sigmoid(), nn.Dropout(dropout_rate)``). ``layout``: :data:`DECODER_LAYOUTS`."""

    def __init__(
        self,
        latent=DEFAULT["latent"],
        dropout=DEFAULT["dropout"],
        output_activation=DEFAULT["output_activation"],
        channels=DEFAULT["channels"],
        batch_norm=False,
        output_dropout=DEFAULT["output_dropout"],
        layout=DEFAULT["decoder"],
    ):
        super().__init__()
        c1, c2 = _two(channels)
        if layout not in DECODER_LAYOUTS:
            raise ModelError(f"decoder {layout!r} unknown; allowed: {', '.join(DECODER_LAYOUTS)}")
        side, (k1, s1, p1, o1), (k2, s2, p2, o2) = DECODER_LAYOUTS[layout]
        self.layers = nn.Sequential(
            nn.Linear(latent, c2 * side * side),
            nn.ReLU(),
            Dropout(dropout),
            nn.Unflatten(1, (c2, side, side)),
            nn.ConvTranspose2d(c2, c1, k1, stride=s1, padding=p1, output_padding=o1),  # 13 × 13
            *([nn.BatchNorm2d(c1)] if batch_norm else []),
            nn.ReLU(),
            Dropout(dropout),
            nn.ConvTranspose2d(c1, 1, k2, stride=s2, padding=p2, output_padding=o2),  # 28 × 28
            ACTIVATIONS[output_activation](),
            # the listing's last layer (report 001, fig. 3): training-time noise on the output
            *([Dropout(dropout)] if output_dropout else []),
        )

    def forward(self, z):
        return self.layers(z)


class ConvBNEncoder(ConvEncoder):
    """Report 004's improved encoder: :class:`ConvEncoder` with batch norm before pooling."""

    def __init__(
        self,
        latent=DEFAULT["latent"],
        dropout=0.0,
        channels=(64, 96),
        pooling="max-avg",
        dropout_at=DEFAULT["dropout_at"],
        bottleneck=DEFAULT["bottleneck"],
        **_,
    ):
        super().__init__(latent, dropout, channels, pooling, batch_norm=True,
                         dropout_at=dropout_at, bottleneck=bottleneck)  # fmt: skip


class ConvBNDecoder(ConvDecoder):
    """:class:`ConvDecoder` with batch norm after its first transposed convolution, unless
    ``batch_norm=False``: report 004 adds batch norm "antes de las capas de pooling", which
    only its encoder has (``decoder_batch_norm: false`` in the config)."""

    def __init__(
        self,
        latent=DEFAULT["latent"],
        dropout=0.0,
        output_activation=DEFAULT["output_activation"],
        channels=(64, 96),
        batch_norm=DEFAULT["decoder_batch_norm"],
        layout=DEFAULT["decoder"],
        **_,
    ):
        super().__init__(latent, dropout, output_activation, channels, batch_norm=batch_norm,
                         layout=layout)  # fmt: skip


class Trim(nn.Module):
    """Crop the last two dimensions to 28 × 28 (report 001's decoder makes 29 × 29)."""

    def forward(self, x):
        return x[..., :28, :28]


def _leaky():
    return nn.LeakyReLU(0.01)


class DeepConvEncoder(nn.Module):
    """Report 001's "Raschka" encoder: 4 × Conv3 (32, 64, 64, 64 channels; strides 1, 2, 2, 1;
    padding 1) with LeakyReLU(0.01) between them → Flatten (64 × 7 × 7) → Linear → (latent,).

    ``downsampling="max-pool"``: the two stride-2 convolutions become stride-1 ones, each
    followed by 2×2 max pooling (the pooling report 001 suggests against its Raschka
    classifier's overfitting); the shapes, and so the decoder, stay the same."""

    def __init__(
        self,
        latent=DEFAULT["latent"],
        dropout=0.0,
        dropout_at=DEFAULT["dropout_at"],
        downsampling=DEFAULT["downsampling"],
        **_,
    ):
        super().__init__()
        if downsampling not in ("stride", "max-pool"):
            raise ModelError(f"downsampling must be stride or max-pool, got {downsampling!r}")
        self.latent = latent
        dropout, at_flatten = dropout_at_places(dropout, dropout_at)
        pooled = downsampling == "max-pool"
        layers = []
        for c_in, c_out, stride in ((1, 32, 1), (32, 64, 2), (64, 64, 2)):
            layers += [
                nn.Conv2d(c_in, c_out, 3, stride=1 if pooled else stride, padding=1),
                *([nn.MaxPool2d(2)] if pooled and stride == 2 else []),
                _leaky(),
                Dropout(dropout),
            ]
        self.features = nn.Sequential(
            *layers,  # 32 × 28 × 28 → 64 × 14 × 14 → 64 × 7 × 7
            nn.Conv2d(64, 64, 3, stride=1, padding=1),  # 64 × 7 × 7
            _flatten(at_flatten),
            nn.Linear(64 * 7 * 7, latent),
        )

    def forward(self, x):
        return self.features(x)


class DeepConvDecoder(nn.Module):
    """Mirror of :class:`DeepConvEncoder`: Linear → 64 × 7 × 7 → 4 × ConvTranspose3 (64, 64,
    32, 1 channels; strides 1, 2, 2, 1) → 29 × 29 → :class:`Trim` to 28 × 28 → activation."""

    def __init__(
        self,
        latent=DEFAULT["latent"],
        dropout=0.0,
        output_activation=DEFAULT["output_activation"],
        **_,
    ):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(latent, 64 * 7 * 7),
            nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 64, 3, stride=1, padding=1),  # 64 × 7 × 7
            _leaky(),
            Dropout(dropout),
            nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1),  # 64 × 13 × 13
            _leaky(),
            Dropout(dropout),
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=0),  # 32 × 27 × 27
            _leaky(),
            Dropout(dropout),
            nn.ConvTranspose2d(32, 1, 3, stride=1, padding=0),  # 1 × 29 × 29
            Trim(),  # 1 × 28 × 28
            ACTIVATIONS[output_activation](),
        )

    def forward(self, z):
        return self.layers(z)


class MLPEncoder(nn.Module):
    """Report 001's feed-forward encoder: Flatten (784) → Linear → ReLU → Dropout → (latent,)."""

    def __init__(self, latent=512, dropout=0.0, dropout_at=DEFAULT["dropout_at"], **_):
        super().__init__()
        self.latent = latent
        dropout, at_flatten = dropout_at_places(dropout, dropout_at)
        self.features = nn.Sequential(
            _flatten(at_flatten), nn.Linear(28 * 28, latent), nn.ReLU(), Dropout(dropout)
        )

    def forward(self, x):
        return self.features(x)


class MLPDecoder(nn.Module):
    """(latent,) → Linear → 784 → activation → (1, 28, 28)."""

    def __init__(
        self, latent=512, dropout=0.0, output_activation=DEFAULT["output_activation"], **_
    ):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(latent, 28 * 28),
            ACTIVATIONS[output_activation](),
            nn.Unflatten(1, INPUT_SHAPE),
        )

    def forward(self, z):
        return self.layers(z)


# The registry: architecture name → (encoder class, decoder class). Every encoder takes
# ``(latent, dropout, channels=..., pooling=...)``; the ones without those options ignore them.
ARCHITECTURES = {
    "conv": (ConvEncoder, ConvDecoder),
    "conv_bn": (ConvBNEncoder, ConvBNDecoder),
    "conv_deep": (DeepConvEncoder, DeepConvDecoder),
    "mlp": (MLPEncoder, MLPDecoder),
}
ENCODERS = {name: pair[0] for name, pair in ARCHITECTURES.items()}
DECODERS = {name: pair[1] for name, pair in ARCHITECTURES.items()}
# Hyperparameters that shape an encoder besides its architecture and latent size (the
# registry's encoder keys): a pretrained encoder fits a classifier only when these agree.
ENCODER_OPTIONS = tuple(k for k in grid.ENCODER_KEYS if k not in ("architecture", "latent"))


def _two(channels):
    out = widths(channels)
    if len(out) != 2:
        raise ModelError(f"channels must be two widths like 16-32, got {channels!r}")
    return out


def _pooling(name):
    if name not in POOLINGS:
        raise ModelError(f"pooling {name!r} unknown; allowed: {', '.join(POOLINGS)}")
    return POOLINGS[name]


def encoder_options(params: dict) -> dict:
    """The encoder-shaping options of a configuration, or of an export's options
    (defaults where absent; both model kinds have every encoder key)."""
    full = hyperparameters.complete(params, hyperparameters.AUTOENCODER)
    return {k: full[k] for k in ENCODER_OPTIONS}


def build_encoder(
    architecture, latent, dropout, options=None, dropout_at=DEFAULT["dropout_at"]
) -> nn.Module:
    _check(architecture=architecture, latent=latent)
    options = encoder_options(options or {})
    return ENCODERS[architecture](latent, dropout, dropout_at=dropout_at, **options)


class Autoencoder(nn.Module):
    def __init__(
        self,
        architecture=DEFAULT["architecture"],
        latent=DEFAULT["latent"],
        dropout=DEFAULT["dropout"],
        output_activation=DEFAULT["output_activation"],
        channels=DEFAULT["channels"],
        pooling=DEFAULT["pooling"],
        decoder_batch_norm=DEFAULT["decoder_batch_norm"],
        downsampling=DEFAULT["downsampling"],
        output_dropout=DEFAULT["output_dropout"],
        decoder=DEFAULT["decoder"],
        bottleneck=DEFAULT["bottleneck"],
    ):
        super().__init__()
        _check(architecture=architecture, output_activation=output_activation, latent=latent)
        options = {"channels": channels, "pooling": pooling, "downsampling": downsampling,
                   "bottleneck": bottleneck}  # fmt: skip
        self.encoder = build_encoder(architecture, latent, dropout, options)
        extra = {} if decoder_batch_norm else {"batch_norm": False}  # conv_bn's decoder only
        if output_dropout:  # conv's decoder only
            extra["output_dropout"] = True
        if decoder != DEFAULT["decoder"]:  # conv's and conv_bn's decoders only
            extra["layout"] = decoder
        self.decoder = DECODERS[architecture](
            latent, dropout, output_activation, channels=channels, **extra
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))


class Classifier(nn.Module):
    """Encoder → [Linear → ReLU → Dropout] per hidden width → Linear(…, classes).

    ``hidden``: one width (``128``), several (``"128-64"``, ``[128, 64]``) or ``"none"``
    (the head is Linear(latent, classes), reports 001 and 004). Reports 002 and 003's
    feed-forward classifier 784-128-64-10 is ``architecture="mlp"``, ``latent=128`` (the
    encoder's layer), ``hidden=64``. ``dropout_at`` (:data:`DROPOUT_PLACES`): ``hidden``
    puts dropout after every hidden activation of encoder and head, ``flatten`` only
    after the encoder's flatten (report 001).
    """

    def __init__(
        self,
        architecture=DEFAULT["architecture"],
        latent=DEFAULT["latent"],
        hidden=DEFAULT["hidden"],
        dropout=DEFAULT["dropout"],
        classes=10,
        channels=DEFAULT["channels"],
        pooling=DEFAULT["pooling"],
        dropout_at=DEFAULT["dropout_at"],
        downsampling=DEFAULT["downsampling"],
        bottleneck=DEFAULT["bottleneck"],
    ):
        super().__init__()
        _check(architecture=architecture, latent=latent)
        options = {"channels": channels, "pooling": pooling, "downsampling": downsampling,
                   "bottleneck": bottleneck}  # fmt: skip
        self.encoder = build_encoder(architecture, latent, dropout, options, dropout_at)
        in_head = dropout_at_places(dropout, dropout_at)[0]
        layers, width = [], latent
        for h in widths(hidden, allow_none=True):
            after = [Dropout(in_head)] if dropout_at == "hidden" else []
            layers += [nn.Linear(width, h), nn.ReLU(), *after]
            width = h
        self.head = nn.Sequential(*layers, nn.Linear(width, classes))

        self.frozen_encoder = False

    def freeze_encoder(self) -> None:
        """Train the head only: the encoder stays in eval mode (no dropout, batch-norm
        statistics fixed), no gradients; except a :class:`FlattenDropout`, the classifier's
        own (report 001), which follows the classifier's mode."""
        self.frozen_encoder = True
        self.encoder.requires_grad_(False)
        self.train(self.training)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen_encoder:
            self.encoder.eval()
            for m in self.encoder.modules():
                if isinstance(m, FlattenDropout):
                    m.train(mode)
        return self

    def forward(self, x):
        return self.head(self.encoder(x))


def _check(architecture=None, output_activation=None, latent=None):
    if architecture is not None and architecture not in ENCODERS:
        raise ModelError(f"architecture {architecture!r} unknown; allowed: {', '.join(ENCODERS)}")
    if output_activation is not None and output_activation not in ACTIVATIONS:
        raise ModelError(
            f"output_activation {output_activation!r} unknown; allowed: {', '.join(ACTIVATIONS)}"
        )
    if latent is not None and (not isinstance(latent, int) or latent < 1):
        raise ModelError(f"latent must be a positive integer, got {latent!r}")


def build_autoencoder(params: dict) -> Autoencoder:
    """The autoencoder of a configuration's params (defaults where absent)."""
    p = hyperparameters.complete(params, hyperparameters.AUTOENCODER)
    return Autoencoder(
        p["architecture"],
        p["latent"],
        p["dropout"],
        p["output_activation"],
        decoder_batch_norm=p["decoder_batch_norm"],
        output_dropout=p["output_dropout"],
        decoder=p["decoder"],
        **encoder_options(p),
    )


def build_classifier(params: dict, classes: int = 10) -> Classifier:
    """The classifier of a configuration's params (defaults where absent)."""
    p = hyperparameters.complete(params, hyperparameters.CLASSIFIER)
    return Classifier(
        p["architecture"],
        p["latent"],
        p["hidden"],
        p["dropout"],
        classes,
        dropout_at=p["dropout_at"],
        **encoder_options(p),
    )


def encoder_export(autoencoder: Autoencoder, params: dict, autoencoder_id: str) -> dict:
    """The frozen encoder as plain data: weights and what is needed to rebuild it."""
    return {
        "format": ENCODER_FORMAT,
        "architecture": params["architecture"],
        "latent": int(params["latent"]),
        "options": encoder_options(params),
        "input_shape": list(INPUT_SHAPE),
        "input_scale": INPUT_SCALE,
        "autoencoder_id": autoencoder_id,
        "state_dict": {k: v.detach().cpu() for k, v in autoencoder.encoder.state_dict().items()},
    }


def load_checkpoint(path: str | Path) -> dict:
    """``torch.load(path, weights_only=True)`` with a clear error for a bad file."""
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - any unpickling failure is a bad file
        raise ModelError(
            f"{path}: not a loadable aeflow checkpoint ({type(err).__name__}: {err})"
        ) from err


def load_encoder_state(
    encoder: nn.Module,
    export: dict,
    architecture: str,
    latent: int,
    source="encoder",
    options: dict | None = None,
) -> None:
    """Load exported encoder weights into ``encoder`` after checking they fit: the same
    architecture, latent size and (when given) encoder options (channels, pooling)."""
    if export.get("format") != ENCODER_FORMAT:
        raise ModelError(
            f"{source}: not an aeflow encoder export (format {export.get('format')!r})"
        )
    if export["architecture"] != architecture or export["latent"] != latent:
        raise ModelError(
            f"{source}: encoder is {export['architecture']!r} with latent {export['latent']}, "
            f"expected {architecture!r} with latent {latent}"
        )
    saved = encoder_options(export.get("options", {}))
    if options is not None and saved != encoder_options(options):
        raise ModelError(
            f"{source}: encoder has options {saved}, expected {encoder_options(options)}"
        )
    try:
        encoder.load_state_dict(export["state_dict"])
    except RuntimeError as err:
        raise ModelError(
            f"{source}: weights do not fit the {architecture} encoder ({err})"
        ) from err


def load_encoder(path: str | Path, dropout: float = 0.0) -> nn.Module:
    """An exported encoder as an ``nn.Module``: eval mode, ``requires_grad`` off."""
    export = load_checkpoint(path)
    if not isinstance(export, dict) or "architecture" not in export:
        raise ModelError(f"{path}: not an aeflow encoder export")
    if export["architecture"] not in ENCODERS:
        raise ModelError(f"{path}: unknown architecture {export['architecture']!r}")
    options = export.get("options", {})
    encoder = build_encoder(export["architecture"], export["latent"], dropout, options)
    load_encoder_state(encoder, export, export["architecture"], export["latent"], str(path))
    encoder.eval()
    encoder.requires_grad_(False)
    return encoder


def load_trained(path: str | Path, params: dict | None = None, classes: int = 10):
    """Rebuild a trained model from its file; returns ``(model, file_dict)``.

    ``params``, when given, must equal the hyperparameters stored in the file.
    """
    saved = load_checkpoint(path)
    if not isinstance(saved, dict) or saved.get("kind") not in ("autoencoder", "classifier"):
        raise ModelError(f"{path}: not an aeflow model file")
    if params is not None and saved["params"] != params:
        raise ModelError(f"{path}: holds a model with {saved['params']}, expected {params}")
    if saved["kind"] == "autoencoder":
        model = build_autoencoder(saved["params"])
    else:
        model = build_classifier(saved["params"], classes)
    try:
        model.load_state_dict(saved["state_dict"])
    except RuntimeError as err:
        raise ModelError(f"{path}: weights do not fit {saved['params']} ({err})") from err
    return model.eval(), saved
