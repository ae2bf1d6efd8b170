"""Who sees what on the dashboard and /api/status (issue 16, finding 8), over HTTP.

Public repositories are shown to everyone; a private one only to a viewer who signed in with
GitHub (localhub's OAuth web flow) and whose read permission GitHub confirms.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.dashboard.session import SESSION_COOKIE, STATE_COOKIE, seal
from tests.dashboard.access_stand import (
    PRIVATE,
    PRIVATE_CLAIM,
    PRIVATE_COST,
    PRIVATE_TITLE,
    PUBLIC_CLAIM,
    PUBLIC_COST,
    PUBLIC_TITLE,
    READER,
    SESSION_SECRET,
    STRANGER,
    AccessStand,
    access_stand,
    as_user,
    signed_in,
)

SECRETS = (PRIVATE_TITLE, PRIVATE_CLAIM, f"octo/{PRIVATE}")


@pytest.fixture(scope="module")
def stand(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccessStand]:
    with access_stand(tmp_path_factory.mktemp("access")) as running:
        yield running


def look(client: httpx.Client, stand: AccessStand) -> tuple[str, str]:
    """Return the page and the /api/status body as this client sees them."""
    page = client.get(stand.url + "/")
    status = client.get(stand.url + "/api/status")
    assert page.status_code == 200 and status.status_code == 200
    return page.text, status.text


def test_an_anonymous_viewer_sees_public_repositories_only(stand: AccessStand) -> None:
    with httpx.Client(timeout=30.0) as anonymous:
        page, status = look(anonymous, stand)
    assert PUBLIC_TITLE in page and PUBLIC_CLAIM in page and PUBLIC_TITLE in status
    for secret in SECRETS:
        assert secret not in page and secret not in status, secret
    data = json.loads(status)
    assert data["costs"]["today_usd"] == pytest.approx(PUBLIC_COST)  # no private spend
    assert [row["task_id"] for row in data["running"]] == [1]
    assert data["total"] == 1 and data["open_issues"] == 1
    assert "Sign in with GitHub" in page


def test_a_reader_who_signs_in_sees_the_private_repository(stand: AccessStand) -> None:
    with signed_in(stand, READER) as alice:
        session = alice.cookies.get(SESSION_COOKIE)
        page, status = look(alice, stand)
    for secret in SECRETS:
        assert secret in page and secret in status, secret
    assert "signed in as <b>alice</b>" in page
    assert json.loads(status)["costs"]["today_usd"] == pytest.approx(PUBLIC_COST + PRIVATE_COST)
    assert session is not None and "ghu_" not in session  # the user token is never kept


def test_a_signed_in_viewer_without_permission_does_not_see_private(stand: AccessStand) -> None:
    with signed_in(stand, STRANGER) as bob:
        page, status = look(bob, stand)
    assert "signed in as <b>bob</b>" in page and PUBLIC_TITLE in page
    for secret in SECRETS:
        assert secret not in page and secret not in status, secret


def test_the_session_cookie_is_signed_http_only_and_same_site(stand: AccessStand) -> None:
    client = httpx.Client(timeout=30.0)
    start = client.get(stand.url + "/signin")
    assert "httponly" in start.headers["set-cookie"].lower()
    authorized = client.get(as_user(start.headers["location"], READER))
    back = client.get(authorized.headers["location"])
    (cookie,) = [c.lower() for c in back.headers.get_list("set-cookie") if SESSION_COOKIE in c]
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=28800" in cookie
    assert back.headers["location"] == stand.url + "/"
    client.close()


def test_a_callback_whose_state_does_not_match_is_refused(stand: AccessStand) -> None:
    with httpx.Client(timeout=30.0) as victim:
        start = victim.get(stand.url + "/signin")
        authorized = victim.get(as_user(start.headers["location"], READER))
        callback = httpx.URL(authorized.headers["location"])
        forged = callback.copy_set_param("state", "attacker-chosen")
        refused = victim.get(forged)
        assert refused.status_code == 400 and "state did not match" in refused.text
        assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
        page, _ = look(victim, stand)
        assert PRIVATE_TITLE not in page
    # A callback link planted from elsewhere (no state cookie in this browser) is refused too.
    with httpx.Client(timeout=30.0) as other:
        assert other.get(callback).status_code == 400
        assert PRIVATE_TITLE not in look(other, stand)[0]


def renamed(cookie: str) -> str:
    """Return `cookie` with its login changed to the reader's, its signature kept."""
    body, mac = cookie.split(".")
    values = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    values["login"] = READER
    forged = base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()
    return f"{forged}.{mac}"


def test_forged_or_expired_session_cookies_count_as_anonymous(stand: AccessStand) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    earlier = later - timedelta(days=1)
    cookies = {
        "another key": seal("x" * 40, SESSION_COOKIE, {"login": READER}, later),
        "expired": seal(SESSION_SECRET, SESSION_COOKIE, {"login": READER}, earlier),
        "a state cookie": seal(SESSION_SECRET, STATE_COOKIE, {"login": READER}, later),
        "tampered": renamed(seal(SESSION_SECRET, SESSION_COOKIE, {"login": STRANGER}, later)),
    }
    for name, value in cookies.items():
        with httpx.Client(timeout=30.0, cookies={SESSION_COOKIE: value}) as client:
            page, status = look(client, stand)
        assert PRIVATE_TITLE not in page and PRIVATE_TITLE not in status, name
        assert "signed in as" not in page, name


def test_signing_out_forgets_the_viewer(stand: AccessStand) -> None:
    with signed_in(stand, READER) as alice:
        out = alice.post(stand.url + "/signout")
        assert out.status_code == 303
        page, _ = look(alice, stand)
    assert PRIVATE_TITLE not in page and "signed in as" not in page


def test_without_sign_in_settings_private_repositories_stay_hidden(tmp_path: Path) -> None:
    with access_stand(tmp_path, sign_in=False) as bare, httpx.Client(timeout=30.0) as client:
        page, status = look(client, bare)
        assert client.get(bare.url + "/signin").status_code == 404
        assert PUBLIC_TITLE in page and "Sign in" not in page
        for secret in SECRETS:
            assert secret not in page and secret not in status, secret
