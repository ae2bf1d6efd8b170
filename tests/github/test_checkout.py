"""Checkout and mirror against localhub: a narrowed token minted inside, never left behind."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.github.checkout import READ_CONTENTS, checkout, mirror, open_remote
from app.github.git import FetchError, Remote, fetch_tree
from app.store import Store
from tests.stands import Stands, running_stands


@pytest.fixture
def stands(tmp_path: Path, store: Store) -> Iterator[Stands]:
    files = {"README.md": "# calc\n", "calc/core.py": "VALUE = 1\n"}
    with running_stands(tmp_path, store, files) as running:
        yield running


def files_holding(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


async def test_a_checkout_uses_a_read_only_token_that_stays_out_of_the_tree(
    stands: Stands, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    sha = await checkout(
        stands.access, stands.installation_id, stands.owner, stands.repo, "main", None, tree
    )

    assert sha == stands.main_sha()
    assert (tree / "calc" / "core.py").read_text() == "VALUE = 1\n"
    used = await stands.access.installation_token(
        stands.installation_id, [stands.repo], READ_CONTENTS
    )
    assert used.repositories == (stands.repo,)
    assert used.permissions.get("contents") == "read"
    assert files_holding(tree, used.token) == []


async def test_a_remote_never_shows_its_token(stands: Stands, tmp_path: Path) -> None:
    remote = await open_remote(stands.access, stands.installation_id, stands.owner, stands.repo)
    used = await stands.access.installation_token(
        stands.installation_id, [stands.repo], READ_CONTENTS
    )
    assert used.token not in repr(remote) and used.token not in remote.url
    with pytest.raises(FetchError, match="git fetch failed") as failed:
        fetch_tree(Remote(remote.url, "not-a-token"), "main", None, tmp_path / "denied")
    assert "not-a-token" not in str(failed.value)


async def test_the_mirror_follows_the_branch(stands: Stands, tmp_path: Path) -> None:
    path = tmp_path / "mirror"
    args = (stands.access, stands.installation_id, stands.owner, stands.repo, "main", path)
    first = await mirror(*args)
    (path / "stray.txt").write_text("left by a crash\n")
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(stands.repo_path), str(work)], check=True)
    (work / "README.md").write_text("# calc, v2\n")
    for command in (
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v2"],
        ["push", "-q", "origin", "HEAD:main"],
    ):
        subprocess.run(["git", *command], cwd=work, check=True)

    second = await mirror(*args)

    assert first != second == stands.main_sha()
    assert (path / "README.md").read_text() == "# calc, v2\n"
    assert not (path / "stray.txt").exists()
