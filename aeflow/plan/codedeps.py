"""The code a job runs: a script and every module of a package it reaches by import.

Parse-time helper (standard library only: it must not import torch or pandas, which
every ``snakemake`` start would pay for). Imports are read with ``ast``, transitively,
including those inside functions (the package imports some modules lazily); imports
under ``if TYPE_CHECKING:`` are skipped, since they never run.
"""

from __future__ import annotations

import ast
import os
from functools import cache
from pathlib import Path


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imported_names(tree: ast.AST, package: str, current: str | None) -> set[str]:
    """Dotted names ``package`` or ``package.x`` (and ``package.x.y`` candidates) that
    ``tree`` imports; ``current`` is the module's own dotted name (for relative imports)."""
    names: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if _is_type_checking(node):
            stack.extend(node.orelse)  # only the else branch runs
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level and current:
                parent = current.split(".")[: -node.level]
                base = ".".join([*parent, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        # imports are statements: only statements (and the handlers and cases that
        # hold them) are descended into, not the expressions, most of a tree's nodes
        stack.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, _HOLDERS))
    return {n for n in names if n == package or n.startswith(package + ".")}


_HOLDERS = (ast.stmt, ast.excepthandler, ast.match_case)


@cache
def _imports_in(source: str, filename: str, package: str, current: str | None) -> frozenset[str]:
    """:func:`_imported_names` of a file's text, parsed once per process and text: the
    scripts of a workflow share most of their modules (a workflow's parse read each
    module once per script that reaches it, 212 parses for 45 files, a third of a dry
    run's time); keyed by the text, so that an edited file is read again."""
    return frozenset(_imported_names(ast.parse(source, filename=filename), package, current))


@cache
def _module_file(package_dir: Path, dotted: str) -> Path | None:
    """The file of module ``dotted`` (``package.a.b``) inside ``package_dir``, if any."""
    parts = dotted.split(".")[1:]
    candidate = package_dir.joinpath(*parts)
    for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
        if parts and path.is_file():
            return path
    if not parts:
        init = package_dir / "__init__.py"
        return init if init.is_file() else None
    return None


def reached_modules(script: Path, package_dir: Path) -> list[Path]:
    """The files of the package at ``package_dir`` that running ``script`` can execute,
    following imports transitively; sorted. Importing ``package.x`` also runs the
    package's ``__init__.py`` (and that of every package on the way)."""
    package_dir = Path(package_dir).resolve()
    package = package_dir.name
    seen: dict[Path, str] = {}  # file: dotted name
    todo: list[tuple[Path, str | None]] = [(Path(script).resolve(), None)]
    while todo:
        path, dotted = todo.pop()
        for name in sorted(_imports_in(path.read_text(), str(path), package, dotted)):
            parts = name.split(".")
            # every prefix runs: package/__init__.py, package/sub/__init__.py, ...
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i])
                found = _module_file(package_dir, prefix)
                if found is not None and found not in seen:
                    seen[found] = prefix
                    # a package's __init__ resolves relative imports against itself
                    own = f"{prefix}.__init__" if found.name == "__init__.py" else prefix
                    todo.append((found, own))
    return sorted(seen)


def code_files(script: Path, package_dir: Path, relative_to: Path) -> list[str]:
    """``script`` and the package files it reaches, as paths relative to ``relative_to``
    (so that a moved or copied folder keeps the same recorded paths)."""
    files = [Path(script).resolve(), *reached_modules(script, package_dir)]
    base = Path(relative_to).resolve()
    return [os.path.relpath(f, base) for f in files]
