"""Whether local sandboxes are isolated, and what an operator must do when they cannot be.

The local backend fails closed: without working bubblewrap it refuses to start a sandbox,
unless the operator set TOWNHALL_UNISOLATED_SANDBOX=1 (meant for the scripted demo and the
test suite only), and then every sandbox it starts says so in the log, loudly.
"""

from __future__ import annotations

import logging

from app.sandbox.bwrap import bwrap_unavailable_reason

log = logging.getLogger(__name__)

UNISOLATED_SETTING = "TOWNHALL_UNISOLATED_SANDBOX"
INSTALL_HINT = "install bubblewrap (e.g. `apt-get install bubblewrap`)"


def refusal(reason: str) -> str:
    """Return the error that stops an unisolated start: what is wrong and the two ways out."""
    return (
        f"refusing to run sandbox commands without isolation: {reason}. "
        f"Fix: {INSTALL_HINT}; only for the scripted demo or tests, set {UNISOLATED_SETTING}=1 "
        "to run commands unisolated as this user"
    )


def isolation_problem(unisolated_allowed: bool, bwrap: str = "bwrap") -> str | None:
    """Return one line naming what keeps local sandboxes from starting, with the fix; or None.

    None when bubblewrap works, or when the operator explicitly allowed unisolated sandboxes
    (`describe_isolation` still says so).
    """
    reason = bwrap_unavailable_reason(bwrap)
    if reason is None or unisolated_allowed:
        return None
    return refusal(reason)


def describe_isolation(unisolated_allowed: bool, bwrap: str = "bwrap") -> str:
    """Return one line for doctor/check-config: how local sandbox commands will run."""
    reason = bwrap_unavailable_reason(bwrap)
    if reason is None:
        note = f" ({UNISOLATED_SETTING} is set but unused)" if unisolated_allowed else ""
        return f"local sandboxes are isolated by bubblewrap (uid nobody, no network){note}"
    if unisolated_allowed:
        return (
            f"local sandboxes run UNISOLATED ({reason}; {UNISOLATED_SETTING}=1): commands run "
            f"as this user with its files and network; {INSTALL_HINT} before real use"
        )
    return refusal(reason)


def warn_unisolated(reason: str, what: str) -> None:
    """Log, at every start of an unisolated sandbox, that nothing isolates its commands."""
    log.warning(
        "UNISOLATED SANDBOX (%s): %s. %s=1 lets its commands run as this user, with this "
        "machine's files, processes and network; use it only for the scripted demo or tests, "
        "and %s for anything else.",
        what,
        reason,
        UNISOLATED_SETTING,
        INSTALL_HINT,
    )
