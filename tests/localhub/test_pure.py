"""The I/O-free parts: diff parsing and line mapping, GraphQL cost analysis, the JSON codec."""

from __future__ import annotations

from datetime import UTC, datetime

from graphql import parse

from app.standins.localhub.codec import from_jsonable, to_jsonable
from app.standins.localhub.diff import (
    diff_hunk_for,
    line_in_diff,
    line_to_position,
    parse_diff,
    position_to_line,
)
from app.standins.localhub.faults import FaultInjector
from app.standins.localhub.graphql_cost import analyse
from app.standins.localhub.graphql_schema import schema
from app.standins.localhub.models import HubData, Issue, Repo, User

DIFF = """\
diff --git a/app.py b/app.py
index 1111111111111111111111111111111111111111..2222222222222222222222222222222222222222 100644
--- a/app.py
+++ b/app.py
@@ -1,4 +1,4 @@
 one
-two
+TWO
 three
 four
@@ -10,2 +10,3 @@ def tail():
 ten
+ten and a half
 eleven
diff --git a/new.txt b/new.txt
new file mode 100644
index 0000000000000000000000000000000000000000..3333333333333333333333333333333333333333
--- /dev/null
+++ b/new.txt
@@ -0,0 +1 @@
+hello
"""


def test_parse_diff_reads_files_statuses_and_counts() -> None:
    app, new = parse_diff(DIFF)
    assert (app.filename, app.status, app.additions, app.deletions) == ("app.py", "modified", 2, 1)
    assert app.blob_sha == "2" * 40 and len(app.hunks) == 2
    assert (new.filename, new.status, new.additions) == ("new.txt", "added", 1)
    assert new.patch == "@@ -0,0 +1 @@\n+hello"


def test_review_lines_must_fall_inside_hunks() -> None:
    app, _ = parse_diff(DIFF)
    assert line_in_diff(app, 2, "RIGHT") and line_in_diff(app, 11, "RIGHT")
    assert not line_in_diff(app, 7, "RIGHT") and not line_in_diff(app, 13, "RIGHT")
    assert line_in_diff(app, 2, "LEFT") and not line_in_diff(app, 12, "LEFT")
    assert diff_hunk_for(app, 2, "RIGHT").splitlines()[-1] == "+TWO"
    assert diff_hunk_for(app, 2, "LEFT").splitlines()[-1] == "-two"


def test_positions_and_lines_map_both_ways() -> None:
    app, _ = parse_diff(DIFF)
    # Positions count lines after the first @@; later @@ headers take a position too.
    assert position_to_line(app, 2) == (2, "LEFT")
    assert position_to_line(app, 3) == (2, "RIGHT")
    assert position_to_line(app, 8) == (11, "RIGHT")
    assert position_to_line(app, 99) is None
    for position in range(1, 10):
        mapped = position_to_line(app, position)
        if mapped is not None:
            assert line_to_position(app, *mapped) == position


def _cost(query: str, variables: dict[str, object] | None = None) -> tuple[int, list[str]]:
    document = parse(query)
    operation = document.definitions[0]
    report = analyse(schema(), document, operation, variables or {})  # type: ignore[arg-type]
    return report.cost, [e["type"] for e in report.errors]


def test_graphql_cost_multiplies_nested_connections() -> None:
    assert _cost('{ repository(owner: "o", name: "r") { name } }') == (1, [])
    nested = """query($n: Int) { repository(owner: "o", name: "r") {
      issues(first: $n) { nodes { reactions(first: 50) { totalCount }
                                  labels(first: 10) { totalCount } } } } }"""
    # 1 + 100 + 100 requests for first: 100 → 2; for first: 20 → 41 requests → 1 (minimum).
    assert _cost(nested, {"n": 100}) == (2, [])
    assert _cost(nested, {"n": 20}) == (1, [])
    assert _cost(nested.replace("$n: Int", "$n: Int = 100")) == (2, [])
    fragment = """query { repository(owner: "o", name: "r") { ...F } }
      fragment F on Repository { issues(last: 100) { nodes { reactions(first: 100) {
        nodes { content } } comments(first: 100) { totalCount } } } }"""
    assert _cost(fragment) == (2, [])


def test_graphql_limits_are_reported_before_execution() -> None:
    assert _cost('{ repository(owner: "o", name: "r") { issues(first: 101) { totalCount } } }')[
        1
    ] == ["EXCESSIVE_PAGINATION"]
    assert _cost('{ repository(owner: "o", name: "r") { issues { totalCount } } }')[1] == [
        "MISSING_PAGINATION_BOUNDARIES"
    ]


def test_codec_round_trips_hub_data() -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    repo = Repo(7, "octo", "demo", "main", False, moment, moment, moment)
    repo.issues[1] = Issue(9, 1, "t", None, "alice", "open", moment, moment, labels=["x"])
    data = HubData(users={"alice": User(3, "alice", "User", moment)}, repos={7: repo})
    restored = from_jsonable(HubData, to_jsonable(data))
    assert restored == data
    assert restored.repos[7].issues[1].created_at == moment


def test_fault_rules_match_globs_or_templates_and_run_out() -> None:
    faults = FaultInjector()
    faults.add("/repos/*/issues*", "error", 1, method="GET", status=502)
    faults.add("/graphql", "delay", 2, delay=0.1)
    assert faults.take("POST", "/repos/o/r/issues", "/repos/{owner}/{repo}/issues") is None
    hit = faults.take("GET", "/repos/o/r/issues", "/repos/{owner}/{repo}/issues")
    assert hit is not None and hit.as_error(0.0).status == 502
    assert faults.take("GET", "/repos/o/r/issues", "/repos/{owner}/{repo}/issues") is None
    assert faults.take("POST", "/graphql", "/graphql") is not None
