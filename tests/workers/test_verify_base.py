"""Telling a failure the change made from one the base commit already had (pure rules)."""

from __future__ import annotations

from app.sandbox.verify import CheckResult, Verification, against_base, failing_tests
from app.store.baselines import Baseline, BaselineCheck

PYTEST = "FAILED tests/test_a.py::test_one - AssertionError\nERROR tests/test_b.py\n1 failed"
UNITTEST = "FAIL: test_add (test_core.AddTest.test_add)\n----\nFAILED (failures=1)"


def check(output: str, command: str = "pytest -q") -> CheckResult:
    return CheckResult("test", command, False, 1, False, output)


def base(*failures: str, command: str = "pytest -q", passed: bool = False) -> Baseline:
    at_base = BaselineCheck("test", command, passed, 0 if passed else 1, False, failures)
    return Baseline("o/r", "b" * 40, "key", (at_base,), "", 1.0)


def test_failing_tests_are_read_from_the_common_runners() -> None:
    assert failing_tests(PYTEST) == ("tests/test_a.py::test_one", "tests/test_b.py")
    assert failing_tests(UNITTEST) == ("test_add (test_core.AddTest.test_add)",)
    assert failing_tests(" FAIL  test/ufo.test.ts > join > works\n") == (
        "test/ufo.test.ts > join > works",
    )
    assert failing_tests("all good\nFAILED (errors=2)\n") == ()


def test_only_the_same_failures_of_the_same_command_are_already_failing() -> None:
    same = against_base(Verification((check(PYTEST),)), base(*failing_tests(PYTEST)))
    assert same.passed and "already failing at the base commit bbbbbbbbbbbb" in same.report()
    new = against_base(Verification((check(PYTEST),)), base("tests/test_a.py::test_one"))
    assert not new.passed  # tests/test_b.py did not fail at base
    other = against_base(
        Verification((check(PYTEST),)), base(*failing_tests(PYTEST), command="tox")
    )
    assert not other.passed  # another command proves nothing
    assert not against_base(Verification((check(PYTEST),)), base(passed=True)).passed
    # Nothing named on either side (a build error, a crash): the same check failing counts.
    assert against_base(Verification((check("boom"),)), base()).passed
    assert not against_base(Verification((check("boom"),)), base("tests/x.py::t")).passed
    assert "$ pytest -q" in new.failure_log() and same.failure_log() == ""
