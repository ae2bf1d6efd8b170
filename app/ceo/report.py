"""What one tick did: kept for the log, the CLI, Modal's function result and the demo."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TickReport:
    """What one tick did, for the log, the CLI and the demo's progress view."""

    ran: bool
    reason: str = ""
    drained: dict[str, int] = field(default_factory=dict)
    recovered: list[tuple[int, int]] = field(default_factory=list)
    swept: dict[str, int] = field(default_factory=dict)
    sweeps_busy: list[str] = field(default_factory=list)
    caught_up: dict[str, int] = field(default_factory=dict)
    installations_changed: int = 0
    planned: list[int] = field(default_factory=list)
    plan_failures: list[int] = field(default_factory=list)
    dispatched: list[tuple[int, int]] = field(default_factory=list)
    waiting: dict[int, str] = field(default_factory=dict)
    reconciled: list[str] = field(default_factory=list)
    reviews: list[int] = field(default_factory=list)
    post_merge_checks: list[int] = field(default_factory=list)
    told: list[int] = field(default_factory=list)
    budget_stop: str | None = None
    # Repositories whose step another tick (or Modal function) was running: left to it.
    repos_busy: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, step: TickReport) -> None:
        """Fold one repository step's report into this tick's."""
        self.swept.update(step.swept)
        self.sweeps_busy += step.sweeps_busy
        self.caught_up.update(step.caught_up)
        self.planned += step.planned
        self.plan_failures += step.plan_failures
        self.dispatched += step.dispatched
        self.waiting.update(step.waiting)
        self.reconciled += step.reconciled
        self.reviews += step.reviews
        self.told += step.told
        self.budget_stop = self.budget_stop or step.budget_stop
        self.repos_busy += step.repos_busy
        self.errors += step.errors

    def describe(self) -> str:
        """One paragraph saying what the tick did."""
        if not self.ran:
            return f"tick skipped: {self.reason}"
        parts = [
            f"inbox {_counts(self.drained) or 'empty'}",
            f"swept {_counts(self.swept, 'issue') or 'nothing'}",
            f"planned {len(self.planned)}",
            f"dispatched {len(self.dispatched)}",
            f"waiting {len(self.waiting)}",
        ]
        if self.recovered:
            parts.append(f"recovered {len(self.recovered)} lost attempts")
        if self.repos_busy:
            parts.append(f"left to another step: {', '.join(self.repos_busy)}")
        if self.budget_stop:
            parts.append(self.budget_stop)
        parts += [f"error: {error}" for error in self.errors]
        return "tick: " + "; ".join(parts)


def _counts(counts: dict[str, int], noun: str = "") -> str:
    """`done 3, ignored 1` or `octo/a 2 issues, octo/b 1 issue`: readable, not a dict."""

    def one(name: str, count: int) -> str:
        unit = f" {noun}{'' if count == 1 else 's'}" if noun else ""
        return f"{name} {count}{unit}"

    return ", ".join(one(name, count) for name, count in sorted(counts.items()))
