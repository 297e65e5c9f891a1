"""The suite's own rules (tests/conftest.py): every test the marker tables name exists, and under CI a skip or a run
with no test fails, checked on small inner pytest sessions."""

from __future__ import annotations

import ast
import tomllib

import pytest

from tests.conftest import MODULE_MARKS, ROOT, TEST_MARKS

DECLARED = {
    line.split(":")[0]
    for line in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
}


def test_the_marker_tables_name_existing_tests_and_declared_markers():
    for module in MODULE_MARKS:
        assert (ROOT / "tests" / f"{module}.py").is_file(), module
    for key in TEST_MARKS:
        module, name = key.split("::")
        tree = ast.parse((ROOT / "tests" / f"{module}.py").read_text())
        assert name in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}, key
    used = set().union(*MODULE_MARKS.values(), *TEST_MARKS.values())
    assert used <= DECLARED == {"browser", "slow", "reference", "app", "commands"}


def test_the_markers_reach_the_collected_tests(pytester):
    """Selected as a contributor would: of test_many_visitors's two tests, one drives Chromium."""
    module = ROOT / "tests" / "test_many_visitors.py"
    result = pytester.runpytest_inprocess("--collect-only", "-q", "-p", "no:cacheprovider", "-m", "browser", module)
    result.stdout.fnmatch_lines(["*::test_two_browser_pages_see_their_own_sentence", "*1/2 tests collected*"])


INNER = """
import pytest

def test_passes():
    pass

def test_skips():
    pytest.skip("no data for this")
"""


def inner_run(pytester, monkeypatch, ci: bool, *args: str):
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    return pytester.runpytest_inprocess("-p", "tests.conftest", "-p", "no:cacheprovider", *args)


def test_outside_ci_a_skip_stays_a_skip(pytester, monkeypatch):
    pytester.makepyfile(test_inner=INNER)
    inner_run(pytester, monkeypatch, False).assert_outcomes(passed=1, skipped=1)


def test_under_ci_a_skipped_test_or_module_fails_and_says_why(pytester, monkeypatch):
    pytester.makepyfile(test_inner=INNER, test_gone="import pytest\npytest.skip('no corpus', allow_module_level=True)")
    result = inner_run(pytester, monkeypatch, True)
    result.assert_outcomes(passed=1, failed=1, skipped=1)  # the module's skip is counted, and fails the run
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*skipped under CI, where no test may skip: no data for this*",
            "*a whole module skipped under CI*test_gone.py: no corpus*",
        ]
    )


def test_under_ci_a_run_that_collects_no_test_fails(pytester, monkeypatch):
    """Outside CI pytest says 5 (no tests collected); under CI that is a failure, never a quiet green."""
    pytester.makepyfile(test_inner=INNER)
    assert inner_run(pytester, monkeypatch, True, "-k", "no_such_test").ret == pytest.ExitCode.TESTS_FAILED
