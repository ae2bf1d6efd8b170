"""Dollars per agent session: the same scripted 30-turn session, cached the old way and the new.

The real agent loop (workers/agent.py) with the real tools (workers/tools.py) over a local
sandbox holding a clone of a real repository (../shared/repos/click.bundle) talks through the
real SDK to the scripted model server, which counts input, cache-write and cache-read tokens
by Anthropic's documented rules (prefix tools -> system -> messages, 20-block lookback, a
minimum cacheable prefix of 1,024 tokens here). The session reads files, searches, edits,
runs the tests and finishes; the model's turns are the same in every variant, so only what
the requests cost differs. Variants, through real parameters of the code:

  before: AnthropicModel(cache_strategy="system_only"), AgentSession(context_budget=None)
  cache:  the moving conversation breakpoint, no shortening
  after:  the defaults (moving breakpoint, old tool results shortened past the budget)

Prints tokens by kind and dollars at the default prices; exits 0 (not a test).
Run: .venv/bin/python bench/cost_bench.py [--bundle PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic

from app.codemap import build_map
from app.llm import LLM, AnthropicModel, CacheStrategy, CallContext, CallRecord, call_cost
from app.pathrules import WriteRules
from app.roles import default_roles
from app.sandbox import LocalOptions, LocalSandboxes
from app.sandbox.env import DEFAULT_PATH
from app.serving import ServerThread
from app.settings import DEFAULT_MODELS, DEFAULT_PRICES, Tier
from app.standins.scripted_model import Script, ScriptedModel, ServerConfig, Text, ToolUse, Turn
from workers.agent import AgentSession, Limits, Outcome
from workers.context import ContextBudget
from workers.tools import ToolBox

BUNDLE = Path(__file__).resolve().parents[2] / "shared" / "repos" / "click.bundle"
TIER: Tier = "standard"
# Sonnet's documented minimum; the stand-in caches nothing shorter, as the API does.
MIN_CACHEABLE_TOKENS = 1024
PYTEST = "PYTHONPATH=src python -m pytest -q -p no:cacheprovider -p no:asyncio -p no:randomly"
MAKE_STR_DOC = '    """Converts a value into a valid string."""'
MAKE_STR_NEW = (
    '    """Convert a value into a string, decoding bytes with the filesystem encoding."""'
)
BAD_PARAMETER_DOC = (
    '    """An exception that formats out a standardized error message for a\n    bad parameter.'
)
APP_DIR_DOC = '    r"""Returns the config folder for the application.  The default behavior'
WRITE_DOC = '        """Writes a unicode string into the internal buffer."""'


