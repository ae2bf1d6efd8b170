"""localhub: a local GitHub stand-in (REST, GraphQL, git, webhooks) for offline runs and tests."""

from .client import LocalHubControl, LocalHubError
from .hub import LocalHub
from .keys import AppKeyPair, generate_app_keypair
from .serve import serve

__all__ = [
    "AppKeyPair",
    "LocalHub",
    "LocalHubControl",
    "LocalHubError",
    "generate_app_keypair",
    "serve",
]
