"""README.md stays true to the code: every setting, policy key and command is documented."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from app import settings
from app.cli import build_parser
from app.policy import Policy, ReviewPolicy, RubricItem
from app.roles import Role

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_environment_variable_is_documented() -> None:
    source = Path(settings.__file__).read_text(encoding="utf-8")
    names = set(re.findall(r'"((?:TOWNHALL|ANTHROPIC)_[A-Z_]+)"', source))
    names |= {f"TOWNHALL_MODEL_{tier.upper()}" for tier in settings.TIERS}
    missing = sorted(
        name for name in names if name not in README and f"`{name.rsplit('_', 1)[-1]}" not in README
    )
    assert missing == []


def _policy_block() -> str:
    match = re.search(r"### Repository policy.*?```toml\n(.*?)```", README, re.S)
    assert match, "README has no repository policy example"
    return match.group(1)


def test_every_policy_key_is_in_the_example() -> None:
    block = _policy_block()
    sections = {f.name: f.default_factory() for f in fields(Policy) if f.name != "roles"}  # type: ignore[misc]
    for name, section in sections.items():
        assert f"[{name}]" in block, name
        for field in fields(section):
            if (name, field.name) == ("review", "criteria"):
                assert "[[review.criteria]]" in block  # an array of tables, not a key
                continue
            assert re.search(rf"^{field.name} = ", block, re.M), f"{name}.{field.name}"
    for field in fields(Role):
        if field.name not in {"name"}:
            assert re.search(rf"^{field.name} = ", block, re.M), f"roles.*.{field.name}"
    for field in fields(RubricItem):
        assert re.search(rf"^{field.name} = ", block, re.M), f"review.criteria.{field.name}"
    assert {f.name for f in fields(ReviewPolicy)} >= {"criteria", "extend", "context_tokens"}


def test_every_command_is_in_the_commands_table() -> None:
    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert choices is not None
    missing = sorted(name for name in choices if f"`townhall {name}" not in README)
    assert missing == []


def test_the_quickstart_has_exactly_two_commands() -> None:
    block = re.search(r"## Quickstart\n\n```\n(.*?)```", README, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[0].endswith("townhall demo")
    assert "pytest" in commands[1]
