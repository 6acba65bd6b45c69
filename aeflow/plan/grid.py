"""From the config to the list of configurations to train, each with a stable id.

A configuration is a flat dict of hyperparameters. Its identifier is derived from
the canonical JSON of that dict (sorted keys), so the same hyperparameters always
give the same id, whatever order the config lists them in, and changing one value
of one configuration changes that configuration's id only.
"""

from __future__ import annotations

import hashlib
import json

from aeflow.plan import hyperparameters
from aeflow.plan.hyperparameters import FULL_BATCH, HYPERPARAMETERS, INITIALISATIONS, NO_HIDDEN

# Derived from the registry (aeflow/plan/hyperparameters.py), the one place of these facts.
AUTOENCODER_KEYS = hyperparameters.keys(hyperparameters.AUTOENCODER)
CLASSIFIER_KEYS = hyperparameters.keys(hyperparameters.CLASSIFIER)
# Values of keys a configuration may leave out (the schema gives every key its default).
DEFAULTS = {n: h.default for n, h in HYPERPARAMETERS.items() if not h.required}
# Keys that at their default stay out of the id (OUT_OF_ID) or out of the id, the params
# and the tables (ABSENT): adding them changed no existing configuration's id.
_OUT_OF_ID = hyperparameters.defaults_when(hyperparameters.OUT_OF_ID)
_ABSENT = hyperparameters.defaults_when(hyperparameters.ABSENT)
# Keys that shape an encoder: a pretrained encoder fits a classifier when these agree.
ENCODER_KEYS = tuple(n for n, h in HYPERPARAMETERS.items() if h.encoder)
# Layer widths: 128, "128-64" or [128, 64] in the config, "128-64" in ids and tables.
WIDTH_KEYS = tuple(n for n, h in HYPERPARAMETERS.items() if h.widths)


class GridError(ValueError):
    """A configuration grid that cannot be expanded; the message names the key."""


def _counts(value, single: bool) -> list[int] | None:
    """Positive whole numbers written "a-b-c" or [a, b, c] (and, if ``single``, a bare
    integer); None where any part is not one."""
    if isinstance(value, bool):
        parts = None
    elif isinstance(value, int):
        parts = [value] if single else None
    elif isinstance(value, str):
        parts = [int(v) if v.isdigit() else None for v in value.split("-")]
    elif isinstance(value, (list, tuple)):
        parts = [v if isinstance(v, int) and not isinstance(v, bool) else None for v in value]
    else:
        parts = None
    if not parts or any(v is None or v < 1 for v in parts):
        return None
    return parts


def layer_widths(key: str, value) -> tuple[int, ...]:
    """The one parser of layer widths: 128 → (128,); [128, 64] or "128-64" → (128, 64);
    ``hidden: none`` → () (a head without hidden layers); anything else is a GridError."""
    if key == "hidden" and value == NO_HIDDEN:
        return ()
    parts = _counts(value, single=True)
    if parts is None:
        raise GridError(
            f"{key}: expected layer widths like 128, 128-64 or [128, 64]"
            f"{' (or none)' if key == 'hidden' else ''}, got {value!r}"
        )
    return tuple(parts)


def widths_text(key: str, value) -> str:
    """Layer widths as in ids and tables: "128", "128-64", or "none" for no hidden layer."""
    return "-".join(str(v) for v in layer_widths(key, value)) or NO_HIDDEN


IMAGES = "images"
IMAGE_PARTS = ("train", "validation", "test")


def image_counts(value) -> dict[str, int] | None:
    """A classifier's ``images``: "4000-500-500" or [4000, 500, 500] → {train: 4000,
    validation: 500, test: 500}; None (the whole split) → None; else a GridError."""
    if value is None:
        return None
    parts = _counts(value, single=False)
    if parts is None or len(parts) != len(IMAGE_PARTS):
        raise GridError(
            f"{IMAGES}: expected train-validation-test image counts like 4000-500-500 "
            f"or [4000, 500, 500], got {value!r}"
        )
    return dict(zip(IMAGE_PARTS, parts))


def train_images(params: dict, train_size: int | None) -> int | None:
    """The training images a configuration has: its ``images``' train count, else the
    split's ``train_size``."""
    counts = image_counts(params.get(IMAGES))
    return counts["train"] if counts else train_size


def canonical(params: dict, train_size: int | None = None) -> dict:
    """Sorted keys; numbers as given (ints, floats); layer widths as "128-64" text;
    ``batch_size: full`` as ``train_size`` (full batch); keys that are absent at their
    default (:data:`aeflow.plan.hyperparameters.ABSENT`) left out there. A whole-number
    hyperparameter that is not one, or is below its minimum, is a GridError."""
    out = {}
    for key in sorted(params):
        value = params[key]
        if key in _ABSENT and value == _ABSENT[key] and type(value) is type(_ABSENT[key]):
            continue
        error = hyperparameters.value_error(key, value) if key in HYPERPARAMETERS else None
        if error:
            raise GridError(error)
        if key in WIDTH_KEYS:
            out[key] = widths_text(key, value)
        elif key == IMAGES and value is not None:
            out[key] = "-".join(str(n) for n in image_counts(value).values())
        elif key == "batch_size" and value == FULL_BATCH:
            own = train_images(params, train_size)
            if own is None:
                raise GridError("batch_size: full needs the training-set size")
            out[key] = int(own)
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            out[key] = value
        elif isinstance(value, int):
            out[key] = int(value)
        elif isinstance(value, float):
            out[key] = float(value)
        else:
            raise GridError(f"{key}: expected a number or a string, got {value!r}")
    return out


