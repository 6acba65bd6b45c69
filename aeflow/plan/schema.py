"""Numbers written in scientific notation, read where the config schema expects a number.

YAML 1.1 (PyYAML, which Snakemake uses) reads ``1e-3`` as the string ``"1e-3"``: its
floats need a dot (``1.0e-3``). Before the schema check, every string at a place where the
schema allows a number (and no string) is read as one if it is one; a string that is
not a number there is refused with a message that says how to write it. The schema
guides the walk: only its ``properties``, ``additionalProperties``, ``items``, ``$ref``
and ``oneOf``/``anyOf`` branches are followed, so strings elsewhere are never touched.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml


class NumberError(ValueError):
    """A string where the schema expects a number; the message names the key."""


def load(path: str | Path) -> dict:
    return yaml.safe_load(Path(path).read_text())


def _resolve(node: dict, root: dict) -> dict:
    """``node`` with its ``$ref`` (to ``#/...`` in the same schema) merged in."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError(f"unsupported or circular $ref {ref!r} in the config schema")
        seen.add(ref)
        target = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _types(node: dict, root: dict) -> set[str]:
    """JSON types a value may have at ``node`` (its own and those of its branches)."""
    node = _resolve(node, root)
    found = set()
    declared = node.get("type")
    if declared is not None:
        found.update([declared] if isinstance(declared, str) else declared)
    for branch in node.get("oneOf", []) + node.get("anyOf", []):
        found |= _types(branch, root)
    return found


def _as_number(text: str, integer: bool):
    if "_" in text:  # Python's float() reads 1_000, YAML and JSON do not
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if integer:
        return int(value) if value.is_integer() else None
    return value


def _path(where: list) -> str:
    text = ""
    for part in where:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def read_numbers(config: dict, schema: dict) -> dict:
    """Replace, in place, the strings of ``config`` that stand for numbers where
    ``schema`` expects one; raise :class:`NumberError` for those that do not."""
    _walk(config, schema, schema, [], None, None)
    return config


def _walk(value, node, root, where, parent, key) -> None:
    node = _resolve(node, root)
    if isinstance(value, str):
        types = _types(node, root)
        if "string" in types or not types & {"number", "integer"}:
            return
        integer = "number" not in types
        number = _as_number(value.strip(), integer)
        if number is None:
            how = "digits only, e.g. 30" if integer else "a number, e.g. 0.001, 1e-3 or 1.0e-3"
            kind = "a whole number" if integer else "a number"
            raise NumberError(f"{_path(where)}: {value!r} is not {kind}; write {how}")
        parent[key] = number
        return
    branches = [_resolve(b, root) for b in node.get("oneOf", []) + node.get("anyOf", [])]
    if isinstance(value, dict):
        for branch in [node, *branches]:
            if "object" not in _types(branch, root) and branch is not node:
                continue
            properties = branch.get("properties", {})
            extra = branch.get("additionalProperties")
            for name in list(value):
                sub = properties.get(name, extra if isinstance(extra, dict) else None)
                if sub is not None:
                    _walk(value[name], sub, root, [*where, name], value, name)
    elif isinstance(value, list):
        for branch in [node, *branches]:
            items = branch.get("items")
            if isinstance(items, dict):
                for i in range(len(value)):
                    _walk(value[i], items, root, [*where, i], value, i)
