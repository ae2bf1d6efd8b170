"""Authenticate requests like GitHub: app JWTs, installation tokens, user tokens; then authorize."""

from __future__ import annotations

import base64
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from .errors import ApiError, bad_credentials, not_accessible, not_found, requires_authentication
from .models import PERMISSION_LEVELS, AccessToken, App, Installation, Repo, User
from .state import HubState

_JWT_UNDECODABLE = "A JSON web token could not be decoded"
_JWT_EXPIRED = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at "
    "which the assertion expires"
)
_JWT_IAT = "'Issued at' claim ('iat') must be an Integer representing the time that the "
_JWT_IAT += "assertion was issued"
_JWT_TOO_LONG = "'Expiration time' claim ('exp') is too far in the future"
# GitHub accepts app JWTs that live at most ten minutes; clocks may drift by a minute.
_JWT_MAX_LIFETIME = 600
_CLOCK_DRIFT = 60


@dataclass(frozen=True)
class Actor:
    """Who is calling: nobody, an app (JWT), an installation (token) or a user (user token)."""

    kind: str
    login: str | None = None
    app: App | None = None
    installation: Installation | None = None
    token: AccessToken | None = None

    @property
    def rate_key(self) -> str:
        """Return the key the caller's rate limit budget is counted under."""
        if self.installation is not None:
            return f"installation:{self.installation.id}"
        if self.app is not None:
            return f"app:{self.app.id}"
        return f"user:{self.login}" if self.login else "anonymous"


ANONYMOUS = Actor("anonymous")


def _credential(header: str) -> str | None:
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme in ("token", "bearer"):
        return value.strip() or None
    if scheme == "basic":
        # Git over HTTP sends `x-access-token:<token>` (or `<login>:<token>`) as Basic auth.
        try:
            decoded = base64.b64decode(value.strip()).decode()
        except ValueError:
            return None
        return decoded.partition(":")[2] or None
    return None


def _looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and credential.startswith("eyJ")


def verify_app_jwt(state: HubState, credential: str, now: datetime) -> App:
    """Check an app JWT: RS256 signature by the issuing app's key, iat and exp; return the app."""
    try:
        claims = jwt.decode(credential, options={"verify_signature": False})
        app = state.data.apps.get(int(claims["iss"]))
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        raise ApiError(401, _JWT_UNDECODABLE) from exc
    if app is None:
        raise ApiError(401, _JWT_UNDECODABLE)
    try:
        claims = jwt.decode(
            credential,
            app.public_key_pem,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
        issued, expires = int(claims["iat"]), int(claims["exp"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        raise ApiError(401, _JWT_UNDECODABLE) from exc
    moment = now.timestamp()
    if issued > moment + _CLOCK_DRIFT:
        raise ApiError(401, _JWT_IAT)
    if expires <= moment:
        raise ApiError(401, _JWT_EXPIRED)
    if expires - issued > _JWT_MAX_LIFETIME + _CLOCK_DRIFT:
        raise ApiError(401, _JWT_TOO_LONG)
    return app


def authenticate(state: HubState, header: str | None, now: datetime) -> Actor:
    """Resolve the Authorization header to an Actor, or raise GitHub's 401."""
    if not header:
        return ANONYMOUS
    credential = _credential(header)
    if credential is None:
        raise bad_credentials()
    if _looks_like_jwt(credential):
        return Actor("app", app=verify_app_jwt(state, credential, now))
    token = state.data.tokens.get(credential)
    if token is not None:
        if token.expires_at <= now:
            raise bad_credentials()
        inst = state.data.installations.get(token.installation_id)
        if inst is None:
            raise bad_credentials()
        app = state.app_for_installation(inst)
        return Actor(
            "installation", login=state.bot_login(app), app=app, installation=inst, token=token
        )
    login = state.data.user_tokens.get(credential)
    if login is not None and state.find_user(login) is not None:
        return Actor("user", login=state.user(login).login)
    raise bad_credentials()


def require_app(actor: Actor) -> App:
    """Return the calling app, or refuse a request that did not authenticate with a JWT."""
    if actor.kind == "anonymous":
        raise requires_authentication()
    if actor.app is None or actor.kind != "app":
        raise ApiError(401, _JWT_UNDECODABLE)
    return actor.app


def installation_reaches(inst: Installation, repo: Repo) -> bool:
    """Tell whether an installation covers a repository."""
    if inst.account_login.lower() != repo.owner_login.lower():
        return False
    return inst.repository_selection == "all" or repo.id in inst.repository_ids


def authorize_repo(
    state: HubState,
    actor: Actor,
    repo: Repo,
    categories: tuple[str, ...],
    write: bool,
    user_role: str,
) -> None:
    """Refuse (404/403/401) unless `actor` may use `repo` for a route of these categories."""
    if actor.kind == "installation":
        assert actor.installation is not None and actor.token is not None
        token = actor.token
        if not installation_reaches(actor.installation, repo):
            raise not_found()
        if token.repository_ids is not None and repo.id not in token.repository_ids:
            raise not_found()
        wanted = PERMISSION_LEVELS["write" if write else "read"]
        for category in categories:
            level = token.permissions.get(category)
            if category == "metadata" and level is None:
                level = "read"
            if level is not None and PERMISSION_LEVELS[level] >= wanted:
                return
        raise not_accessible()
    if actor.kind == "user":
        assert actor.login is not None
        if state.role_of(repo, actor.login) == "none":
            raise not_found()
        if not state.role_at_least(repo, actor.login, user_role):
            raise ApiError(403, "Resource not accessible by personal access token")
        return
    if actor.kind == "app":
        raise not_accessible()
    if repo.private:
        raise not_found()
    if write:
        raise requires_authentication()


def _random_token(prefix: str) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(36))


def new_user_token() -> str:
    """Return a fresh personal-access-token-looking string."""
    return _random_token("ghp_")


def mint_installation_token(
    state: HubState,
    inst: Installation,
    now: datetime,
    ttl: timedelta,
    repositories: list[str] | None,
    repository_ids: list[int] | None,
    permissions: dict[str, str] | None,
) -> AccessToken:
    """Create an installation token, narrowed to repositories and permissions when asked."""
    granted = dict(inst.permissions)
    if permissions:
        for category, level in permissions.items():
            have = granted.get(category)
            if level not in PERMISSION_LEVELS or have is None:
                raise ApiError(
                    422, "The permissions requested are not granted to this installation."
                )
            if PERMISSION_LEVELS[level] > PERMISSION_LEVELS[have]:
                raise ApiError(
                    422, "The permissions requested are not granted to this installation."
                )
        granted = dict(permissions)
    chosen: list[int] | None = None
    if repositories or repository_ids:
        chosen = []
        wanted = [state.find_repo(inst.account_login, name) for name in repositories or []]
        wanted += [state.data.repos.get(ident) for ident in repository_ids or []]
        for repo in wanted:
            if repo is None or not installation_reaches(inst, repo):
                raise ApiError(
                    422,
                    "There is at least one repository that does not exist or is not "
                    "accessible to the parent installation.",
                )
            chosen.append(repo.id)
    token = AccessToken(
        token=_random_token("ghs_"),
        installation_id=inst.id,
        expires_at=now + ttl,
        permissions=granted,
        repository_ids=chosen,
    )
    state.data.tokens[token.token] = token
    return token


def account_for(state: HubState, inst: Installation) -> User:
    """Return the account an installation is installed on."""
    return state.user(inst.account_login)
