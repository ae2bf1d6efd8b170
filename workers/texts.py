"""What a worker says: the agent's task message and the pull request's text (data, not logic)."""

from __future__ import annotations

TASK_MESSAGE = """\
# Your task: issue #{number} of {repo}

{brief}

{fenced_issue}
{memory}{feedback}
Work in the checkout with the tools. Keep the change focused on the brief. Run the build and
tests with `run` before you call `finish` with a summary of what you changed and how you checked it.
"""

FEEDBACK_SECTION = """
# What happened on the previous attempt
The previous attempt did not land. Its feedback (review comments or failing output) follows;
address it in this attempt.

{feedback}
"""

# Why an attempt was not published: its issue's approved text no longer stands.
HELD_LOG = (
    "not published: {reason}. The work is kept with this attempt; the task waits in the queue"
    " until approval is confirmed again, and this attempt does not count."
)

FIX_ROUND_MESSAGE = """\
Verification failed after your change. Fix the problem, run the checks again, then call
`finish`. The failing output:

{log}
"""

PR_TITLE = "{title} (#{number})"

PR_BODY = """\
Closes #{number}

{summary}

| | |
| --- | --- |
| role | {role} |
| attempt | {attempt} of {max_attempts} |
| model | {model} |
| cost | {cost} |
| agent turns | {turns} |
| tokens | {input_tokens:,} in, {output_tokens:,} out |

**Files changed**
{files}

**Verified in the sandbox**
{verification}

<sub>Opened by Townhall for the approved issue #{number}. Reviewed before it merges.</sub>
"""

COMMIT_MESSAGE = "{title} (#{number})\n\n{summary}\n\nTownhall task {task_id}, attempt {attempt}."

ORPHAN_COMMENT = (
    "Closing: this pull request's task is {state} (its issue was closed, vetoed, or retried) "
    "while the change was being made. Nothing is lost: the attempt and its diff are recorded."
)


def dollars(amount: float) -> str:
    """A cost as people read it: cents when it is cents, four places below one cent."""
    if amount == 0:
        return "$0"
    return f"${amount:.2f}" if amount >= 0.01 else f"${amount:.4f}"
