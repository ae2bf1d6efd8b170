"""What `townhall demo --keep` prints: how to try Townhall by hand against the running demo."""

from __future__ import annotations

from app.demo.sample import USERS

OWNER, REPO = "demo-org", "calc"


def kept_instructions(hub_url: str, model_url: str | None, web_url: str, db_url: str) -> str:
    """The running services, and the requests that file an issue, vote and watch it move."""
    control = f"{hub_url}/_localhub/repos/{OWNER}/{REPO}"
    voters = [login for login, age in USERS.items() if age >= 30][:3]
    votes = " ".join(
        f"\\\n    && curl -s -X POST {control}/issues/$N/reactions "
        f'-d \'{{"user": "{login}", "content": "+1"}}\' >/dev/null'
        for login in voters
    )
    model = (
        f"  model        {model_url}  (scripted: any issue gets a small note file; see "
        "README 'Scripted model')"
        if model_url
        else "  model        the real Anthropic API"
    )
    return f"""
Everything keeps running (Ctrl-C stops it). Try it by hand:
  localhub     {hub_url}  (GitHub stand-in; control API under /_localhub, see README 'localhub')
{model}
  Townhall     {web_url}/  (dashboard; webhooks at {web_url}/webhook)
  store        {db_url}    (`townhall status` in another terminal, same folder)

File an issue as erin, vote for it with three accounts, then watch the next ticks:
  N=$(curl -s -X POST {control}/issues \\
        -d '{{"author": "erin", "title": "Add a CHANGELOG"}}' | python3 -c \\
        'import json,sys; print(json.load(sys.stdin)["number"])') {votes}
  curl -s {hub_url}/repos/{OWNER}/{REPO}/pulls    # the PR Townhall opens
A maintainer can veto with a comment: curl -s -X POST {control}/issues/$N/comments \\
    -d '{{"author": "maintainer", "body": "/townhall reject not now"}}'
Ticks run every few seconds and print what they did."""
