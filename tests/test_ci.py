"""Under CI no test may skip: the conftest hook turns every kind of skip into a failure.

Checked on the real ``tests/conftest.py``, copied into a scratch pytest run."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")

SKIPPING = """
import pytest

def test_skips_in_its_body():
    pytest.skip("apt-get install some-tool")

def test_needs_a_missing_module():
    pytest.importorskip("aeflow_no_such_module")

@pytest.mark.skipif(True, reason="marked to skip here")
def test_marked_to_skip():
    pass

@pytest.fixture
def needs_root():
    pytest.skip("needs root")

def test_skips_in_a_fixture(needs_root):
    pass

@pytest.mark.xfail(reason="a known failure", strict=True)
def test_known_failure():
    assert False

def test_runs():
    pass
"""


@pytest.fixture
def scratch(pytester):
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_skipping=SKIPPING)
    return pytester


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_every_skip_fails_under_ci(scratch, monkeypatch, value):
    monkeypatch.setenv("CI", value)
    result = scratch.runpytest_inprocess("-rs")
    # a skip at setup (skipif, a fixture) fails as an error, one in the body as a failure
    result.assert_outcomes(failed=2, errors=2, passed=1, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    for reason in ("apt-get install some-tool", "could not import 'aeflow_no_such_module'",
                   "marked to skip here", "needs root"):  # fmt: skip
        assert f"skipped under CI, where every test must run: Skipped: {reason}" in output, output
    assert "see .ci/run" in output


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_skips_stay_skips_outside_ci(scratch, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    result = scratch.runpytest_inprocess("-rs")
    result.assert_outcomes(skipped=4, passed=1, xfailed=1)
    assert result.ret == pytest.ExitCode.OK
    # -rs: the summary names each skip and its reason
    result.stdout.fnmatch_lines(["*SKIPPED*apt-get install some-tool*"])
