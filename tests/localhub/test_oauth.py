"""localhub's OAuth web flow for an App's user authorization, and `GET /user`."""

from __future__ import annotations

import httpx
import pytest
from githubkit.exception import RequestFailed

from .conftest import APP_ID, World

CALLBACK = "http://127.0.0.1:9/oauth/callback"


def authorize(world: World, client_id: str, login: str | None, state: str = "s1") -> httpx.Response:
    params = {"client_id": client_id, "redirect_uri": CALLBACK, "state": state}
    if login is not None:
        params["login"] = login
    return httpx.get(world.url + "/login/oauth/authorize", params=params)


def code_of(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    location = httpx.URL(response.headers["location"])
    assert str(location.copy_with(query=None)) == CALLBACK
    assert location.params["state"] == "s1"
    return location.params["code"]


def exchange(world: World, form: dict[str, str]) -> dict[str, str]:
    answer = httpx.post(
        world.url + "/login/oauth/access_token", data=form, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 200  # GitHub reports errors in the body, not the status
    body: dict[str, str] = answer.json()
    return body


@pytest.fixture
def client(world: World) -> dict[str, str]:
    created: dict[str, str] = world.ctl.create_client_secret(APP_ID)
    assert created["client_id"] == f"Iv1.{APP_ID:016x}"  # what GET /app shows
    return created


def test_a_code_becomes_a_user_token_once(world: World, client: dict[str, str]) -> None:
    code = code_of(authorize(world, client["client_id"], "alice"))
    form = {**client, "code": code, "redirect_uri": CALLBACK}
    token = exchange(world, form)["access_token"]
    assert token.startswith("ghu_")
    me = httpx.get(world.url + "/user", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["login"] == "alice"
    assert exchange(world, form)["error"] == "bad_verification_code"  # used already


def test_wrong_secret_client_or_redirect_is_refused(world: World, client: dict[str, str]) -> None:
    code = code_of(authorize(world, client["client_id"], "alice"))
    wrong_secret = {**client, "client_secret": "nope", "code": code}
    assert exchange(world, wrong_secret)["error"] == "incorrect_client_credentials"
    wrong_redirect = {**client, "code": code, "redirect_uri": "http://127.0.0.1:9/elsewhere"}
    assert exchange(world, wrong_redirect)["error"] == "redirect_uri_mismatch"
    assert authorize(world, "Iv1.unknown", "alice").status_code == 404


def test_the_browser_signed_in_to_localhub_is_authorized_without_a_form(
    world: World, client: dict[str, str]
) -> None:
    form = authorize(world, client["client_id"], None)
    assert form.status_code == 200 and 'name="login"' in form.text
    with httpx.Client() as browser:
        signed = browser.get(world.url + "/login", params={"login": "bob", "return_to": "/x"})
        assert signed.status_code == 302 and signed.headers["location"] == "/x"
        params = {"client_id": client["client_id"], "redirect_uri": CALLBACK, "state": "s1"}
        code = code_of(browser.get(world.url + "/login/oauth/authorize", params=params))
    token = exchange(world, {**client, "code": code})["access_token"]
    me = httpx.get(world.url + "/user", headers={"Authorization": f"token {token}"})
    assert me.json()["login"] == "bob"


def test_get_user_needs_a_user_token(world: World) -> None:
    assert httpx.get(world.url + "/user").status_code == 401
    with pytest.raises(RequestFailed) as refused:
        world.as_installation().rest.users.get_authenticated()
    assert refused.value.response.status_code == 403
