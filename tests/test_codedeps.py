"""The code a job runs, read from imports: aeflow/plan/codedeps.py on a synthetic package."""

from __future__ import annotations

from pathlib import Path

from aeflow.plan import codedeps

REPO = Path(__file__).resolve().parents[1]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def names(paths, root):
    return sorted(str(Path(p).relative_to(root)) for p in paths)


def test_imports_are_followed_transitively_lazily_and_relatively(tmp_path):
    write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg import b\n",
        "pkg/b.py": "def f():\n    from pkg.c import thing  # lazy\n    return thing\n",
        "pkg/c.py": "from . import d\nthing = 1\n",
        "pkg/d.py": "import os\n",
        "pkg/sub/__init__.py": "from .inner import x\n",
        "pkg/sub/inner.py": "x = 1\n",
        "pkg/sub/other.py": "",
        "pkg/unused.py": "",
        "pkg/typing_only.py": "",
        "pkg/e.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     "    from pkg import typing_only\nelse:\n    import pkg.sub\n"),
        "scripts/job.py": "import torch\nfrom pkg import a, e\nfrom pkg.a import b as _b\n",
    })  # fmt: skip
    found = codedeps.reached_modules(tmp_path / "scripts/job.py", tmp_path / "pkg")
    assert names(found, tmp_path) == [
        "pkg/__init__.py", "pkg/a.py", "pkg/b.py", "pkg/c.py", "pkg/d.py", "pkg/e.py",
        "pkg/sub/__init__.py", "pkg/sub/inner.py",
    ]  # fmt: skip


def test_an_attribute_of_the_package_is_its_init(tmp_path):
    write(tmp_path, {"pkg/__init__.py": "VERSION = 1\n", "pkg/m.py": "", "s.py":
                     "from pkg import VERSION\n"})  # fmt: skip
    found = codedeps.reached_modules(tmp_path / "s.py", tmp_path / "pkg")
    assert names(found, tmp_path) == ["pkg/__init__.py"]


def test_code_files_are_relative_and_start_with_the_script(tmp_path):
    write(tmp_path, {"wf/pkg/__init__.py": "", "wf/pkg/m.py": "", "wf/scripts/s.py":
                     "import pkg.m\n"})  # fmt: skip
    wf = tmp_path / "wf"
    assert codedeps.code_files(wf / "scripts/s.py", wf / "pkg", wf) == [
        "scripts/s.py", "pkg/__init__.py", "pkg/m.py",
    ]  # fmt: skip
    assert codedeps.code_files(wf / "scripts/s.py", wf / "pkg", tmp_path)[0] == "wf/scripts/s.py"


def test_the_training_script_reaches_the_modules_the_issue_named():
    files = codedeps.code_files(REPO / "scripts/train.py", REPO / "aeflow", REPO)
    for module in ("run/optim", "run/memory", "run/files", "run/data", "run/devices",
                   "plan/logs", "run/models", "run/training", "run/records"):  # fmt: skip
        assert f"aeflow/{module}.py" in files
    # importing aeflow.run.x runs aeflow/__init__.py and aeflow/run/__init__.py too
    assert {"aeflow/__init__.py", "aeflow/run/__init__.py"} <= set(files)
    assert "aeflow/report/plots.py" not in files and "aeflow/plan/codedeps.py" not in files
