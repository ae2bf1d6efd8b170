"""Run every doctor check in order; nothing here raises for a known failure."""

from __future__ import annotations

from app.clock import SystemClock
from app.doctor.github_checks import github_checks
from app.doctor.lines import Line, fail, ok
from app.doctor.local_checks import sandbox_check, store_check, webhook_check
from app.doctor.model_check import model_check
from app.settings import Settings, SettingsError, settings_from_process


async def run_doctor(settings: Settings | None = None, *, offline: bool = False) -> list[Line]:
    """Check settings, store, sandbox, webhooks, then (unless offline) GitHub and the model."""
    if settings is None:
        try:
            settings = settings_from_process()
        except SettingsError as error:
            return [fail("settings", str(error))]
    lines = [ok("settings", "read from the environment and .env")]
    store_line, store = store_check(settings)
    lines.append(store_line)
    lines.append(sandbox_check(settings))
    if store is not None:
        try:
            if store_line.status == "ok":
                lines.append(await webhook_check(store, SystemClock()))
        finally:
            await store.close()
    if offline:
        from app.github.app_key import key_problem

        if settings.github_app is not None:
            problem = key_problem(settings.github_app.private_key)
            lines.append(fail("private key", problem) if problem else ok("private key", "parses"))
        return lines
    lines += await github_checks(settings)
    lines.append(await model_check(settings))
    return lines
