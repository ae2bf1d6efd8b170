"""This machine's side: the store, sandbox isolation, and whether webhooks arrive."""

from __future__ import annotations

from datetime import timedelta

from app.clock import Clock, parse_timestamp
from app.doctor.lines import Line, fail, ok, warn
from app.settings import Settings
from app.store import Store, StoreError, open_store
from app.store.location import describe_store, store_file
from app.store.migrations import MIGRATIONS

# GitHub sends a delivery for every reaction and comment; a day without one on a live
# installation means the webhook URL or secret is wrong (or nobody used the repositories).
QUIET_AFTER = timedelta(hours=24)


def store_check(settings: Settings) -> tuple[Line, Store | None]:
    """Open the store without creating or migrating it; report where it is and its schema."""
    where = describe_store(settings.db_url)
    file = store_file(settings.db_url)
    if file is not None and not file.exists():
        return fail(
            "store", f"no store at {file}: run `townhall db migrate` (or set TOWNHALL_DB_URL)"
        ), None
    try:
        store = open_store(settings.db_url, settings.db_auth_token, migrate=False)
        version = store.schema_version()
    except StoreError as error:
        return fail("store", f"cannot open {where}: {error}"), None
    latest = max(number for number, _ in MIGRATIONS)
    if version < latest:
        line = fail(
            "store", f"{where} is at schema {version} of {latest}: run `townhall db migrate`"
        )
        return line, store
    return ok("store", f"{where} (schema {version})"), store


def sandbox_check(settings: Settings) -> Line:
    """Say whether agent commands would run isolated, and how to fix it when not."""
    if settings.sandbox_backend != "local":
        return ok("sandbox", f"{settings.sandbox_backend} backend (isolated by the provider)")
    from app.sandbox.isolation import isolation_problem

    problem = isolation_problem(settings.unisolated_sandbox, settings.bwrap)
    if problem is None:
        if settings.unisolated_sandbox:
            return warn("sandbox", "UNISOLATED: TOWNHALL_UNISOLATED_SANDBOX=1 (demo/tests only)")
        return ok("sandbox", "local backend isolated by bubblewrap")
    return fail("sandbox", problem)


async def webhook_check(store: Store, clock: Clock) -> Line:
    """Report when the last webhook delivery arrived."""
    row = await store.fetchone("SELECT MAX(received_at) AS latest FROM deliveries")
    latest = row["latest"] if row else None
    if latest is None:
        return warn(
            "webhooks",
            "no delivery has arrived yet: check the App's webhook URL (…/webhook) and secret",
        )
    age = clock.now() - parse_timestamp(str(latest))
    if age > QUIET_AFTER:
        hours = int(age.total_seconds() // 3600)
        return warn(
            "webhooks",
            f"last delivery {hours} h ago: check the App's webhook URL and its recent deliveries",
        )
    return ok("webhooks", f"last delivery {int(age.total_seconds() // 60)} min ago")
