"""Where localhub used to differ from GitHub: escaped bot URLs, contributors, conditional
requests, tarball redirects and API versions (tests/contract checks the shapes)."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import httpx
import pytest
from githubkit.exception import RequestFailed

from app.github.client import REST_API_VERSION, GitHubAccess
from app.settings import GitHubAppCredentials
from app.votes.facts import VoterCaches, VoterLookup
from app.votes.fetch import Meter

from .conftest import APP_ID, OWNER, REPO, World


def _raw(world: World, path: str, **headers: str) -> httpx.Response:
    """GET `path` as carol (a person with a token), without following redirects."""
    sent = {"authorization": "token carol-token"} | {
        k.replace("_", "-"): v for k, v in headers.items()
    }
    return httpx.get(world.url + path, headers=sent, follow_redirects=False)


def _access(world: World) -> GitHubAccess:
    return GitHubAccess(
        world.url, GitHubAppCredentials(APP_ID, world.keys.private_key_pem), world.clock
    )


def test_a_bots_urls_escape_its_suffix(world: World) -> None:
    bot = world.as_installation()
    world.ctl.create_issue(OWNER, REPO, "alice", "Hello")
    comment = bot.rest.issues.create_comment(OWNER, REPO, 1, body="Hi").parsed_data
    assert comment.user is not None and comment.user.login == "townhall[bot]"
    assert comment.user.url == f"{world.url}/users/townhall%5Bbot%5D"
    assert comment.user.followers_url.endswith("/users/townhall%5Bbot%5D/followers")


def test_contributors_are_listed_and_an_empty_repository_answers_204(world: World) -> None:
    bot = world.as_installation()
    listed = bot.rest.repos.list_contributors(OWNER, REPO).parsed_data
    assert [(c.login, c.contributions) for c in listed] == [(OWNER, 1)]
    world.ctl.create_repo(OWNER, "empty")
    answer = bot.rest.repos.list_contributors(OWNER, "empty")
    assert answer.status_code == 204 and answer.content == b""


async def test_townhall_reads_an_empty_repositorys_204_as_no_contributors(world: World) -> None:
    world.ctl.create_repo(OWNER, "empty")
    async with await _access(world).installation_client(world.installation_id) as client:
        lookup = VoterLookup(client, OWNER, "empty", VoterCaches(world.clock), Meter())
        assert await lookup.contributors() == frozenset()


def test_answers_carry_validators_and_a_304_is_not_counted(world: World) -> None:
    first = _raw(world, f"/repos/{OWNER}/{REPO}")
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.headers["last-modified"].endswith(" GMT")
    used = int(first.headers["x-ratelimit-used"])

    again = _raw(world, f"/repos/{OWNER}/{REPO}", if_none_match=etag)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert int(again.headers["x-ratelimit-used"]) == used  # not counted
    changed = _raw(world, f"/repos/{OWNER}/{REPO}", if_none_match='W/"other"')
    assert changed.status_code == 200
    assert int(changed.headers["x-ratelimit-used"]) == used + 1
    counters = world.ctl.counters()
    assert counters["not_modified"] == 1
    assert counters["rate_limited_requests"]["core"] == 2


async def test_townhall_revalidates_what_it_read_before(world: World) -> None:
    access = _access(world)
    async with await access.installation_client(world.installation_id) as client:
        await client.rest.repos.async_get(OWNER, REPO)  # mints the token first
        world.ctl.reset_counters()
        first = (await client.rest.repos.async_get(OWNER, REPO)).parsed_data
        second = await client.rest.repos.async_get(OWNER, REPO)
    assert second.status_code == 200 and second.parsed_data == first
    statuses = world.ctl.counters()["statuses"]
    assert statuses == {"GET /repos/{owner}/{repo} 304": 2}
    assert access.etags.stats.not_modified == 2


def test_the_tarball_redirects_to_a_short_lived_download(world: World) -> None:
    answer = _raw(world, f"/repos/{OWNER}/{REPO}/tarball/main")
    assert answer.status_code == 302 and answer.content == b""
    location = answer.headers["location"]
    assert "/_codeload/octo/demo/legacy.tar.gz/" in location and "token=" in location
    archive = httpx.get(location)  # no Authorization: the token is in the URL
    with tarfile.open(fileobj=io.BytesIO(archive.content), mode="r:gz") as tar:
        assert any(name.endswith("/README.md") for name in tar.getnames())
    assert httpx.get(location.replace("token=", "token=x")).status_code == 404


def _pull(world: World) -> int:
    bot = world.as_installation()
    main = bot.rest.git.get_ref(OWNER, REPO, "heads/main").parsed_data.object_.sha
    bot.rest.git.create_ref(OWNER, REPO, ref="refs/heads/topic", sha=main)
    blob = bot.rest.git.create_blob(OWNER, REPO, content="x\n", encoding="utf-8").parsed_data
    tree = bot.rest.git.create_tree(
        OWNER,
        REPO,
        base_tree=main,
        tree=[{"path": "x.txt", "mode": "100644", "type": "blob", "sha": blob.sha}],
    ).parsed_data
    commit = bot.rest.git.create_commit(
        OWNER, REPO, message="x", tree=tree.sha, parents=[main]
    ).parsed_data
    bot.rest.git.update_ref(OWNER, REPO, "heads/topic", sha=commit.sha)
    pull = bot.rest.pulls.create(OWNER, REPO, title="X", head="topic", base="main")
    return pull.parsed_data.number


@pytest.mark.parametrize("version", ["2022-11-28", "2026-03-10"])
def test_answers_follow_the_requested_api_version(world: World, version: str) -> None:
    number = _pull(world)
    pull: dict[str, Any] = _raw(
        world, f"/repos/{OWNER}/{REPO}/pulls/{number}", x_github_api_version=version
    ).json()
    answer = _raw(world, f"/repos/{OWNER}/{REPO}", x_github_api_version=version)
    assert answer.headers["x-github-api-version-selected"] == version
    kept = version == "2022-11-28"
    assert ("merge_commit_sha" in pull, "assignee" in pull) == (kept, kept)
    assert ("has_downloads" in answer.json()) == kept
    assert ("has_downloads" in pull["head"]["repo"]) == kept


def test_no_version_means_2022_11_28_and_an_unknown_one_is_refused(world: World) -> None:
    assert REST_API_VERSION == "2022-11-28"
    plain = _raw(world, f"/repos/{OWNER}/{REPO}")
    assert plain.headers["x-github-api-version-selected"] == "2022-11-28"
    refused = _raw(world, f"/repos/{OWNER}/{REPO}", x_github_api_version="2021-01-01")
    assert refused.status_code == 400
    assert "2021-01-01" in refused.json()["message"]


def test_labels_carry_only_the_fields_githubs_description_defines(world: World) -> None:
    bot = world.as_installation()
    world.ctl.create_issue(OWNER, REPO, "alice", "Labelled")
    added = bot.rest.issues.add_labels(OWNER, REPO, 1, labels=["townhall:approved"])
    raw = _raw(world, f"/repos/{OWNER}/{REPO}/labels").json()[0]
    assert "archived_at" not in raw and "archived_by" not in raw
    assert raw["url"].endswith("/labels/townhall%3Aapproved")
    # Townhall's client fills the fields githubkit's model requires (app.github.compat).
    assert added.parsed_data[0].archived_at is None
    with pytest.raises(RequestFailed):
        bot.rest.issues.add_labels(OWNER, "missing", 1, labels=["x"])
