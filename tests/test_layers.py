"""The package's layers, held by import-linter's contracts in ``pyproject.toml``: parse
time (what every ``snakemake`` start imports) imports neither torch, pandas nor the run-
and report-time modules; run time never imports report time; nothing imports the
scripts. Also: the parse-time layer holds what the Snakefile and ``rules/`` reach, and
a broken contract fails the check."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import require

from aeflow.plan import codedeps

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {
    c["id"]: c
    for c in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
}


def lint_imports(folder: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package and scripts in ``folder`` (its pyproject.toml)."""
    require(LINT_IMPORTS.exists(), f'{LINT_IMPORTS} is missing: pip install -e ".[test]"')
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(folder)},
        timeout=120,
    )


def test_every_contract_is_kept():
    result = lint_imports(REPO)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in output, output


def parse_time_modules() -> set[str]:
    """The aeflow modules a ``snakemake`` start runs: those the Snakefile and rules/
    import, and what they import in turn (read with ast, as the workflow's code inputs)."""
    text = "\n".join(p.read_text() for p in [REPO / "Snakefile", *(REPO / "rules").glob("*.smk")])
    imported = re.findall(r"^from aeflow\.(\w+) import (\w+)", text, re.MULTILINE)
    assert imported, "the Snakefile imports no aeflow module?"
    files = set()
    for layer, name in imported:
        module = REPO / "aeflow" / layer / f"{name}.py"
        files.add(module)
        files.update(codedeps.reached_modules(module, REPO / "aeflow"))
    return {
        ".".join(f.relative_to(REPO).with_suffix("").parts)
        for f in files
        if f.name != "__init__.py"
    }


def test_the_parse_time_layer_holds_what_the_workflow_imports_when_parsed():
    parse_time = parse_time_modules()
    assert {
        "aeflow.plan.grid",
        "aeflow.plan.studies",
        "aeflow.plan.schema",
        "aeflow.plan.codedeps",
    } <= parse_time
    lowest = CONTRACTS["layers"]["layers"][-1]
    assert CONTRACTS["layers"]["containers"] == ["aeflow"] and lowest == "plan"
    # every module a snakemake start imports is in the parse-time subpackage
    assert all(m.startswith("aeflow.plan.") for m in parse_time), parse_time
    assert CONTRACTS["parse-time"]["source_modules"] == ["aeflow.plan"]
    assert {"torch", "pandas"} <= set(CONTRACTS["parse-time"]["forbidden_modules"])


VIOLATIONS = [  # (file, line appended, what lint-imports says)
    ("aeflow/plan/grid.py", "import torch", "aeflow.plan.grid -> torch"),
    (
        "aeflow/plan/studies.py",
        "import pandas",
        "aeflow.plan.studies -> pandas",
    ),
    (
        "aeflow/run/models.py",
        "from aeflow.report import tables",
        "aeflow.run.models -> aeflow.report.tables",
    ),
    ("aeflow/plan/cost.py", "from aeflow.run import data", "aeflow.plan.cost -> aeflow.run.data"),
    ("aeflow/run/files.py", "import scripts.train", "aeflow.run.files -> scripts.train"),
]


@pytest.mark.parametrize("edited, line, message", VIOLATIONS, ids=[v[1] for v in VIOLATIONS])
def test_a_broken_contract_fails(tmp_path, edited, line, message):
    for part in ("aeflow", "scripts"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "pyproject.toml", tmp_path)
    with open(tmp_path / edited, "a") as module:
        module.write(f"\n{line}\n")
    result = lint_imports(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "BROKEN" in output and message in output, output
