"""From the config to the list of configurations to train, each with a stable id.

A configuration is a flat dict of hyperparameters. Its identifier is derived from
the canonical JSON of that dict (sorted keys), so the same hyperparameters always
give the same id, whatever order the config lists them in, and changing one value
of one configuration changes that configuration's id only.
"""

from __future__ import annotations

import hashlib
import json

# Training options every configuration has; the defaults leave them off.
TRAINING_KEYS = (
    "momentum",
    "weight_decay",
    "lr_schedule",
    "lr_min",
    "lr_epochs",
    "lr_gamma",
    "patience",
)
AUTOENCODER_KEYS = (
    "architecture",
    "latent",
    "channels",
    "pooling",
    "dropout",
    "optimizer",
    "lr",
    "batch_size",
    "output_activation",
    "decoder_batch_norm",
    "epochs",
    *TRAINING_KEYS,
)
CLASSIFIER_KEYS = (
    "architecture",
    "latent",
    "channels",
    "pooling",
    "hidden",
    "dropout",
    "dropout_at",
    "optimizer",
    "lr",
    "batch_size",
    "epochs",
    *TRAINING_KEYS,
    "labels",
    "min_steps",
)
# Values of keys a config may leave out (config/schema.yaml has the same defaults).
DEFAULTS = {
    "channels": "16-32",
    "pooling": "max",
    "momentum": 0.0,
    "weight_decay": 0.0,
    "lr_schedule": "none",
    "lr_min": 0.0,
    "lr_epochs": 1,
    "lr_gamma": 1.0,
    "patience": 0,
    "dropout_at": "hidden",
    "decoder_batch_norm": True,
    "labels": None,
    "min_steps": 0,
}
# Keys added after ids were published: at their default they stay out of the id (and only
# there), so that adding them changed no existing configuration's id.
ID_SILENT_DEFAULTS = {k: DEFAULTS[k] for k in ("dropout_at", "decoder_batch_norm")}
# Keys that only some architectures have: any other given them is an error.
ARCHITECTURE_ONLY = {"decoder_batch_norm": ("conv_bn",)}
# ``hidden: none``: a classifier head without hidden layers, Linear(latent, 10).
NO_HIDDEN = "none"
# Keys that enter a configuration (its id, its params, its table columns) only when set
# away from this value: adding them changed no existing configuration's id.
# ``labels``: labelled training images of a classifier (None: all of them, see
# :func:`aeflow.data.labelled_order`); ``min_steps``: the fewest optimiser steps a
# classifier trains for (:func:`aeflow.training.planned_epochs`).
ABSENT_AT_DEFAULT = {k: DEFAULTS[k] for k in ("labels", "min_steps")}
# Keys that shape an encoder: a pretrained encoder fits a classifier when these agree.
ENCODER_KEYS = ("architecture", "latent", "channels", "pooling")
# Layer widths: 128, "128-64" or [128, 64] in the config, "128-64" in ids and tables.
WIDTH_KEYS = ("channels", "hidden")
FULL_BATCH = "full"
INITIALISATIONS = ("scratch", "frozen", "finetune")


class GridError(ValueError):
    """A configuration grid that cannot be expanded; the message names the key."""


def layer_widths(key: str, value) -> tuple[int, ...]:
    """The one parser of layer widths: 128 → (128,); [128, 64] or "128-64" → (128, 64);
    ``hidden: none`` → () (a head without hidden layers); anything else is a GridError."""
    if key == "hidden" and value == NO_HIDDEN:
        return ()
    if isinstance(value, bool):
        parts = None
    elif isinstance(value, int):
        parts = [value]
    elif isinstance(value, str):
        parts = [int(v) if v.isdigit() else None for v in value.split("-")]
    elif isinstance(value, (list, tuple)):
        parts = [v if isinstance(v, int) and not isinstance(v, bool) else None for v in value]
    else:
        parts = None
    if not parts or any(v is None or v < 1 for v in parts):
        raise GridError(
            f"{key}: expected layer widths like 128, 128-64 or [128, 64]"
            f"{' (or none)' if key == 'hidden' else ''}, got {value!r}"
        )
    return tuple(parts)


