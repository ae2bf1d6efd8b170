"""Co-change statistics: how often a commit touching one file also touches another."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations


@dataclass(frozen=True)
class Neighbour:
    """A file that tends to change with another: `share` of its commits, `support` in all."""

    path: str
    share: float
    support: int


@dataclass(frozen=True)
class CoChange:
    """Commit counts per file and per pair of files, over a window of history."""

    commits: int = 0
    file_commits: Mapping[str, int] = field(default_factory=dict)
    pair_commits: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def share(self, source: str, other: str) -> float:
        """Return the share of commits touching `source` that also touch `other`."""
        touching = self.file_commits.get(source, 0)
        if touching == 0:
            return 0.0
        return self.pair_commits.get(source, {}).get(other, 0) / touching

    def neighbours(self, source: str, *, min_share: float, min_support: int) -> list[Neighbour]:
        """Return files changing with `source` often enough, strongest first."""
        touching = self.file_commits.get(source, 0)
        found = [
            Neighbour(other, together / touching, together)
            for other, together in self.pair_commits.get(source, {}).items()
            if together >= min_support and together / touching >= min_share
        ]
        return sorted(found, key=lambda item: (-item.share, -item.support, item.path))


def build_cochange(commits: Iterable[Collection[str]], *, max_files: int = 50) -> CoChange:
    """Count files and file pairs over `commits`, each given as the set of files it touched.

    Commits touching more than `max_files` files are skipped: a mass reformat would make every
    file a neighbour of every other, and its pairs grow with the square of its size.
    """
    total = 0
    per_file: Counter[str] = Counter()
    per_pair: dict[str, Counter[str]] = {}
    for files in commits:
        unique = sorted(set(files))
        if not unique or len(unique) > max_files:
            continue
        total += 1
        per_file.update(unique)
        for left, right in combinations(unique, 2):
            per_pair.setdefault(left, Counter())[right] += 1
            per_pair.setdefault(right, Counter())[left] += 1
    return CoChange(
        commits=total,
        file_commits=dict(per_file),
        pair_commits={path: dict(partners) for path, partners in per_pair.items()},
    )
