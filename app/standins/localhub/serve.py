"""Run localhub as a standalone server (wired to `townhall localhub --host --port`)."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import uvicorn

from .hub import LocalHub

log = logging.getLogger(__name__)


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    data_dir: Path | None = None,
    *,
    persist: bool = True,
    webhook_url: str | None = None,
    webhook_secret: str = "",
    token_ttl: timedelta = timedelta(hours=1),
    log_level: str = "info",
) -> None:
    """Serve localhub until interrupted; state persists to `data_dir/state.json` when given."""
    hub = LocalHub(data_dir, persist=persist and data_dir is not None, token_ttl=token_ttl)
    if webhook_url:
        hub.state.data.webhook.url = webhook_url
        hub.state.data.webhook.secret = webhook_secret
    url = f"http://{host}:{port}"
    if host not in ("127.0.0.1", "localhost", "::1"):
        # The control API has no authentication: anyone who can reach it controls the hub.
        log.warning("localhub listens on %s; its /_localhub control API is unauthenticated", host)
    log.info("localhub serving on %s (data in %s)", url, hub.data_dir)
    print(f"localhub: serving the GitHub API on {url}/ (data in {hub.data_dir})", flush=True)
    uvicorn.run(hub.create_app(), host=host, port=port, log_level=log_level)
