"""The hyperparameter registry: one entry per hyperparameter, and what is derived from it.

An entry says which models have the hyperparameter, its default, its JSON-schema fragment
(type, allowed values, description), whether it enters configuration ids at its default,
which architectures accept it, whether it holds layer widths or shapes the encoder, and
how it prints in labels. From the registry come :mod:`aeflow.plan.grid`'s key lists, defaults
and id rules, :mod:`aeflow.run.models`' encoder options, the labels of figures and reports,
and the hyperparameter part of ``config/schema.yaml``, a marked block that

    python -m aeflow.plan.hyperparameters config/schema.yaml

rewrites in place (``tests/test_hyperparameters.py`` fails while the file differs).
Adding a hyperparameter is one entry here, the regenerated schema, and its use.

Standard library only: the Snakefile imports it (through :mod:`aeflow.plan.grid`) on every start.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

AUTOENCODER = "autoencoder"
CLASSIFIER = "classifier"
BOTH = (AUTOENCODER, CLASSIFIER)
# The prefix of a model kind's schema definitions: ae_base, clf_overrides, ...
SCHEMA_PREFIX = {AUTOENCODER: "ae", CLASSIFIER: "clf"}

# What a hyperparameter does at its default (``Hyperparameter.at_default``). Keys added
# after ids were published are left out there, so adding them changed no existing id:
IN_ID = "in id"  # in the id, the params and the tables, whatever its value
OUT_OF_ID = "out of id"  # at its default: in the params and tables, not in the id
ABSENT = "absent"  # at its default: in neither the id, the params nor the tables
AT_DEFAULT = (IN_ID, OUT_OF_ID, ABSENT)

# Classifier initialisations, in the order figures and tables show them.
INITIALISATIONS = ("scratch", "frozen", "finetune")
FULL_BATCH = "full"  # batch_size: full, the whole training split per step
NO_HIDDEN = "none"  # hidden: none, a classifier head without hidden layers

# Layer widths (channels, hidden): 128, "128-64" or [128, 64] in the config.
WIDTHS = {
    "description": 'layer widths: 128, "128-64" or [128, 64]',
    "oneOf": [
        {"type": "integer", "minimum": 1},
        {"type": "string", "pattern": "^[1-9][0-9]*(-[1-9][0-9]*)*$"},
        {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1}},
    ],
}


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter.

    ``models``: the model kinds that have it. ``default``: its value where a config
    leaves it out (the schema's default; ``None``: absent). ``required``: the package's
    own functions (:func:`aeflow.plan.grid.base_params`) want it given; configs still get
    ``default`` from the schema. ``schema``: its JSON-schema fragment, as it appears in
    ``config/schema.yaml``'s definitions. ``at_default``: :data:`IN_ID`,
    :data:`OUT_OF_ID` or :data:`ABSENT`. ``architectures``: the only architectures that
    accept a value other than the default (None: all). ``widths``: layer widths, written
    "128-64" in ids and tables. ``encoder``: shapes the encoder, so a pretrained encoder
    fits a classifier only where these agree.
    """

    name: str
    models: tuple[str, ...]
    schema: dict
    default: object
    required: bool = False
    at_default: str = IN_ID
    architectures: tuple[str, ...] | None = None
    widths: bool = False
    encoder: bool = False

    def label(self, value) -> str:
        """How a value prints in labels of figures and reports: ``lr=0.01``."""
        return f"{self.name}={value}"


def _entries(*entries: Hyperparameter) -> dict[str, Hyperparameter]:
    out = {}
    for entry in entries:
        if entry.name in out:
            raise ValueError(f"hyperparameter {entry.name!r} registered twice")
        if entry.at_default not in AT_DEFAULT:
            raise ValueError(f"{entry.name}: at_default must be one of {AT_DEFAULT}")
        out[entry.name] = entry
    return out