def batch_size_error(batch_size: int, n_train: int, of: str | None = None) -> str | None:
    """The one batch-size rule, at parse time and in training: from 1 to the images a
    model trains on (``of`` says what they are). What is wrong, or None."""
    if batch_size < 1:
        return f"batch_size {batch_size} is less than 1"
    if batch_size > n_train:
        return (
            f"batch_size {batch_size} is larger than {of or f'the training set ({n_train} images)'}"
        )
    return None


# conv/conv_bn encoders: 28 → conv3 26 → pool 13 → conv3 11 → pool 5, so their features
# are channels[1] × 5 × 5 (aeflow.run.models builds them with it).
CONV_FEATURE_SIDE = 5


def check(params: dict, where: str, train_size: int | None = None) -> None:
    """A configuration's cross-key rules: architecture-only keys away from their default
    on another architecture, an encoder without bottleneck whose latent is not its
    features' number, and (given ``train_size``) more labels than training images or a
    batch larger than the images it trains on. A GridError naming ``where``."""
    for key, h in HYPERPARAMETERS.items():
        if h.architectures and key in params and params[key] != h.default:
            if params["architecture"] not in h.architectures:
                raise GridError(
                    f"{where}: {key}: {params[key]!r} applies to architecture "
                    f"{', '.join(h.architectures)} only, not {params['architecture']!r}"
                )
    if params.get("bottleneck", True) is False:
        c2 = layer_widths("channels", params.get("channels", DEFAULTS["channels"]))[-1]
        features = c2 * CONV_FEATURE_SIDE**2
        if params.get("latent") != features:
            raise GridError(
                f"{where}: latent {params.get('latent')!r} with bottleneck false: the encoder "
                f"ends at its {c2} × {CONV_FEATURE_SIDE} × {CONV_FEATURE_SIDE} features, so "
                f"latent must be {features}"
            )
    if train_size is None:
        return
    own = train_images(params, train_size)
    if own > train_size:
        raise GridError(
            f"{where} images {params[IMAGES]}: {own} training images, but the prepared "
            f"split has {train_size}"
        )
    labels = params.get("labels")
    if labels is not None and labels > own:
        raise GridError(f"{where} labels {labels} is more than the training set ({own} images)")
    of = f"its labels ({labels} labelled images)" if labels is not None else None
    error = batch_size_error(params["batch_size"], labels or own, of)
    if error:
        raise GridError(f"{where} {error}")


def check_images(configurations: dict[str, dict], split_sizes: dict[str, int]) -> None:
    """Every configuration's ``images`` within the prepared split's parts
    (``split_sizes``: {train, validation, test: images}, None where not known before
    the data are read: checked when they are); a GridError naming the first
    configuration, part and counts that do not fit."""
    for config_id_, params in configurations.items():
        counts = image_counts(params.get(IMAGES))
        for part, n in (counts or {}).items():
            if split_sizes.get(part) is not None and n > split_sizes[part]:
                raise GridError(
                    f"{config_id_}: images {params[IMAGES]} asks for {n} {part} images, "
                    f"but the prepared split has {split_sizes[part]} (data.subset, "
                    "data.validation_size)"
                )


def config_id(prefix: str, params: dict) -> str:
    """Stable identifier: ``<prefix>-<10 hex digits of sha1(canonical json)>``."""
    shown = {k: v for k, v in canonical(params).items() if _OUT_OF_ID.get(k, object()) != v}
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
        check(params, where, train_size)
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
    for params in grid:
        check(params, where, train_size)
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
                # keys absent at their default (ABSENT) count as their default
                full = hyperparameters.complete(params, hyperparameters.CLASSIFIER)
                shape = {k: full[k] for k in ENCODER_KEYS}
                wanted = canonical({**ae_base, **shape, **overrides}, train_size)
                have = hyperparameters.complete(wanted, hyperparameters.AUTOENCODER)
                for key in ("latent", *(k for k in ENCODER_KEYS if k != "latent")):
                    if have[key] != shape[key]:
                        raise GridError(
                            f"{where}.autoencoder: {key} {have[key]!r} does not match "
                            f"the classifier's {key} {shape[key]!r}"
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
    wanted.update({k: v for k, v in shape.items() if k not in wanted})  # absent defaults too
    full = {
        i: hyperparameters.complete(p, hyperparameters.AUTOENCODER) for i, p in autoencoders.items()
    }
    found = [i for i, p in full.items() if all(p.get(k) == v for k, v in wanted.items())]
    return found[0] if len(found) == 1 else None


BASE_LABEL = "base"  # describe()'s label of the base configuration itself


def describe(params: dict, base: dict) -> str:
    """Short label of how a configuration differs from the base: "base", "lr=0.01"."""
    diff = [
        hyperparameters.label(k, params[k])
        for k in sorted(base)
        if k in params and params[k] != base[k]
    ]
    # keys absent from the base at their default, set in this configuration
    diff += [
        hyperparameters.label(k, params[k])
        for k in sorted(_ABSENT)
        if k in params and k not in base
    ]
    # and back at their default where the base sets them (bottleneck: true in study 004)
    diff += [
        hyperparameters.label(k, _ABSENT[k])
        for k in sorted(_ABSENT)
        if k in base and k not in params
    ]
    return ", ".join(diff) or BASE_LABEL
