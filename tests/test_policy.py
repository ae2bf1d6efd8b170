"""`.townhall.toml`: documented defaults, overrides, and errors that name the key."""

from __future__ import annotations

import pytest

from app.policy import (
    Policy,
    PolicyError,
    ReviewPolicy,
    RubricItem,
    SandboxPolicy,
    parse_policy,
)
from app.roles import default_roles
from app.sandbox.env import sandbox_env


def test_empty_file_gives_the_documented_defaults() -> None:
    policy = parse_policy("")
    assert policy == Policy()
    assert policy.votes.threshold == 3.0
    assert policy.votes.min_account_age_days == 30.0
    assert policy.merge.mode == "auto"
    assert set(policy.roles) >= {"developer", "test-writer", "docs-writer"}


def test_values_override_defaults() -> None:
    policy = parse_policy(
        """
        [votes]
        threshold = 10
        count_author = true
        up = ["+1", "heart"]
        [commands]
        test = "pytest -q"
        [paths]
        barriers = ["pyproject.toml"]
        [limits]
        max_parallel = 1
        [merge]
        mode = "maintainer"
        [roles.developer]
        tier = "deep"
        [roles.security]
        system_prompt = "You audit code."
        writes = ["src/**"]
        """
    )
    assert policy.votes.threshold == 10.0
    assert policy.votes.count_author is True
    assert policy.votes.up == ("+1", "heart")
    assert policy.commands.test == "pytest -q"
    assert policy.paths.barriers == ("pyproject.toml",)
    assert policy.limits.max_parallel == 1
    assert policy.merge.mode == "maintainer"
    assert policy.roles["developer"].tier == "deep"
    assert policy.roles["developer"].system_prompt == default_roles()["developer"].system_prompt
    assert policy.roles["security"].writes == ("src/**",)


def test_unknown_keys_and_wrong_types_are_all_named() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(
            """
            colour = "blue"
            [votes]
            threshold = "five"
            treshold = 3
            count_author = 1
            [limits]
            max_parallel = 0
            [merge]
            mode = "yolo"
            [roles.newbie]
            tier = "standard"
            """
        )
    problems = caught.value.problems
    joined = "\n".join(problems)
    assert "colour: unknown section" in joined
    assert "votes.threshold: expected a number, got string" in joined
    assert "votes.treshold: unknown key" in joined
    assert "votes.count_author: expected a boolean, got integer" in joined
    assert "limits.max_parallel: must be at least 1" in joined
    assert "merge.mode: expected one of auto, maintainer" in joined
    assert "roles.newbie.system_prompt: required" in joined
    assert len(problems) == 7


def test_invalid_toml_is_reported() -> None:
    with pytest.raises(PolicyError, match="not valid TOML"):
        parse_policy("[votes\nthreshold = 1")


def test_integer_field_rejects_fraction() -> None:
    with pytest.raises(PolicyError, match=r"limits\.max_attempts: expected an integer"):
        parse_policy("[limits]\nmax_attempts = 2.5")


def test_review_section_replaces_or_extends_the_rubric() -> None:
    policy = parse_policy(
        """
        [review]
        extend = true
        context_tokens = 20000
        [[review.criteria]]
        id = "has-tests"
        question = "  Does the change come with tests?  "
        blocking = true
        [[review.criteria]]
        id = "changelog"
        question = "Is the changelog updated?"
        """
    )
    assert policy.review == ReviewPolicy(
        criteria=(
            RubricItem("has-tests", "Does the change come with tests?", True),
            RubricItem("changelog", "Is the changelog updated?", False),
        ),
        extend=True,
        context_tokens=20000,
    )
    assert parse_policy("").review == ReviewPolicy()


def test_bad_review_criteria_are_all_named() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(
            """
            [review]
            context_tokens = 0
            colour = "red"
            [[review.criteria]]
            id = "Bad Id"
            question = ""
            blocking = "yes"
            [[review.criteria]]
            id = "dup"
            question = "One?"
            [[review.criteria]]
            id = "dup"
            question = "Two?"
            weight = 3
            """
        )
    problems = "\n".join(caught.value.problems)
    assert "review.context_tokens: must be at least 1" in problems
    assert "review.colour: unknown key" in problems
    assert "review.criteria[0].id" in problems
    assert "review.criteria[0].question" in problems
    assert "review.criteria[0].blocking: expected a boolean" in problems
    assert "review.criteria[2]: unknown keys weight" in problems
    # The entry with an unknown key is dropped, so only a valid duplicate would be reported.
    assert "used more than once" not in problems


def test_review_criteria_ids_are_unique_and_not_empty() -> None:
    with pytest.raises(PolicyError) as duplicate:
        parse_policy(
            '[[review.criteria]]\nid = "a"\nquestion = "A?"\n'
            '[[review.criteria]]\nid = "a"\nquestion = "Again?"\n'
        )
    assert duplicate.value.problems == ["review.criteria: id 'a' is used more than once"]
    with pytest.raises(PolicyError) as empty:
        parse_policy("[review]\ncriteria = []\n")
    assert "at least one criterion" in empty.value.problems[0]
    with pytest.raises(PolicyError) as not_tables:
        parse_policy('[review]\ncriteria = "all"\n')
    assert "expected an array of tables" in not_tables.value.problems[0]