H = Hyperparameter
# The registry, in the order of the schema's base blocks and of grid's key lists.
HYPERPARAMETERS = _entries(
    H("architecture", BOTH, required=True, default="conv", encoder=True, schema={
        "type": "string",
        "enum": ["conv", "conv_bn", "conv_deep", "mlp"],
        "description": "conv: report 000's consigna; conv_bn: report 004's, batch norm before "
        "pooling; conv_deep: report 001's 4-layer Raschka; mlp: feed-forward (report 001's "
        "784-latent-784 autoencoder; reports 002/003's classifier 784-latent-hidden…-10)",
    }),
    H("latent", BOTH, required=True, default=64, encoder=True, schema={
        "type": "integer", "minimum": 1,
        "description": "latent size n of the encoder output (mlp: the encoder's layer width)",
    }),
    H("channels", BOTH, default="16-32", widths=True, encoder=True, schema={
        "$ref": "#/definitions/widths",
        "description": "conv/conv_bn: channels of the two convolutions (16-32; report 004's "
        "wider 64-96)",
    }),
    H("pooling", BOTH, default="max", encoder=True, schema={
        "type": "string", "enum": ["max", "max-avg"],
        "description": "conv/conv_bn: max pooling twice, or max then average (report 004)",
    }),
    H("downsampling", BOTH, default="stride", at_default=ABSENT, encoder=True,
      architectures=("conv_deep",), schema={
        "type": "string", "enum": ["stride", "max-pool"],
        "description": "conv_deep only: how its encoder halves 28 → 14 → 7: stride-2 "
        "convolutions (report 001's Raschka network), or stride-1 convolutions each "
        "followed by 2×2 max pooling (the pooling report 001 suggests against the Raschka "
        "classifier's overfitting)",
    }),
    H("bottleneck", BOTH, default=True, at_default=ABSENT, encoder=True,
      architectures=("conv", "conv_bn"), schema={
        "type": "boolean",
        "description": "conv/conv_bn: the encoder ends with Linear(channels[1]·5·5, latent) → "
        "ReLU → Dropout (true, report 000's consigna); false: it ends at its flattened "
        "features, as report 004's \"convolución y reducción\", and latent must be "
        "channels[1]·5·5 (800 for 16-32, 2400 for 64-96)",
    }),
    H("hidden", (CLASSIFIER,), required=True, default=128, widths=True, schema={
        "description": "classifier head's hidden widths (128, or 128-64 for two layers), or "
        f"{NO_HIDDEN}: the head is Linear(latent, 10) (reports 001, 004)",
        "oneOf": [{"$ref": "#/definitions/widths"}, {"type": "string", "enum": [NO_HIDDEN]}],
    }),
    H("dropout", BOTH, required=True, default=0.2, schema={
        "type": "number", "minimum": 0, "exclusiveMaximum": 1,
        "description": "dropout probability p in [0, 1)",
    }),
    H("dropout_at", (CLASSIFIER,), default="hidden", at_default=OUT_OF_ID, schema={
        "type": "string", "enum": ["hidden", "flatten"],
        "description": "where a classifier's dropout applies: hidden, after every hidden "
        "activation of encoder and head (report 000); flatten, only right after the "
        "encoder's flatten (report 001)",
    }),
    H("optimizer", BOTH, required=True, default="adam", schema={
        "type": "string", "enum": ["adam", "sgd"], "description": "optimizer",
    }),
    H("lr", BOTH, required=True, default=0.001, schema={
        "type": "number", "exclusiveMinimum": 0, "description": "learning rate η₀ (> 0)",
    }),
    H("batch_size", BOTH, required=True, default=100, schema={
        "description": "mini-batch size (at most the training set), or "
        f'"{FULL_BATCH}" for full-batch gradient descent',
        "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": [FULL_BATCH]}],
    }),
    H("output_activation", (AUTOENCODER,), required=True, default="sigmoid", schema={
        "type": "string", "enum": ["sigmoid", "relu"],
        "description": "autoencoder output activation",
    }),
    H("decoder_batch_norm", (AUTOENCODER,), default=True, at_default=OUT_OF_ID,
      architectures=("conv_bn",), schema={
        "type": "boolean",
        "description": "conv_bn only: batch norm in the decoder too (true); report 004 has it "
        "before pooling, in the encoder only (false)",
    }),
    H("decoder", (AUTOENCODER,), default="consigna", at_default=ABSENT,
      architectures=("conv", "conv_bn"), schema={
        "type": "string", "enum": ["consigna", "tabla-2"],
        "description": "conv/conv_bn decoder: consigna, Linear to channels[1]×5×5 → ConvT 4×4 "
        "s2 (+1) → 13×13 → ConvT 3×3 s2 (+1) → 28×28 (report 001's listing); tabla-2, "
        "Linear to channels[1]×7×7 → ConvT 5×5 s2 p2 → 13×13 → ConvT 6×6 s2 p1 → 28×28 "
        "(report 004's Tabla 2)",
    }),
    H("output_dropout", (AUTOENCODER,), default=False, at_default=ABSENT,
      architectures=("conv",), schema={
        "type": "boolean",
        "description": "conv only: dropout (the autoencoder's p) after the output activation "
        "too, as the listing of the consigna network ends its decoder (report 001, fig. 3: "
        "nn.Sigmoid(), nn.Dropout(dropout_rate)); on in training only; left out: off",
    }),
    H("epochs", BOTH, required=True, default=30, schema={
        "type": "integer", "minimum": 1,
        "description": "training epochs (the most, with early stopping)",
    }),
    H("momentum", BOTH, default=0.0, schema={
        "type": "number", "minimum": 0, "maximum": 1,
        "description": "SGD momentum (Adam ignores it)",
    }),
    H("weight_decay", BOTH, default=0.0, schema={
        "type": "number", "minimum": 0,
        "description": "L2 penalty λ (report 003): λ·w added to each gradient",
    }),
    H("lr_schedule", BOTH, default="none", schema={
        "type": "string", "enum": ["none", "linear", "exponential"],
        "description": "none; linear: η = max(η_min, η₀(1 − t/T)); exponential: η = η₀·γᵗ "
        "(t: epochs done)",
    }),
    H("lr_min", BOTH, default=0.0, schema={
        "type": "number", "minimum": 0, "description": "η_min of the linear schedule",
    }),
    H("lr_epochs", BOTH, default=1, schema={
        "type": "integer", "minimum": 1,
        "description": "T of the linear schedule (epochs to reach η_min)",
    }),
    H("lr_gamma", BOTH, default=1.0, schema={
        "type": "number", "exclusiveMinimum": 0, "maximum": 1,
        "description": "γ of the exponential schedule",
    }),
    H("patience", BOTH, default=0, schema={
        "type": "integer", "minimum": 0,
        "description": "early stopping: stop after this many epochs without a lower "
        "validation loss and keep the best epoch's weights; 0: off",
    }),
    H("labels", (CLASSIFIER,), default=None, at_default=ABSENT, schema={
        "type": "integer", "minimum": 1,
        "description": "classifiers: labelled training images (stratified by class, drawn "
        "per replicate seed, nested); left out: all of them (docs/label-efficiency.md)",
    }),
    H("images", (CLASSIFIER,), default=None, at_default=ABSENT, schema={
        "description": "classifiers: a data subset of their own, train-validation-test image "
        'counts ("4000-500-500": report 003\'s 5 000 images split 80/10/10), each part drawn '
        "stratified by class, per replicate seed, from that part of the prepared split; left "
        "out: the whole split",
        "oneOf": [
            {"type": "string", "pattern": "^[1-9][0-9]*-[1-9][0-9]*-[1-9][0-9]*$"},
            {"type": "array", "minItems": 3, "maxItems": 3,
             "items": {"type": "integer", "minimum": 1}},
        ],
    }),
    H("min_steps", (CLASSIFIER,), default=0, at_default=ABSENT, schema={
        "type": "integer", "minimum": 0,
        "description": "classifiers: the fewest optimiser steps; epochs are raised to reach "
        "them (docs/label-efficiency.md); 0: off",
    }),
)  # fmt: skip
del H