def widths_text(key: str, value) -> str:
    """Layer widths as in ids and tables: "128", "128-64", or "none" for no hidden layer."""
    return "-".join(str(v) for v in layer_widths(key, value)) or NO_HIDDEN


def canonical(params: dict, train_size: int | None = None) -> dict:
    """Sorted keys; whole floats used for int keys become ints; other numbers floats;
    layer widths as "128-64" text; ``batch_size: full`` as ``train_size`` (full batch)."""
    out = {}
    for key in sorted(params):
        value = params[key]
        if key in ABSENT_AT_DEFAULT and value == ABSENT_AT_DEFAULT[key]:
            continue
        if key in ABSENT_AT_DEFAULT and (
            isinstance(value, bool) or not isinstance(value, int) or value < (key == "labels")
        ):
            least = "1 (labelled images)" if key == "labels" else "0 (optimiser steps)"
            raise GridError(f"{key}: expected a whole number of at least {least}, got {value!r}")
        if key in WIDTH_KEYS:
            out[key] = widths_text(key, value)
        elif key == "batch_size" and value == FULL_BATCH:
            if train_size is None:
                raise GridError("batch_size: full needs the training-set size")
            out[key] = int(train_size)
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            out[key] = value
        elif isinstance(value, int):
            out[key] = int(value)
        elif isinstance(value, float):
            out[key] = float(value)
        else:
            raise GridError(f"{key}: expected a number or a string, got {value!r}")
    return out


def config_id(prefix: str, params: dict) -> str:
    """Stable identifier: ``<prefix>-<10 hex digits of sha1(canonical json)>``."""
    shown = {k: v for k, v in canonical(params).items() if ID_SILENT_DEFAULTS.get(k, object()) != v}
    text = json.dumps(shown, sort_keys=True, separators=(",", ":"))
    return f"{prefix}-{hashlib.sha1(text.encode()).hexdigest()[:10]}"


def expand(
    base: dict, sweeps: dict, configurations: list, where: str, train_size: int | None = None
) -> list[dict]:
    """One-factor-at-a-time sweeps around ``base`` plus explicit configurations.

    Returns unique configurations in a stable order: the base, then each sweep's
    values, then the explicit ones. A sweep value equal to the base's is the base
    itself (merged); an explicit configuration that repeats one already in the grid
    is an error, as is an empty sweep or a sweep of an unknown key.
    """
    grid = [canonical(base, train_size)]
    seen = {json.dumps(grid[0], sort_keys=True)}
    for key, values in (sweeps or {}).items():
        if key not in base:
            raise GridError(
                f"{where}.sweeps.{key}: unknown hyperparameter; allowed: {', '.join(sorted(base))}"
            )
        if not values:
            raise GridError(f"{where}.sweeps.{key}: empty sweep (give at least one value)")
        for value in values:
            params = canonical({**base, key: value}, train_size)
            text = json.dumps(params, sort_keys=True)
            if text not in seen:
                seen.add(text)
                grid.append(params)
    for i, overrides in enumerate(configurations or []):
        unknown = set(overrides) - set(base)
        if unknown:
            raise GridError(
                f"{where}.configurations[{i}]: unknown hyperparameter(s) "
                f"{', '.join(sorted(unknown))}; allowed: {', '.join(sorted(base))}"
            )
        params = canonical({**base, **overrides}, train_size)
        text = json.dumps(params, sort_keys=True)
        if text in seen:
            raise GridError(
                f"{where}.configurations[{i}]: expands to a configuration already in "
                f"the grid ({config_id('x', params)[2:]}); remove the duplicate"
            )
        seen.add(text)
        grid.append(params)
    return grid


def base_params(base: dict, keys: tuple[str, ...], where: str = "base") -> dict:
    """The base configuration's ``keys``, with :data:`DEFAULTS` for those left out."""
    missing = [k for k in keys if k not in base and k not in DEFAULTS]
    if missing:
        raise GridError(f"{where}: missing {', '.join(missing)}")
    return {k: base.get(k, DEFAULTS.get(k)) for k in keys}


