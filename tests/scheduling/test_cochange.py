"""Co-change statistics: shares, support, neighbours, and huge commits left out."""

from __future__ import annotations

from app.scheduling import build_cochange

HISTORY = [
    {"app/routes.py", "tests/test_routes.py"},
    {"app/routes.py", "tests/test_routes.py"},
    {"app/routes.py", "tests/test_routes.py", "docs/api.md"},
    {"app/routes.py"},
    {"docs/api.md"},
]


def test_share_is_per_source_file() -> None:
    stats = build_cochange(HISTORY)
    assert stats.commits == 5
    assert stats.share("app/routes.py", "tests/test_routes.py") == 0.75
    assert stats.share("tests/test_routes.py", "app/routes.py") == 1.0
    assert stats.share("app/routes.py", "docs/api.md") == 0.25
    assert stats.share("unknown.py", "app/routes.py") == 0.0


def test_neighbours_need_both_share_and_support() -> None:
    stats = build_cochange(HISTORY)
    found = stats.neighbours("app/routes.py", min_share=0.2, min_support=1)
    assert [(n.path, n.share, n.support) for n in found] == [
        ("tests/test_routes.py", 0.75, 3),
        ("docs/api.md", 0.25, 1),
    ]
    assert [n.path for n in stats.neighbours("app/routes.py", min_share=0.2, min_support=2)] == [
        "tests/test_routes.py"
    ]
    assert stats.neighbours("app/routes.py", min_share=0.8, min_support=1) == []


def test_huge_commits_are_skipped() -> None:
    reformat = {f"app/module{n}.py" for n in range(60)} | {"app/routes.py"}
    stats = build_cochange([*HISTORY, reformat], max_files=50)
    assert stats.commits == 5
    assert stats.share("app/routes.py", "app/module1.py") == 0.0
