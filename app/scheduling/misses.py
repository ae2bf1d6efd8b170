"""Learned misses: predicted versus actual files per PR, and the widening they suggest."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass

from app.scheduling.globs import normalize_path


@dataclass(frozen=True)
class MissRecord:
    """What a task predicted it would change and what its PR actually changed."""

    pull: int
    predicted: frozenset[str]
    actual: frozenset[str]

    @property
    def missed(self) -> frozenset[str]:
        """Return files the PR changed that the prediction did not name."""
        return self.actual - self.predicted

    @property
    def precision(self) -> float:
        """Return the share of predicted files the PR changed (1.0 for an empty prediction)."""
        return len(self.predicted & self.actual) / len(self.predicted) if self.predicted else 1.0

    @property
    def recall(self) -> float:
        """Return the share of changed files that were predicted (1.0 for an empty PR)."""
        return len(self.predicted & self.actual) / len(self.actual) if self.actual else 1.0


@dataclass(frozen=True)
class MissRules:
    """When a missed file is added to later predictions, and how much history is kept.

    `min_count`, `min_share` and `max_added` govern `suggest`; a file missed `frequent` times
    in the kept records is one `frequently_missed` reports; `capacity` bounds the records.
    """

    min_count: int = 2
    min_share: float = 0.25
    max_added: int = 5
    capacity: int = 500
    frequent: int = 3


class MissHistory:
    """The most recent `capacity` miss records, indexed by predicted file.

    A file `m` missed `k` times by predictions naming `p` (out of `n` predictions naming `p`)
    is added to later predictions naming `p` when `k >= min_count` and `k / n >= min_share`.
    """

    def __init__(self, rules: MissRules | None = None, records: Iterable[MissRecord] = ()) -> None:
        self.rules = rules or MissRules()
        self._records: deque[MissRecord] = deque()
        self._predicted: Counter[str] = Counter()
        self._missed_with: dict[str, Counter[str]] = {}
        self._missed: Counter[str] = Counter()
        for record in records:
            self.add(record)

    @property
    def records(self) -> tuple[MissRecord, ...]:
        """Return the records kept, oldest first."""
        return tuple(self._records)

    def record(self, pull: int, predicted: Iterable[str], actual: Iterable[str]) -> MissRecord:
        """Record a PR's predicted and actual files and return the record."""
        entry = MissRecord(
            pull,
            frozenset(normalize_path(path) for path in predicted),
            frozenset(normalize_path(path) for path in actual),
        )
        self.add(entry)
        return entry

    def add(self, entry: MissRecord) -> None:
        """Add a record, forgetting the oldest beyond the capacity."""
        self._records.append(entry)
        self._count(entry, 1)
        while len(self._records) > self.rules.capacity:
            self._count(self._records.popleft(), -1)

    def _count(self, entry: MissRecord, step: int) -> None:
        missed = entry.missed
        for path in entry.predicted:
            self._predicted[path] += step
            partners = self._missed_with.setdefault(path, Counter())
            for other in missed:
                partners[other] += step
        for path in missed:
            self._missed[path] += step

    def precision(self) -> float:
        """Return the share of all predicted files that PRs changed."""
        predicted = sum(len(entry.predicted) for entry in self._records)
        hits = sum(len(entry.predicted & entry.actual) for entry in self._records)
        return hits / predicted if predicted else 1.0

    def recall(self) -> float:
        """Return the share of all changed files that were predicted."""
        actual = sum(len(entry.actual) for entry in self._records)
        hits = sum(len(entry.predicted & entry.actual) for entry in self._records)
        return hits / actual if actual else 1.0

    def most_missed(self, limit: int = 10) -> list[tuple[str, int]]:
        """Return the files missed most often, with their counts."""
        counted = [(path, count) for path, count in self._missed.items() if count > 0]
        return sorted(counted, key=lambda item: (-item[1], item[0]))[:limit]

    def frequently_missed(self) -> frozenset[str]:
        """Return files missed at least `rules.frequent` times, whatever was predicted."""
        return frozenset(
            path for path, count in self._missed.items() if count >= self.rules.frequent
        )

    def suggest(self, predicted: Iterable[str]) -> frozenset[str]:
        """Return files that earlier predictions naming the same files kept missing (capped)."""
        named = frozenset(predicted)
        scores: dict[str, tuple[float, int]] = {}
        for path in sorted(named):
            times = self._predicted.get(path, 0)
            for other, count in self._missed_with.get(path, {}).items():
                share = count / times if times else 0.0
                if other in named or count < self.rules.min_count:
                    continue
                if share >= self.rules.min_share:
                    scores[other] = max(scores.get(other, (0.0, 0)), (share, count))
        ranked = sorted(scores, key=lambda other: (-scores[other][0], -scores[other][1], other))
        return frozenset(ranked[: self.rules.max_added])
