"""Every sentence the vote rules and the tally comment show people, kept as data."""

from __future__ import annotations

# Why a vote did not count (or how it counted).
BOTH_WAYS = "reacted both for and against: counts as neither"
APP_ITSELF = "Townhall itself"
BOT = "bot account"
UNKNOWN_ACCOUNT = "deleted or unknown account"
AUTHOR = "issue author (count_author is off)"
AGE_UNKNOWN = "account age unknown"
TOO_YOUNG = "account {age:g} days old (minimum {minimum:g})"
COUNTED = "counted"
MAINTAINER_WEIGHT = "maintainer, weight {weight:g}"
CONTRIBUTOR_WEIGHT = "past contributor, weight {weight:g}"
DECAYED = "decayed to {factor:.0%} (half-life {half_life:g} days)"

# Why a maintainer signal did or did not take effect.
SIGNAL_BY_BOT = "bots cannot approve or veto"
SIGNAL_NOT_MAINTAINER = "not a maintainer (needs write access)"
SIGNAL_LATEST = "the latest maintainer signal"
SIGNAL_SUPERSEDED = "superseded by a later signal"

# Why the issue stands where it does.
VETOED = "vetoed by {login} ({source}) on {at}"
MAINTAINER_APPROVED = "approved by {login} ({source}) on {at}"
STILL_APPROVED = "approved earlier; stays approved unless vetoed or voted down"
VOTES_PASSED = "net score {score:g} reached the threshold {threshold:g}"
VOTES_FAILED = "net score {score:g} reached -{threshold:g}"
NEEDS_MAINTAINER = "votes reached the threshold; waiting for a maintainer's approval"
WINDOW_OPEN = "voting window open until {ends}"
SCORE_SHORT = "net score {score:g} of {threshold:g} needed"
HELD = (
    "title or body changed after approval (noticed {since}); approval must be confirmed:"
    " a maintainer approves again{or_votes}"
)
HELD_OR_VOTES = ", or votes cast since then reach the threshold"
REAPPROVED = "re-approved by {login} ({source}) after the text changed"
REVOTED = "votes cast after the text changed reached the threshold ({score:g})"

# The tally comment. The marker lets Townhall find its comment again after a crash.
TALLY_MARKER = "<!-- townhall:tally -->"
TALLY_TITLE = "### Townhall vote tally"
TALLY_STATUS = "**Status: {outcome}** ({reasons})"
TALLY_SCORE = "Net score **{score:g}**, threshold {threshold:g}. {window}"
TALLY_WINDOW_OPEN = "Voting window open until {ends}."
TALLY_WINDOW_CLOSED = "Voting window closed {ends}."
TALLY_HELD_NOTE = (
    "> **Held:** the title or body changed after approval. Work on this issue is paused until"
    " approval is confirmed again: Townhall plans and starts nothing for it, publishes no"
    " attempt and merges no pull request. Work goes on if the approved text is restored; once"
    " the new text is approved, the work starts again from it."
)
TALLY_COUNTED_HEADER = "**Counted votes**\n\n| voter | vote | counts as |\n| --- | --- | --- |"
TALLY_COUNTED_ROW = "| `{login}` | {vote} | {weight} |"
TALLY_EXCLUDED_HEADER = "**Not counted**\n\n| voter | vote | why |\n| --- | --- | --- |"
TALLY_EXCLUDED_ROW = "| `{login}` | {vote} | {reason} |"
TALLY_SIGNALS_HEADER = (
    "**Maintainer signals**\n\n| who | what | how | effect |\n| --- | --- | --- | --- |"
)
TALLY_SIGNAL_ROW = "| `{login}` | {verdict} | {source} | {reason} |"
TALLY_MORE = "| … | {more} more | see `townhall votes {ref}` |"
TALLY_FOOTER = (
    "_Vote with 👍 or 👎 on the issue. Maintainers: `/townhall approve` or `/townhall reject`."
    " This comment is kept up to date by Townhall._"
)

OUTCOME_WORDS = {
    "pending": "voting",
    "approved": "approved",
    "rejected": "rejected",
    "held": "held",
}

EMOJI = {
    "+1": "👍",
    "-1": "👎",
    "laugh": "😄",
    "hooray": "🎉",
    "confused": "😕",
    "heart": "❤️",
    "rocket": "🚀",
    "eyes": "👀",
}