def session_turns() -> list[Turn]:
    """Thirty turns of a developer fixing docstrings in click: read, search, edit, test."""

    def turn(thought: str, name: str, **arguments: Any) -> Turn:
        return Turn([Text(thought), ToolUse(name, arguments)])

    def edit(thought: str, path: str, old: str, new: str) -> Turn:
        return turn(thought, "edit_file", path=path, old_text=old, new_text=new)

    return [
        turn("Let me see the package layout first.", "list_files", pattern="src/**/*.py"),
        turn("The string helpers live in utils.py.", "read_file", path="src/click/utils.py"),
        turn("Where is make_str used?", "search", pattern=r"make_str\(", path_glob="src/**"),
        turn(
            "The core module defines the commands.",
            "read_file",
            path="src/click/core.py",
            start_line=1,
            end_line=400,
        ),
        turn("The exceptions are next.", "read_file", path="src/click/exceptions.py"),
        turn(
            "Parameter types convert values.",
            "read_file",
            path="src/click/types.py",
            start_line=1,
            end_line=500,
        ),
        turn(
            "Who raises BadParameter?",
            "search",
            pattern=r"BadParameter\(",
            path_glob="src/click/*.py",
        ),
        turn(
            "The tests for echo show the expected style.",
            "read_file",
            path="tests/test_utils/test_echo.py",
        ),
        turn(
            "A baseline test run before changing anything.",
            "run",
            command=f"{PYTEST} tests/test_basic.py",
        ),
        edit(
            "Reword make_str's docstring.",
            "src/click/utils.py",
            MAKE_STR_DOC,
            '    """Convert a value into a string, decoding bytes with the filesystem encoding."""',
        ),
        turn(
            "Check the edit in context.",
            "read_file",
            path="src/click/utils.py",
            start_line=40,
            end_line=80,
        ),
        turn(
            "termui's style and secho document their options.",
            "read_file",
            path="src/click/termui.py",
            start_line=600,
            end_line=820,
        ),
        turn("Find echo's definition.", "search", pattern=r"def echo", path_glob="src/**"),
        turn(
            "The decorators build commands and options.",
            "read_file",
            path="src/click/decorators.py",
        ),
        edit(
            "Tighten BadParameter's summary line.",
            "src/click/exceptions.py",
            BAD_PARAMETER_DOC,
            '    """The error for a bad parameter value, with a standardized message for a\n'
            "    bad parameter.",
        ),
        turn(
            "Run the exception-related tests.",
            "run",
            command=f"{PYTEST} tests/test_basic.py tests/test_options.py",
        ),
        turn(
            "Read more of core.py, where Context and Command live.",
            "read_file",
            path="src/click/core.py",
            start_line=400,
            end_line=900,
        ),
        turn(
            "Check what an import of a missing name reports.",
            "run",
            command="python -c 'import sys; sys.path.insert(0, \"src\"); from click import nope'",
        ),
        turn(
            "The help formatter is in formatting.py.", "read_file", path="src/click/formatting.py"
        ),
        edit(
            "Fix the write() docstring's mood.",
            "src/click/formatting.py",
            WRITE_DOC,
            '        """Write a string into the internal buffer."""',
        ),
        turn("What changed so far?", "run", command="git diff --stat"),
        turn(
            "The compat layer handles streams.",
            "read_file",
            path="src/click/_compat.py",
            start_line=1,
            end_line=200,
        ),
        turn("Where is get_app_dir used?", "search", pattern="get_app_dir", path_glob="**"),
        edit(
            "Reword get_app_dir's docstring.",
            "src/click/utils.py",
            APP_DIR_DOC,
            '    r"""Return the config folder for the application.  The default behavior',
        ),
        turn(
            "The parser module for completeness.",
            "read_file",
            path="src/click/parser.py",
            start_line=1,
            end_line=300,
        ),
        turn("Run the utils tests.", "run", command=f"{PYTEST} tests/test_utils"),
        turn(
            "Re-read get_app_dir after the edit.",
            "read_file",
            path="src/click/utils.py",
            start_line=480,
            end_line=560,
        ),
        turn(
            "Run the formatting and basic tests together.",
            "run",
            command=f"{PYTEST} tests/test_basic.py tests/test_formatting.py",
        ),
        turn("Review the whole diff.", "run", command="git diff"),
        Turn([ToolUse("finish", {"summary": "Reworded four docstrings; the tests pass."})]),
    ]


@dataclass(frozen=True)
class Variant:
    """One way to run the session: the cache strategy and the context budget."""

    name: str
    cache_strategy: CacheStrategy
    context_budget: ContextBudget | None


VARIANTS = (
    Variant("before", "system_only", None),
    Variant("cache", "conversation", None),
    Variant("after", "conversation", ContextBudget()),
)


@dataclass(frozen=True)
class Figures:
    """What one session cost."""

    calls: int
    input: int
    cache_write: int
    cache_read: int
    output: int
    input_usd: float
    output_usd: float
    shortened: int
    outcome: str

    @property
    def total_usd(self) -> float:
        return self.input_usd + self.output_usd


def clone(bundle: Path, into: Path) -> Path:
    """A checkout of the bundle's default branch, with a codebase map to put in the prompt."""
    subprocess.run(
        ["git", "-c", "advice.detachedHead=false", "clone", "-q", str(bundle), str(into)],
        check=True,
    )
    return into