def keys(model: str) -> tuple[str, ...]:
    """The hyperparameters of a model kind (``autoencoder`` or ``classifier``), in order."""
    return tuple(name for name, h in HYPERPARAMETERS.items() if model in h.models)


def complete(params: dict, kind: str) -> dict:
    """``params`` with every hyperparameter of ``kind`` (``autoencoder`` or
    ``classifier``), its default where ``params`` leave it out. A configuration's params
    leave out keys at their default (:data:`ABSENT`), so that ids and tables stay as
    published; what builds or trains a model reads the completed dict instead of filling
    defaults itself. Other keys (``initialisation``, ``autoencoder_id``) are kept."""
    if kind not in BOTH:
        raise ValueError(f"kind must be one of {', '.join(BOTH)}, got {kind!r}")
    return {**{name: HYPERPARAMETERS[name].default for name in keys(kind)}, **params}


def defaults_when(at_default: str) -> dict:
    """{name: default} of the hyperparameters with this ``at_default``."""
    return {n: h.default for n, h in HYPERPARAMETERS.items() if h.at_default == at_default}


def label(name: str, value) -> str:
    """``name=value`` as labels print it (:meth:`Hyperparameter.label`; keys outside the
    registry, such as ``initialisation``, as ``name=value``)."""
    h = HYPERPARAMETERS.get(name)
    return h.label(value) if h else f"{name}={value}"


def value_error(name: str, value) -> str | None:
    """What is wrong with an integer hyperparameter's value by its schema (a whole
    number, not a boolean, at least its minimum), or None. Other types: None."""
    schema = HYPERPARAMETERS[name].schema
    if schema.get("type") != "integer":
        return None
    least = schema.get("minimum")
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or (least is not None and value < least)
    ):
        at_least = f" of at least {least}" if least is not None else ""
        return f"{name}: expected a whole number{at_least}, got {value!r}"
    return None


