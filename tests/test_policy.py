"""`.townhall.toml`: documented defaults, overrides, and errors that name the key."""

from __future__ import annotations

import pytest

from app.policy import Policy, PolicyError, ReviewPolicy, RubricItem, parse_policy
from app.roles import default_roles


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
