"""Git smart HTTP: clone anonymously, push with an installation token, PRs follow pushes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .conftest import OWNER, REPO, World


def git(
    *args: str, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run git without prompts, as a CI job would."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(
        ["git", "-c", "user.name=Worker", "-c", "user.email=worker@example.com", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=30,
    )


def test_clone_and_push_over_http_keep_pull_requests_in_sync(world: World, tmp_path: Path) -> None:
    url = world.ctl.clone_url(OWNER, REPO)
    clone = tmp_path / "clone"
    git("clone", "--quiet", url, str(clone))
    assert (clone / "pkg" / "core.py").exists()

    (clone / "NEW.md").write_text("new\n")
    git("add", "NEW.md", cwd=clone)
    git("commit", "--quiet", "-m", "Add NEW", cwd=clone)
    refused = git("push", url, "HEAD:refs/heads/feature", cwd=clone, check=False)
    assert refused.returncode != 0

    app = world.as_app()
    token = app.rest.apps.create_installation_access_token(world.installation_id)
    authed = url.replace("http://", f"http://x-access-token:{token.parsed_data.token}@")
    git("push", "--quiet", authed, "HEAD:refs/heads/feature", cwd=clone)
    bot = world.as_installation()
    number = bot.rest.pulls.create(OWNER, REPO, title="New", head="feature", base="main")
    first_head = git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    assert number.parsed_data.head.sha == first_head

    (clone / "NEW.md").write_text("newer\n")
    git("commit", "--quiet", "-am", "Edit NEW", cwd=clone)
    git("push", "--quiet", authed, "HEAD:refs/heads/feature", cwd=clone)
    second_head = git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    pull = bot.rest.pulls.get(OWNER, REPO, number.parsed_data.number).parsed_data
    assert pull.head.sha == second_head and pull.commits == 2


def test_private_repositories_need_credentials_to_clone(world: World, tmp_path: Path) -> None:
    world.ctl.create_repo(OWNER, "hidden", source_dir=None, private=True)
    url = world.ctl.clone_url(OWNER, "hidden")
    refused = git("clone", "--quiet", url, str(tmp_path / "anon"), check=False)
    assert refused.returncode != 0
    owner_url = url.replace("http://", f"http://{OWNER}:{OWNER}-token@")
    cloned = git("clone", "--quiet", owner_url, str(tmp_path / "owner"), check=False)
    assert cloned.returncode == 0, cloned.stderr
