"""Write-sets: co-change widening, learned misses, role scope, barriers, and overlap."""

from __future__ import annotations

from app.scheduling import (
    BarrierRules,
    MissHistory,
    Widening,
    build_cochange,
    claim_write_set,
    exact_write_set,
)

ROUTES_HISTORY = [
    {"app/routes.py", "tests/test_routes.py", "docs/api.md"},
    {"app/routes.py", "tests/test_routes.py", "pyproject.toml"},
    {"app/routes.py", "tests/test_routes.py", "docs/api.md", "pyproject.toml"},
    {"app/routes.py", "app/views.py"},
]


def test_prediction_alone_is_claimed_exactly() -> None:
    claim = claim_write_set(["app/routes.py"])
    assert claim.files == frozenset({"app/routes.py"})
    assert claim.widened == frozenset()
    assert not claim.runs_alone


def test_co_change_widens_by_share_and_support() -> None:
    stats = build_cochange(ROUTES_HISTORY)
    claim = claim_write_set(
        ["app/routes.py"], cochange=stats, widening=Widening(min_share=0.5, min_support=2)
    )
    # test_routes: 3 of 4 commits; docs and pyproject: 2 of 4; views: 1 commit only.
    assert claim.widened == frozenset({"tests/test_routes.py", "docs/api.md", "pyproject.toml"})
    narrower = claim_write_set(
        ["app/routes.py"], cochange=stats, widening=Widening(min_share=0.7, min_support=2)
    )
    assert narrower.widened == frozenset({"tests/test_routes.py"})


def test_widening_is_capped_keeping_the_strongest_neighbours() -> None:
    stats = build_cochange(ROUTES_HISTORY)
    claim = claim_write_set(
        ["app/routes.py"],
        cochange=stats,
        widening=Widening(min_share=0.2, min_support=1, max_added=2),
    )
    assert claim.widened == frozenset({"tests/test_routes.py", "docs/api.md"})


def test_a_barrier_neighbour_is_claimed_but_isolates_only_when_asked() -> None:
    stats = build_cochange(ROUTES_HISTORY)
    loose = Widening(min_share=0.5, min_support=2)
    claim = claim_write_set(["app/routes.py"], cochange=stats, widening=loose)
    assert "pyproject.toml" in claim.files
    assert not claim.runs_alone
    strict = Widening(min_share=0.5, min_support=2, neighbours_can_isolate=True)
    isolated = claim_write_set(["app/routes.py"], cochange=stats, widening=strict)
    assert isolated.barriers == frozenset({"pyproject.toml"})


def test_a_predicted_barrier_makes_the_task_run_alone() -> None:
    claim = claim_write_set(["app/routes.py", "poetry.lock"])
    assert claim.runs_alone
    assert claim.barriers == frozenset({"poetry.lock"})
    custom = claim_write_set(["app/routes.py"], barriers=BarrierRules(globs=("app/**",)))
    assert custom.runs_alone


def test_an_empty_prediction_runs_alone() -> None:
    assert claim_write_set([]).runs_alone


def test_role_scope_is_claimed_and_may_write_limits_widening() -> None:
    stats = build_cochange(ROUTES_HISTORY)
    claim = claim_write_set(
        ["tests/test_routes.py"],
        cochange=stats,
        widening=Widening(min_share=0.5, min_support=2),
        scope=["tests/fixtures/**"],
        may_write=["tests/**"],
    )
    assert claim.widened == frozenset()  # app/routes.py and docs are outside tests/**
    assert claim.globs == frozenset({"tests/fixtures/**"})
    other = exact_write_set(["tests/fixtures/users.json"])
    assert claim.shared_with(other) == ("tests/fixtures/users.json",)
    assert other.shared_with(claim) == ("tests/fixtures/users.json",)


def test_learned_misses_widen_later_predictions_and_their_neighbours() -> None:
    misses = MissHistory()
    for pull in (1, 2):
        misses.record(pull, ["app/routes.py"], ["app/routes.py", "app/schemas.py"])
    stats = build_cochange([{"app/schemas.py", "tests/test_schemas.py"}] * 3)
    claim = claim_write_set(["app/routes.py"], cochange=stats, misses=misses)
    assert claim.widened == frozenset({"app/schemas.py", "tests/test_schemas.py"})
    assert claim.predicted == frozenset({"app/routes.py"})


def test_frequently_missed_neighbours_are_claimed_from_a_lower_share() -> None:
    stats = build_cochange([{"app/a.py", "CHANGELOG.md"}] * 3 + [{"app/a.py"}] * 7)
    misses = MissHistory()
    for pull in range(3):
        misses.record(pull, [f"app/other{pull}.py"], [f"app/other{pull}.py", "CHANGELOG.md"])
    default = claim_write_set(["app/a.py"], cochange=stats, misses=misses)
    assert default.widened == frozenset()
    cautious = Widening(missed_share=0.3)
    claim = claim_write_set(["app/a.py"], cochange=stats, misses=misses, widening=cautious)
    assert claim.widened == frozenset({"CHANGELOG.md"})
    # Without the misses, the same low share is not enough.
    assert claim_write_set(["app/a.py"], cochange=stats, widening=cautious).widened == frozenset()
