"""How numbers and times read on the page and in the terminal (pure formatting)."""

from __future__ import annotations

from datetime import datetime

NOTHING = "–"


def duration(seconds: float | None) -> str:
    """Format seconds as the two largest units: `45s`, `12m 5s`, `3h 20m`, `2d 4h`."""
    if seconds is None:
        return NOTHING
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def money(dollars: float | None) -> str:
    """Format dollars with cents (tenths of a cent below one cent, so tiny spend shows)."""
    if dollars is None:
        return NOTHING
    if 0 < abs(dollars) < 0.01:
        return f"${dollars:.4f}"
    return f"${dollars:,.2f}"


def percent(fraction: float | None) -> str:
    """Format a fraction as a whole percentage."""
    return NOTHING if fraction is None else f"{fraction * 100:.0f}%"


def when(moment: datetime | None) -> str:
    """Format a time in UTC to the minute."""
    return NOTHING if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def stamp(moment: datetime | None) -> str:
    """Format a time compactly to the second, for history rows (UTC, no year)."""
    return NOTHING if moment is None else moment.strftime("%m-%d %H:%M:%S")


def ago(moment: datetime | None, now: datetime) -> str:
    """Format how long ago `moment` was."""
    if moment is None:
        return "never"
    return f"{duration(max((now - moment).total_seconds(), 0.0))} ago"


def time_left(seconds: float | None) -> str:
    """Format the time left in a voting window."""
    if seconds is None:
        return NOTHING
    return "closed" if seconds <= 0 else f"{duration(seconds)} left"


def tokens(count: int) -> str:
    """Format a token count compactly: 950, 12.3k, 4.5M."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 error`, `2 errors` (`many` for irregular plurals: `1 entry`, `2 entries`)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def voting(seconds_left: float | None, decision: str) -> str:
    """The voting window beside the decision: an ended window says whether it was decided.

    "closed" beside "pending" read as a contradiction: the window is over, the count is not
    (too few votes so far, a maintainer to act, or a sweep still to run).
    """
    if seconds_left is None:
        return NOTHING
    if seconds_left > 0:
        return f"{duration(seconds_left)} left"
    return "ended, not decided" if decision == "pending" else "ended"


def issue_url(web_url: str, repo: str, number: int) -> str:
    """The issue's page on GitHub (GitHub redirects to the PR when `number` is one)."""
    return f"{web_url.rstrip('/')}/{repo}/issues/{number}"


def pull_url(web_url: str, repo: str, number: int) -> str:
    """The pull request's page on GitHub."""
    return f"{web_url.rstrip('/')}/{repo}/pull/{number}"


def repo_url(web_url: str, repo: str) -> str:
    """The repository's page on GitHub."""
    return f"{web_url.rstrip('/')}/{repo}"
