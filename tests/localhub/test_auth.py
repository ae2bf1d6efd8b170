"""App JWTs, installation tokens (expiry, narrowing) and user tokens, checked like GitHub."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from githubkit.exception import RequestFailed

from app.standins.localhub import generate_app_keypair

from .conftest import APP_ID, OWNER, REPO, World, make_github


def _status(exc: pytest.ExceptionInfo[RequestFailed]) -> int:
    return exc.value.response.status_code


def _jwt(world: World, issued: datetime, expires: datetime, key: str | None = None) -> str:
    claims = {"iss": str(APP_ID), "iat": int(issued.timestamp()), "exp": int(expires.timestamp())}
    return jwt.encode(claims, key or world.keys.private_key_pem, algorithm="RS256")


def test_app_endpoints_answer_in_githubs_shapes(world: World) -> None:
    gh = world.as_app()
    app = gh.rest.apps.get_authenticated().parsed_data
    assert app is not None
    assert (app.id, app.slug) == (APP_ID, "townhall")
    installations = gh.rest.apps.list_installations().parsed_data
    assert [i.id for i in installations] == [world.installation_id]
    found = gh.rest.apps.get_repo_installation(OWNER, REPO).parsed_data
    assert found.id == world.installation_id and found.app_slug == "townhall"
    token = gh.rest.apps.create_installation_access_token(world.installation_id).parsed_data
    assert token.token.startswith("ghs_")
    lifetime = datetime.strptime(token.expires_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert lifetime - world.clock.now() == timedelta(hours=1)


def test_expired_or_forged_jwts_are_refused_with_401(world: World) -> None:
    now = world.clock.now()
    expired = _jwt(world, now - timedelta(minutes=20), now - timedelta(minutes=10))
    client = make_github(world.url, expired)
    with pytest.raises(RequestFailed) as caught:
        client.rest.apps.get_authenticated()
    assert _status(caught) == 401
    body = caught.value.response.json()
    assert "'Expiration time' claim ('exp')" in body["message"]
    assert body["documentation_url"].startswith("https://docs.github.com/")

    too_long = _jwt(world, now, now + timedelta(hours=1))
    client = make_github(world.url, too_long)
    with pytest.raises(RequestFailed) as caught:
        client.rest.apps.get_authenticated()
    assert _status(caught) == 401

    forged = _jwt(world, now, now + timedelta(minutes=5), generate_app_keypair().private_key_pem)
    client = make_github(world.url, forged)
    with pytest.raises(RequestFailed) as caught:
        client.rest.apps.get_authenticated()
    assert caught.value.response.json()["message"] == "A JSON web token could not be decoded"


def test_app_endpoints_need_a_jwt_not_a_token(world: World) -> None:
    alice = world.as_user("alice")
    with pytest.raises(RequestFailed) as caught:
        alice.rest.apps.get_authenticated()
    assert _status(caught) == 401


def test_installation_token_expires(world: World) -> None:
    app = world.as_app()
    token = app.rest.apps.create_installation_access_token(world.installation_id)
    client = make_github(world.url, token.parsed_data.token)
    assert client.rest.repos.get(OWNER, REPO).parsed_data.name == REPO
    world.clock.advance(timedelta(minutes=61))
    with pytest.raises(RequestFailed) as caught:
        client.rest.repos.get(OWNER, REPO)
    assert _status(caught) == 401
    assert caught.value.response.json()["message"] == "Bad credentials"


def test_narrowed_token_limits_repositories_and_permissions(world: World) -> None:
    world.ctl.create_repo(OWNER, "other")
    app = world.as_app()
    narrowed = app.rest.apps.create_installation_access_token(
        world.installation_id,
        repositories=[REPO],
        permissions={"issues": "read", "metadata": "read"},
    )
    data = narrowed.parsed_data
    assert data.repository_selection == "selected"
    assert data.repositories and [r.name for r in data.repositories] == [REPO]
    client = make_github(world.url, data.token)
    assert client.rest.issues.list_for_repo(OWNER, REPO).parsed_data == []
    with pytest.raises(RequestFailed) as caught:
        client.rest.repos.get(OWNER, "other")
    assert _status(caught) == 404
    with pytest.raises(RequestFailed) as caught:
        client.rest.issues.create(OWNER, REPO, title="nope")
    assert _status(caught) == 403
    assert caught.value.response.json()["message"] == "Resource not accessible by integration"
    with pytest.raises(RequestFailed) as caught:
        client.rest.repos.get_content(OWNER, REPO, "README.md")
    assert _status(caught) == 403


def test_token_cannot_exceed_the_installation(world: World) -> None:
    world.ctl.create_repo("someone-else", "theirs")
    app = world.as_app()
    with pytest.raises(RequestFailed) as caught:
        app.rest.apps.create_installation_access_token(
            world.installation_id, repositories=["theirs"]
        )
    assert _status(caught) == 422
    with pytest.raises(RequestFailed) as caught:
        app.rest.apps.create_installation_access_token(
            world.installation_id, permissions={"administration": "write"}
        )
    assert _status(caught) == 422


def test_user_tokens_act_as_people_with_their_repository_role(world: World) -> None:
    world.ctl.create_repo(OWNER, "secret", private=True)
    alice, owner, stranger = (
        world.as_user("alice"),
        world.as_user(OWNER),
        make_github(world.url, "not-a-token"),
    )
    with pytest.raises(RequestFailed) as caught:
        alice.rest.repos.get(OWNER, "secret")
    assert _status(caught) == 404
    assert owner.rest.repos.get(OWNER, "secret").parsed_data.private
    with pytest.raises(RequestFailed) as caught:
        stranger.rest.repos.get(OWNER, REPO)
    assert _status(caught) == 401
    with pytest.raises(RequestFailed) as caught:
        alice.rest.git.create_ref(OWNER, REPO, ref="refs/heads/x", sha="0" * 40)
    assert _status(caught) == 403


def test_collaborator_permission_and_users(world: World) -> None:
    gh = world.as_installation()
    carol = gh.rest.repos.get_collaborator_permission_level(OWNER, REPO, "carol").parsed_data
    assert (carol.permission, carol.role_name) == ("write", "write")
    alice = gh.rest.repos.get_collaborator_permission_level(OWNER, REPO, "alice").parsed_data
    assert alice.permission == "read"
    owner = gh.rest.repos.get_collaborator_permission_level(OWNER, REPO, OWNER).parsed_data
    assert owner.permission == "admin"
    user = gh.rest.users.get_by_username("alice").parsed_data
    assert user.login == "alice" and user.type == "User"
    bot = gh.rest.users.get_by_username("townhall[bot]").parsed_data
    assert bot.type == "Bot"
