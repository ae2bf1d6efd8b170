"""One shared TLS context for localhub's HTTP clients."""

# Building a context loads the CA bundle (tens of milliseconds); doing it once per process
# instead of once per client keeps short-lived clients cheap without turning verification off.

from __future__ import annotations

import ssl
from functools import cache


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """Return the process-wide default TLS context, created on first use."""
    return ssl.create_default_context()