def autoencoder_grid(
    cfg: dict, where: str = "autoencoder", train_size: int | None = None
) -> dict[str, dict]:
    """``config['autoencoder']`` → {id: hyperparameters}."""
    base = base_params(cfg["base"], AUTOENCODER_KEYS, f"{where}.base")
    grid = expand(base, cfg.get("sweeps"), cfg.get("configurations"), where, train_size)
    for params in grid:
        for key, archs in ARCHITECTURE_ONLY.items():
            if params[key] != DEFAULTS[key] and params["architecture"] not in archs:
                raise GridError(
                    f"{where}: {key}: {params[key]!r} applies to architecture "
                    f"{', '.join(archs)} only, not {params['architecture']!r}"
                )
    return {config_id(p["architecture"], p): p for p in grid}


def classifier_grid(
    cfg: dict,
    ae_base: dict,
    autoencoders: dict[str, dict],
    where: str = "classifier",
    train_size: int | None = None,
) -> dict[str, dict]:
    """``config['classifier']`` → {id: hyperparameters}, one per initialisation.

    Pretrained classifiers (``frozen``, ``finetune``) name their autoencoder: the
    autoencoder base configuration with ``classifier.autoencoder`` overrides applied,
    and the classifier's encoder shape (architecture, latent size, channels, pooling)
    unless the overrides give them. That autoencoder must be in ``autoencoders``, or
    else be the only one there with that encoder shape (and the overrides): a study's
    deeper autoencoder trained with its own lr still starts its classifiers.
    """
    base = base_params(cfg["base"], CLASSIFIER_KEYS, f"{where}.base")
    grid = expand(base, cfg.get("sweeps"), cfg.get("configurations"), where, train_size)
    ae_base = base_params(ae_base, AUTOENCODER_KEYS, "autoencoder.base")
    ids_by_params = {json.dumps(p, sort_keys=True): i for i, p in autoencoders.items()}
    overrides = dict(cfg.get("autoencoder") or {})
    out = {}
    for init in cfg["initialisations"]:
        if init not in INITIALISATIONS:
            raise GridError(
                f"{where}.initialisations: unknown {init!r}; allowed: {', '.join(INITIALISATIONS)}"
            )
        for params in grid:
            ae_id = None
            if init != "scratch":
                shape = {k: params[k] for k in ENCODER_KEYS}
                wanted = canonical({**ae_base, **shape, **overrides}, train_size)
                for key in ("latent", "architecture", "channels", "pooling"):
                    if wanted[key] != params[key]:
                        raise GridError(
                            f"{where}.autoencoder: {key} {wanted[key]!r} does not match "
                            f"the classifier's {key} {params[key]!r}"
                        )
                ae_id = ids_by_params.get(json.dumps(wanted, sort_keys=True))
                if ae_id is None:
                    ae_id = _only_match(autoencoders, shape, overrides)
                if ae_id is None:
                    raise GridError(
                        f"{where} ({init}, latent {params['latent']}): its autoencoder "
                        f"{wanted} is not in the autoencoder grid; add it to "
                        "autoencoder.sweeps or autoencoder.configurations, or change "
                        f"{where}.autoencoder"
                    )
            full = canonical({**params, "initialisation": init, "autoencoder_id": ae_id})
            out[config_id(init, full)] = full
    return out


def _only_match(autoencoders: dict[str, dict], shape: dict, overrides: dict) -> str | None:
    """The one autoencoder with this encoder shape (and the overrides), if only one has it."""
    wanted = canonical({**shape, **overrides})
    found = [i for i, p in autoencoders.items() if all(p.get(k) == v for k, v in wanted.items())]
    return found[0] if len(found) == 1 else None


def describe(params: dict, base: dict) -> str:
    """Short label of how a configuration differs from the base: "base", "lr=0.01"."""
    diff = [f"{k}={params[k]}" for k in sorted(base) if k in params and params[k] != base[k]]
    diff += [f"{k}={params[k]}" for k in sorted(ABSENT_AT_DEFAULT) if k in params and k not in base]
    return ", ".join(diff) or "base"
