"""What phase 1 must run, and how a run that could not happen or already failed at base reads.

The environment's plan names the analysers it installs (`plan.analysers`); those, and the
build and test commands, are required: if one cannot run (exit 127, not installed, timed out,
no environment) that is a blocking finding "could not run X: ...", never a skip. Failing
tests that all failed at the base commit too become a warning; a build or test that fails as
it did at base without naming any failing test still blocks (nothing shows the change works).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from app.sandbox.verify import CheckResult, already_failing
from app.stacks import EnvironmentPlan
from app.store.baselines import Baseline, BaselineCheck
from reviewer.static.adapters import (
    Adapter,
    eslint_adapter,
    mypy_adapter,
    pytest_adapter,
    ruff_adapter,
    tsc_adapter,
)
from reviewer.static.findings import COULD_NOT_RUN, Finding
from reviewer.static.local import TIMED_OUT
from reviewer.static.runner import ToolResult

# Runs whose failures a baseline can explain: the commands, and pytest's test cases.
_BASELINE_TOOLS = frozenset({"build", "test", "pytest"})
_VENV_PYTHON = ".venv/bin/python"


def analyser_adapters(detected: list[Adapter], plan: EnvironmentPlan) -> list[Adapter]:
    """The detected adapters plus every analyser the plan provides, each once.

    mypy checks against the project's virtualenv when the plan makes one (it is installed in
    a venv of its own). When pytest runs as an analyser, a test command that is pytest too is
    not run a second time: the analyser's run is the test run.
    """
    adapters = {adapter.tool: adapter for adapter in detected}
    for name in plan.analysers:
        if name not in adapters:
            adapters[name] = _analyser(name)
    if "mypy" in adapters and ".venv" in plan.env_dirs:
        adapters["mypy"] = _with_project_python(adapters["mypy"])
    if "pytest" in adapters and "pytest" in plan.test and "test" in adapters:
        del adapters["test"]
    return list(adapters.values())


def _analyser(name: str) -> Adapter:
    makers = {
        "ruff": ruff_adapter,
        "pytest": pytest_adapter,
        "tsc": tsc_adapter,
        "eslint": eslint_adapter,
    }
    if name == "mypy":
        return mypy_adapter(files_configured=False)
    return makers[name]()


def _with_project_python(adapter: Adapter) -> Adapter:
    command = adapter.command
    if not isinstance(command, list):
        return adapter
    return replace(adapter, command=[command[0], "--python-executable", _VENV_PYTHON, *command[1:]])


def could_not_run(tool: str, why: str) -> ToolResult:
    """A required run that did not happen: failed, with one blocking finding saying why."""
    finding = Finding(
        tool=tool,
        rule=COULD_NOT_RUN,
        severity="error",
        path=None,
        line=None,
        column=None,
        message=f"could not run {tool}: {why}",
    )
    return ToolResult(tool, "failed", 0.0, (finding,), "", None)


def required_result(result: ToolResult) -> ToolResult:
    """A required tool's result: skipped for being absent, or timed out, is "could not run"."""
    if result.status == "skipped" and result.exit_code == 127:
        return replace(could_not_run(result.tool, result.reason), duration=result.duration)
    timed_out = result.exit_code == TIMED_OUT and any(
        "timed out after" in finding.message for finding in result.findings
    )
    if timed_out:
        why = next(f.message for f in result.findings if "timed out after" in f.message)
        return replace(could_not_run(result.tool, why.splitlines()[-1]), duration=result.duration)
    return result


def needs_baseline(findings: Iterable[Finding]) -> bool:
    """Whether a build or test failed (then the base commit's results are worth asking for)."""
    return any(
        f.severity == "error" and f.tool in _BASELINE_TOOLS and f.rule != COULD_NOT_RUN
        for f in findings
    )


def compared_result(result: ToolResult, base: Baseline) -> ToolResult:
    """The result with the failures the base commit already had turned into warnings."""
    if result.tool not in _BASELINE_TOOLS or result.status != "failed":
        return result
    findings = tuple(_against_base(finding, base) for finding in result.findings)
    errors = any(finding.severity == "error" for finding in findings)
    return replace(result, findings=findings, status="failed" if errors else "passed")


def _same_run(tool: str, check: BaselineCheck) -> bool:
    """Whether a phase 1 run is the base's check: by name, or pytest as the pytest test command."""
    return check.name == tool or (
        tool == "pytest" and check.name == "test" and "pytest" in check.command
    )


def _against_base(finding: Finding, base: Baseline) -> Finding:
    if finding.severity != "error" or finding.rule == COULD_NOT_RUN:
        return finding
    if finding.tool == "pytest" and finding.rule.startswith("test-"):
        # The finding's message starts with the test's node id, as pytest's summary names it.
        node = finding.message.split(" ", 1)[0]
        known = any(node in check.failures for check in base.checks if not check.passed)
    else:
        at_base = next((check for check in base.checks if _same_run(finding.tool, check)), None)
        if at_base is None:
            return finding
        # The same check (by name) at base; its failing tests are read from the finding's tail.
        check = CheckResult(finding.tool, at_base.command, False, 1, False, finding.message)
        known = already_failing(check, at_base)
        if known and not check.failures:
            # No failing test is named (a collection or build error, a crash): the tests did not
            # run, or not visibly, so nothing shows the change works. It stays blocking.
            note = (
                f"failing as it already did at the base commit {base.base_sha[:12]}, without "
                "naming a failing test (the tests cannot be shown to pass; the base needs a "
                "fix): "
            )
            return replace(finding, message=note + finding.message)
    if not known:
        return finding
    note = f"already failing at the base commit {base.base_sha[:12]} (not this change): "
    return replace(finding, severity="warning", message=note + finding.message)
