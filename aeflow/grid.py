"""From the config to the list of configurations to train, each with a stable id.

A configuration is a flat dict of hyperparameters. Its identifier is derived from
the canonical JSON of that dict (sorted keys), so the same hyperparameters always
give the same id, whatever order the config lists them in, and changing one value
of one configuration changes that configuration's id only.
"""

from __future__ import annotations

import hashlib
import json

AUTOENCODER_KEYS = (
    "architecture",
    "latent",
    "dropout",
    "optimizer",
    "lr",
    "batch_size",
    "output_activation",
    "epochs",
)
CLASSIFIER_KEYS = (
    "architecture",
    "latent",
    "hidden",
    "dropout",
    "optimizer",
    "lr",
    "batch_size",
    "epochs",
)
INITIALISATIONS = ("scratch", "frozen", "finetune")


class GridError(ValueError):
    """A configuration grid that cannot be expanded; the message names the key."""


def canonical(params: dict) -> dict:
    """Sorted keys; whole floats used for int keys become ints; other numbers floats."""
    out = {}
    for key in sorted(params):
        value = params[key]
        if isinstance(value, bool) or value is None or isinstance(value, str):
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
    text = json.dumps(canonical(params), sort_keys=True, separators=(",", ":"))
    return f"{prefix}-{hashlib.sha1(text.encode()).hexdigest()[:10]}"


def expand(base: dict, sweeps: dict, configurations: list, where: str) -> list[dict]:
    """One-factor-at-a-time sweeps around ``base`` plus explicit configurations.

    Returns unique configurations in a stable order: the base, then each sweep's
    values, then the explicit ones. A sweep value equal to the base's is the base
    itself (merged); an explicit configuration that repeats one already in the grid
    is an error, as is an empty sweep or a sweep of an unknown key.
    """
    grid = [canonical(base)]
    seen = {json.dumps(grid[0], sort_keys=True)}
    for key, values in (sweeps or {}).items():
        if key not in base:
            raise GridError(
                f"{where}.sweeps.{key}: unknown hyperparameter; allowed: {', '.join(sorted(base))}"
            )
        if not values:
            raise GridError(f"{where}.sweeps.{key}: empty sweep (give at least one value)")
        for value in values:
            params = canonical({**base, key: value})
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
        params = canonical({**base, **overrides})
        text = json.dumps(params, sort_keys=True)
        if text in seen:
            raise GridError(
                f"{where}.configurations[{i}]: expands to a configuration already in "
                f"the grid ({config_id('x', params)[2:]}); remove the duplicate"
            )
        seen.add(text)
        grid.append(params)
    return grid


def autoencoder_grid(cfg: dict) -> dict[str, dict]:
    """``config['autoencoder']`` → {id: hyperparameters}."""
    base = {k: cfg["base"][k] for k in AUTOENCODER_KEYS}
    grid = expand(base, cfg.get("sweeps"), cfg.get("configurations"), "autoencoder")
    return {config_id(p["architecture"], p): p for p in grid}


def classifier_grid(cfg: dict, ae_base: dict, autoencoders: dict[str, dict]) -> dict[str, dict]:
    """``config['classifier']`` → {id: hyperparameters}, one per initialisation.

    Pretrained classifiers (``frozen``, ``finetune``) name their autoencoder: the
    autoencoder base configuration with ``classifier.autoencoder`` overrides applied,
    and the classifier's latent size unless the overrides give one. That
    autoencoder must be in the autoencoder grid.
    """
    base = {k: cfg["base"][k] for k in CLASSIFIER_KEYS}
    grid = expand(base, cfg.get("sweeps"), cfg.get("configurations"), "classifier")
    ids_by_params = {json.dumps(p, sort_keys=True): i for i, p in autoencoders.items()}
    overrides = dict(cfg.get("autoencoder") or {})
    out = {}
    for init in cfg["initialisations"]:
        if init not in INITIALISATIONS:
            raise GridError(
                f"classifier.initialisations: unknown {init!r}; "
                f"allowed: {', '.join(INITIALISATIONS)}"
            )
        for params in grid:
            ae_id = None
            if init != "scratch":
                wanted = canonical({**ae_base, "latent": params["latent"], **overrides})
                ae_id = ids_by_params.get(json.dumps(wanted, sort_keys=True))
                if ae_id is None:
                    raise GridError(
                        f"classifier ({init}, latent {params['latent']}): its autoencoder "
                        f"{wanted} is not in the autoencoder grid; add it to "
                        "autoencoder.sweeps or autoencoder.configurations, or change "
                        "classifier.autoencoder"
                    )
                if wanted["latent"] != params["latent"]:
                    raise GridError(
                        f"classifier.autoencoder: latent {wanted['latent']} does not match "
                        f"the classifier's latent {params['latent']}"
                    )
                if wanted["architecture"] != params["architecture"]:
                    raise GridError(
                        f"classifier.autoencoder: architecture {wanted['architecture']!r} "
                        f"does not match the classifier's {params['architecture']!r}"
                    )
            full = canonical({**params, "initialisation": init, "autoencoder_id": ae_id})
            out[config_id(init, full)] = full
    return out


def describe(params: dict, base: dict) -> str:
    """Short label of how a configuration differs from the base: "base", "lr=0.01"."""
    diff = [f"{k}={params[k]}" for k in sorted(base) if k in params and params[k] != base[k]]
    return ", ".join(diff) or "base"
