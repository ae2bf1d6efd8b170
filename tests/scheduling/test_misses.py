"""Miss history: predicted versus actual files per PR, precision, recall and suggestions."""

from __future__ import annotations

from app.scheduling import MissHistory, MissRules


def test_a_record_knows_its_misses_precision_and_recall() -> None:
    record = MissHistory().record(7, ["a.py", "b.py"], ["a.py", "c.py", "d.py"])
    assert record.missed == frozenset({"c.py", "d.py"})
    assert record.precision == 0.5
    assert record.recall == 1 / 3


def test_precision_and_recall_over_all_records() -> None:
    history = MissHistory()
    history.record(1, ["a.py", "b.py"], ["a.py"])
    history.record(2, ["c.py"], ["c.py", "d.py", "e.py"])
    assert history.precision() == 2 / 3
    assert history.recall() == 2 / 4
    assert MissHistory().precision() == MissHistory().recall() == 1.0


def test_repeated_misses_are_suggested_for_similar_predictions() -> None:
    history = MissHistory(MissRules(min_count=2, min_share=0.5))
    history.record(1, ["app/routes.py"], ["app/routes.py", "app/schemas.py"])
    assert history.suggest(["app/routes.py"]) == frozenset()  # once is not a pattern
    history.record(2, ["app/routes.py", "app/x.py"], ["app/routes.py", "app/schemas.py"])
    assert history.suggest(["app/routes.py"]) == frozenset({"app/schemas.py"})
    assert history.suggest(["app/models.py"]) == frozenset()


def test_a_miss_rare_for_its_predicted_file_is_not_suggested() -> None:
    history = MissHistory(MissRules(min_count=2, min_share=0.5))
    for pull in range(2):
        history.record(pull, ["app/routes.py"], ["app/routes.py", "app/schemas.py"])
    for pull in range(2, 6):
        history.record(pull, ["app/routes.py"], ["app/routes.py"])
    assert history.suggest(["app/routes.py"]) == frozenset()  # 2 misses in 6 predictions


def test_suggestions_are_capped_strongest_first() -> None:
    history = MissHistory(MissRules(min_count=1, min_share=0.1, max_added=1))
    history.record(1, ["a.py"], ["a.py", "b.py", "c.py"])
    history.record(2, ["a.py"], ["a.py", "c.py"])
    assert history.suggest(["a.py"]) == frozenset({"c.py"})


def test_old_records_are_forgotten_beyond_capacity() -> None:
    history = MissHistory(MissRules(min_count=2, min_share=0.5, capacity=3))
    for pull in range(2):
        history.record(pull, ["a.py"], ["a.py", "b.py"])
    assert history.suggest(["a.py"]) == frozenset({"b.py"})
    for pull in range(2, 5):
        history.record(pull, ["a.py"], ["a.py"])
    assert len(history.records) == 3
    assert history.suggest(["a.py"]) == frozenset()
    assert history.most_missed() == []


def test_most_and_frequently_missed_files() -> None:
    history = MissHistory(MissRules(frequent=2))
    history.record(1, ["a.py"], ["a.py", "CHANGELOG.md", "b.py"])
    history.record(2, ["c.py"], ["c.py", "CHANGELOG.md"])
    assert history.most_missed() == [("CHANGELOG.md", 2), ("b.py", 1)]
    assert history.frequently_missed() == frozenset({"CHANGELOG.md"})
    rebuilt = MissHistory(MissRules(frequent=2), history.records)
    assert rebuilt.most_missed() == history.most_missed()