async def run_session(repo: Path, codebase_map: str, variant: Variant) -> Figures:
    """Play the session once against a fresh scripted model and a fresh sandbox."""
    records: list[CallRecord] = []

    async def record(call: CallRecord) -> None:
        records.append(call)

    model = ScriptedModel(
        [Script("session", session_turns())],
        config=ServerConfig(min_cacheable_tokens=MIN_CACHEABLE_TOKENS),
    )
    # The tests run with this interpreter's pytest, visible read-only inside bubblewrap.
    toolchain = (Path(sys.prefix), Path(sys.base_prefix))
    sandboxes = LocalSandboxes(
        LocalOptions(path=f"{Path(sys.executable).parent}:{DEFAULT_PATH}", read_only=toolchain)
    )
    with ServerThread(model.create_app()) as server:
        client = anthropic.AsyncAnthropic(api_key="k", base_url=server.url, max_retries=0)
        llm = LLM(client, DEFAULT_MODELS, DEFAULT_PRICES, record)
        role = default_roles()["developer"]
        async with sandboxes.open(repo) as sandbox:
            tools = ToolBox(sandbox, WriteRules(), role.tools)
            agent = AgentSession(
                model=AnthropicModel(
                    llm,
                    TIER,
                    CallContext(phase="agent", task_id=1, attempt=1, role=role.name),
                    cache_strategy=variant.cache_strategy,
                ),
                tools=tools,
                system=f"{role.system_prompt}\n\n# Codebase map\n{codebase_map}",
                limits=Limits(max_turns=40, max_dollars=100.0),
                context_budget=variant.context_budget,
            )
            outcome = await agent.run(
                "Issue #12: several docstrings in click use the third person ('Converts', "
                "'Returns', 'Writes'); reword them in the imperative mood and keep the tests "
                "passing."
            )
            if sorted(tools.written) != [
                "src/click/exceptions.py",
                "src/click/formatting.py",
                "src/click/utils.py",
            ]:
                raise SystemExit(f"the session's edits failed: {tools.written}")
        await client.close()
    price = DEFAULT_PRICES[DEFAULT_MODELS[TIER]]

    def dollars(kind: str, tokens: int) -> float:
        counts = {"input": 0, "output": 0, "cache_write": 0, "cache_read": 0, kind: tokens}
        return call_cost(price, counts)

    figures = {
        "input": sum(r.input_tokens for r in records),
        "cache_write": sum(r.cache_creation_tokens for r in records),
        "cache_read": sum(r.cache_read_tokens for r in records),
        "output": sum(r.output_tokens for r in records),
    }
    return Figures(
        calls=len(records),
        **figures,
        input_usd=sum(dollars(k, figures[k]) for k in ("input", "cache_write", "cache_read")),
        output_usd=dollars("output", figures["output"]),
        shortened=agent.shortened,
        outcome=str(outcome),
    )


def report(results: Sequence[tuple[Variant, Figures]]) -> None:
    """Print one row per variant and the before/after ratios."""
    header = (
        f"{'variant':<8} {'calls':>5} {'input':>9} {'cache_wr':>9} {'cache_rd':>10} "
        f"{'output':>7} {'input $':>9} {'output $':>9} {'total $':>9} {'shortened':>9}"
    )
    print(header)
    for variant, f in results:
        print(
            f"{variant.name:<8} {f.calls:>5} {f.input:>9,} {f.cache_write:>9,} "
            f"{f.cache_read:>10,} {f.output:>7,} {f.input_usd:>9.4f} {f.output_usd:>9.4f} "
            f"{f.total_usd:>9.4f} {f.shortened:>9}"
        )
    by_name = {variant.name: figures for variant, figures in results}
    before, after = by_name["before"], by_name["after"]
    print(
        f"\ninput dollars before/after: {before.input_usd / after.input_usd:.2f}x fewer "
        f"(${before.input_usd:.4f} -> ${after.input_usd:.4f}); total dollars "
        f"{before.total_usd / after.total_usd:.2f}x fewer"
    )
    sent_before = before.input + before.cache_write + before.cache_read
    sent_after = after.input + after.cache_write + after.cache_read
    print(f"input tokens sent: {sent_before:,} -> {sent_after:,}")


async def main(bundle: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="cost-bench-") as scratch:
        repo = clone(bundle, Path(scratch) / "click")
        codebase_map = await asyncio.to_thread(build_map, repo)
        results = []
        for variant in VARIANTS:
            figures = await run_session(repo, codebase_map, variant)
            if figures.outcome != Outcome.FINISHED or figures.calls != len(session_turns()):
                raise SystemExit(f"{variant.name}: the session ended {figures.outcome}")
            results.append((variant, figures))
        shutil.rmtree(repo, ignore_errors=True)
    print(
        f"Session: {len(session_turns())} turns on {bundle.name}, model "
        f"{DEFAULT_MODELS[TIER]} at ${DEFAULT_PRICES[DEFAULT_MODELS[TIER]].input_per_mtok}/"
        f"${DEFAULT_PRICES[DEFAULT_MODELS[TIER]].output_per_mtok} per Mtok in/out, "
        f"minimum cacheable prefix {MIN_CACHEABLE_TOKENS} tokens\n"
    )
    report(results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=BUNDLE)
    args = parser.parse_args()
    os.environ.pop("ANTHROPIC_API_KEY", None)  # the scripted server takes any key
    asyncio.run(main(args.bundle))
