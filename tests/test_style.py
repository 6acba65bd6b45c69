"""The code's style is checked, not hoped for: ruff's lint rules (pyproject.toml) and its
formatter over the whole tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

REPO = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]])
def test_ruff_is_clean(command):
    require(RUFF.exists(), "ruff is missing: pip install -e '.[test]'")
    result = subprocess.run([str(RUFF), *command], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