# --- config/schema.yaml ------------------------------------------------------------------

BEGIN = "  # BEGIN generated by: python -m aeflow.plan.hyperparameters config/schema.yaml"
END = "  # END generated"
_WIDTH = 100  # longer mappings are written one key a line
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none", "~"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/definitions/{name}"}


def definitions() -> dict[str, dict]:
    """The schema definitions the registry makes: ``widths``, one per hyperparameter,
    ``initialisations``, and per model kind its ``base`` (with defaults), ``overrides``
    and ``sweeps`` (``ae_base``, ``clf_overrides``, ...)."""
    out = {"widths": WIDTHS}
    out.update({name: h.schema for name, h in HYPERPARAMETERS.items()})
    out["initialisations"] = {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {"type": "string", "enum": list(INITIALISATIONS)},
        "description": "scratch: random encoder; frozen: exported encoder, head trains; "
        "finetune: exported encoder as start, all train",
    }
    for model in BOTH:
        prefix, names = SCHEMA_PREFIX[model], keys(model)
        defaults = {n: HYPERPARAMETERS[n].default for n in names}
        out[f"{prefix}_base"] = {
            "type": "object",
            "description": f"a base {model} configuration; a key left out takes its default",
            "additionalProperties": False,
            "default": {},
            "properties": {
                n: {**_ref(n), **({"default": d} if d is not None else {})}
                for n, d in defaults.items()
            },
        }
        out[f"{prefix}_overrides"] = {
            "type": "object",
            "description": f"{model} hyperparameters (overrides of a base)",
            "additionalProperties": False,
            "properties": {n: _ref(n) for n in names},
        }
        out[f"{prefix}_sweeps"] = {
            "type": "object",
            "description": f"one-factor-at-a-time value lists around the {model} base",
            "additionalProperties": False,
            "properties": {n: {"type": "array", "minItems": 1, "items": _ref(n)} for n in names},
        }
    return out


def _scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        text = json.dumps(value)
        # YAML 1.1 (PyYAML) reads 1e-05 as text: its floats need a dot
        return text.replace("e", ".0e") if "e" in text and "." not in text else text
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS:
            return value
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {value!r} into the schema")


def _key(key: str) -> str:
    return key if _PLAIN_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _flow(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _yaml(key: str, value, indent: int) -> list[str]:
    """``key: value`` as YAML lines: flow style where it fits in a line, else block."""
    pad = " " * indent
    line = f"{pad}{_key(key)}: {_flow(value)}"
    if len(line) <= _WIDTH:
        return [line]
    if isinstance(value, dict):
        out = [f"{pad}{_key(key)}:"]
        for k, v in value.items():
            out += _yaml(k, v, indent + 2)
        return out
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return [f"{pad}{_key(key)}:", *(f"{pad}  - {_flow(v)}" for v in value)]
    return [line]


def schema_block() -> str:
    """The generated part of ``config/schema.yaml``'s definitions, markers included."""
    lines = [
        BEGIN,
        "  # (the hyperparameter registry, aeflow/plan/hyperparameters.py; do not edit here)",
    ]
    for name, fragment in definitions().items():
        lines += _yaml(name, fragment, 2)
    return "\n".join([*lines, END]) + "\n"


def _split(text: str, path) -> tuple[str, str, str]:
    """``text`` as (before the block, the block, after it); a ValueError naming ``path``
    where the markers are missing or out of order."""
    start, end = text.find(BEGIN + "\n"), text.find(END + "\n")
    if start < 0 or end < start:
        raise ValueError(
            f"{path}: no generated block (a line {BEGIN.strip()!r} under 'definitions:' "
            f"and a line {END.strip()!r} after it)"
        )
    end += len(END) + 1
    return text[:start], text[start:end], text[end:]


def file_block(path) -> str:
    """The generated block as it stands in the schema file at ``path``."""
    return _split(Path(path).read_text(), path)[1]


def write_schema(path) -> bool:
    """Rewrite the generated block of the schema file at ``path``; whether it changed."""
    text = Path(path).read_text()
    before, block, after = _split(text, path)
    new = schema_block()
    if block == new:
        return False
    Path(path).write_text(before + new + after)
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m aeflow.plan.hyperparameters config/schema.yaml", file=sys.stderr)
        return 2
    try:
        changed = write_schema(argv[0])
    except (OSError, ValueError) as err:
        print(err, file=sys.stderr)
        return 1
    print(f"{argv[0]}: {'rewritten' if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
