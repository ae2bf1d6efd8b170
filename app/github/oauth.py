"""Sign a person in with the App's user authorization (GitHub's OAuth web flow).

The browser is sent to `/login/oauth/authorize`; GitHub sends it back with a code, which is
exchanged for a user token, which is used once to ask `GET /user` who signed in. Only the
login comes out of here: the token is never stored and never leaves this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from githubkit import TokenAuthStrategy
from githubkit.exception import GitHubException

from app.github.client import USER_AGENT, Client

TIMEOUT_SECONDS = 20.0


class SignInFailed(Exception):
    """GitHub did not confirm who is signing in (bad or used code, wrong secret, outage)."""


@dataclass(frozen=True)
class OAuthApp:
    """The App's OAuth client and where GitHub's web pages and API live."""

    client_id: str
    client_secret: str = field(repr=False)
    web_url: str = "https://github.com"
    api_url: str = "https://api.github.com"

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Return the GitHub page that asks the person to authorize the App."""
        query = urlencode(
            {
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "allow_signup": "false",
            }
        )
        return f"{self.web_url.rstrip('/')}/login/oauth/authorize?{query}"

    async def login_for_code(self, code: str, redirect_uri: str) -> str:
        """Exchange the callback's code for a user token and return the login it belongs to."""
        token = await self._exchange(code, redirect_uri)
        return await self._login(token)

    async def _exchange(self, code: str, redirect_uri: str) -> str:
        form = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "code": code,
            "redirect_uri": redirect_uri,
        }
        url = f"{self.web_url.rstrip('/')}/login/oauth/access_token"
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
                response = await client.post(url, data=form, headers=headers)
            answer: Any = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise SignInFailed(f"token exchange failed: {type(error).__name__}") from error
        # GitHub reports a bad code with 200 and an `error` field, not with a status.
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            reason = answer.get("error", "no token") if isinstance(answer, dict) else "no token"
            raise SignInFailed(f"token exchange refused: {reason} (HTTP {response.status_code})")
        return str(answer["access_token"])

    async def _login(self, token: str) -> str:
        try:
            async with Client(
                TokenAuthStrategy(token),
                base_url=self.api_url.rstrip("/") + "/",
                user_agent=USER_AGENT,
                http_cache=False,
                timeout=TIMEOUT_SECONDS,
            ) as github:
                user = (await github.rest.users.async_get_authenticated()).parsed_data
        except GitHubException as error:
            raise SignInFailed(f"GET /user failed: {type(error).__name__}") from error
        return str(user.login)