def test_sandbox_section_defaults_and_values() -> None:
    assert parse_policy("").sandbox == SandboxPolicy()
    sandbox = parse_policy(
        """
        [sandbox]
        image = "ghcr.io/example/ci:2024"
        python = "3.12"
        node = "20"
        system_packages = ["libportaudio2", "ffmpeg=7:5.1.6-0+deb12u1"]
        package_manager = "uv"
        setup = ["uv sync --frozen"]
        domains = ["downloads.example.com", "*.example.org"]
        command_timeout_seconds = 300
        cpu = 0.5
        memory_mb = 2048
        analysers = ["ruff"]
        detect = false
        [sandbox.env]
        OPENAI_API_KEY = "dummy"
        DJANGO_SETTINGS_MODULE = "site.settings"
        """
    ).sandbox
    assert sandbox == SandboxPolicy(
        image="ghcr.io/example/ci:2024",
        python="3.12",
        node="20",
        system_packages=("libportaudio2", "ffmpeg=7:5.1.6-0+deb12u1"),
        package_manager="uv",
        setup=("uv sync --frozen",),
        # A credential-like name with a placeholder leaks nothing: the repository declares it.
        env=(("OPENAI_API_KEY", "dummy"), ("DJANGO_SETTINGS_MODULE", "site.settings")),
        domains=("downloads.example.com", "*.example.org"),
        command_timeout_seconds=300.0,
        cpu=0.5,
        memory_mb=2048,
        analysers=("ruff",),
        detect=False,
    )


def test_bad_sandbox_values_are_all_named() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(
            """
            [sandbox]
            image = "python 3"
            python = "latest"
            node = 20
            system_packages = ["libfoo; rm -rf /"]
            package_manager = "cargo"
            setup = "make"
            domains = ["https://example.com/path"]
            command_timeout_seconds = 0
            cpu = -1
            memory_mb = 1.5
            colour = "red"
            analysers = ["ruff", "pylint"]
            detect = "no"
            [sandbox.env]
            GITHUB_TOKEN = "placeholder"
            SERVICE_URL = "https://user:hunter2@example.com/"
            RANDOM_SEED = "Zk3x9QpL2mN8vR4tY7wB1cD5fG6hJ0aS"
            PATH = "/opt/bin"
            https_proxy = "http://elsewhere:3128"
            RETRIES = 3
            "1BAD" = "x"
            """
        )
    problems = "\n".join(caught.value.problems)
    expected = [
        "sandbox.image: expected a registry reference",
        "sandbox.python: expected a Python version",
        "sandbox.node: expected a string, got integer",
        "sandbox.system_packages: expected Debian package names",
        'sandbox.package_manager: expected one of "", pip, uv, poetry, npm, pnpm, yarn',
        "sandbox.setup: expected an array of strings",
        "sandbox.domains: expected host names",
        "sandbox.command_timeout_seconds: must be > 0",
        "sandbox.cpu: must be > 0",
        "sandbox.memory_mb: expected an integer",
        "sandbox.colour: unknown key",
        "sandbox.analysers: unknown pylint (known: ruff, mypy, pytest, tsc, eslint)",
        "sandbox.detect: expected a boolean, got string",
        "sandbox.env.GITHUB_TOKEN: names in the families",
        "sandbox.env.SERVICE_URL: the value looks like a real credential",
        "sandbox.env.RANDOM_SEED: the value looks like a real credential",
        "sandbox.env.PATH: set by the sandbox itself",
        "sandbox.env.https_proxy: set by the sandbox itself",
        "sandbox.env.RETRIES: expected a string, got integer",
        "sandbox.env.1BAD: not a valid variable name",
    ]
    for line in expected:
        assert line in problems
    assert len(caught.value.problems) == len(expected)


def test_sandbox_must_be_tables() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy('sandbox = "big"\n')
    assert caught.value.problems == ["sandbox: expected a table, got string"]
    with pytest.raises(PolicyError) as env:
        parse_policy('[sandbox]\nenv = ["A=1"]\n')
    assert env.value.problems == ["sandbox.env: expected a table, got array"]


def test_the_sandbox_applies_the_same_rule_to_declared_variables() -> None:
    env = sandbox_env(home="/h", tmpdir="/t", declared=(("OPENAI_API_KEY", "dummy"),))
    assert env["OPENAI_API_KEY"] == "dummy"
    # The operator's side stays strict: the same name from `extra` is refused.
    with pytest.raises(ValueError, match="looks like a secret"):
        sandbox_env(home="/h", tmpdir="/t", extra={"OPENAI_API_KEY": "dummy"})
    with pytest.raises(ValueError, match="GITHUB_TOKEN may not enter a sandbox"):
        sandbox_env(home="/h", tmpdir="/t", declared=(("GITHUB_TOKEN", "x"),))
    with pytest.raises(ValueError, match="HOME is set by the sandbox"):
        sandbox_env(home="/h", tmpdir="/t", declared=(("HOME", "/root"),))
