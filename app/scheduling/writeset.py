"""Write-sets: the files a task claims, widened beyond its prediction, and overlap between them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from app.scheduling.barriers import BarrierRules
from app.scheduling.cochange import CoChange
from app.scheduling.globs import glob_matches, globs_may_overlap, normalize_path
from app.scheduling.misses import MissHistory


@dataclass(frozen=True)
class Widening:
    """How far co-change widens a prediction: neighbour share, support, and a cap."""

    min_share: float = 0.5
    min_support: int = 3
    max_added: int = 10
    # Neighbours PRs keep missing are claimed from this share; below `min_share` it trades
    # parallelism for fewer conflicts (bench/scheduler_bench.py measures both), so off by default.
    missed_share: float = 0.5
    # Off: a barrier only guessed from co-change is claimed like any file, not run alone for.
    neighbours_can_isolate: bool = False


@dataclass(frozen=True)
class WriteSet:
    """The files (and role-scope globs) a task claims; `barriers` are those forcing it alone."""

    predicted: frozenset[str]
    files: frozenset[str]
    globs: frozenset[str] = field(default_factory=frozenset)
    barriers: frozenset[str] = field(default_factory=frozenset)

    @property
    def widened(self) -> frozenset[str]:
        """Return the claimed files beyond the prediction."""
        return self.files - self.predicted

    @property
    def runs_alone(self) -> bool:
        """Return whether the task must run with nothing else running.

        An empty claim counts: a task that names no files could touch any of them.
        """
        return bool(self.barriers) or not (self.files or self.globs)

    def shared_files(self, files: Iterable[str]) -> tuple[str, ...]:
        """Return the given files this claim covers, sorted."""
        return tuple(
            sorted(
                path
                for path in files
                if path in self.files or any(glob_matches(glob, path) for glob in self.globs)
            )
        )

    def shared_with(self, other: WriteSet) -> tuple[str, ...]:
        """Return what two claims have in common: shared files, or globs that may overlap."""
        shared = set(self.files & other.files)
        if self.globs:
            shared.update(self.shared_files(other.files))
        if other.globs:
            shared.update(other.shared_files(self.files))
        for mine in self.globs:
            shared.update(theirs for theirs in other.globs if globs_may_overlap(mine, theirs))
        return tuple(sorted(shared))


def exact_write_set(files: Iterable[str], barriers: BarrierRules | None = None) -> WriteSet:
    """Return a claim of exactly `files`, with barrier hits under `barriers` (default rules)."""
    claimed = frozenset(normalize_path(path) for path in files)
    rules = barriers if barriers is not None else BarrierRules()
    return WriteSet(predicted=claimed, files=claimed, barriers=rules.hits(claimed))


def _neighbours(
    base: frozenset[str],
    cochange: CoChange,
    widening: Widening,
    missed: frozenset[str],
    may_write: Sequence[str] | None,
) -> list[str]:
    lowest = min(widening.min_share, widening.missed_share) if missed else widening.min_share
    best: dict[str, tuple[float, int]] = {}
    for source in sorted(base):
        for found in cochange.neighbours(
            source, min_share=lowest, min_support=widening.min_support
        ):
            if found.path in base:
                continue
            if found.share < widening.min_share and found.path not in missed:
                continue
            # A worker cannot write outside its role's globs, so claiming there only costs.
            if may_write is not None and not any(glob_matches(g, found.path) for g in may_write):
                continue
            best[found.path] = max(best.get(found.path, (0.0, 0)), (found.share, found.support))
    ranked = sorted(best, key=lambda path: (-best[path][0], -best[path][1], path))
    return ranked[: widening.max_added]


def claim_write_set(
    predicted: Iterable[str],
    *,
    cochange: CoChange | None = None,
    widening: Widening | None = None,
    misses: MissHistory | None = None,
    scope: Sequence[str] = (),
    may_write: Sequence[str] | None = None,
    barriers: BarrierRules | None = None,
) -> WriteSet:
    """Return a task's claim: predicted files, learned misses, co-change neighbours, scope.

    `misses` adds files earlier predictions naming the same files kept missing; co-change then
    widens the prediction and those learned files alike, down to `widening.missed_share` for
    neighbours that PRs often missed. `scope` globs are claimed whole (a role confined to,
    say, `migrations/**`); `may_write` (a role's writable globs) limits co-change widening.
    Barriers are looked for in the prediction, the learned misses and the scope, and in
    co-change neighbours only if `widening.neighbours_can_isolate`.
    """
    named = frozenset(normalize_path(path) for path in predicted)
    base = named | (misses.suggest(named) if misses is not None else frozenset())
    settings = widening or Widening()
    missed = misses.frequently_missed() if misses is not None else frozenset()
    added = frozenset(_neighbours(base, cochange, settings, missed, may_write) if cochange else ())
    globs = frozenset(normalize_path(glob) for glob in scope)
    rules = barriers if barriers is not None else BarrierRules()
    isolating = base | added if settings.neighbours_can_isolate else base
    return WriteSet(named, base | added, globs, rules.hits(isolating, globs))
