"""The wiring turns the backends named in settings into objects, once; nothing else compares."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import cast

import httpx
import pytest

from app.ceo.dispatch import InlineDispatcher, SpawnedDispatcher, SpawnedReviews
from app.sandbox import LocalOptions, LocalSandboxes, ModalSandboxes
from app.settings import GitHubAppCredentials, SandboxBackend, Settings
from app.store import Tx
from app.wiring import (
    InlineReviewer,
    Runtime,
    build_reviewer,
    build_runtime,
    build_tick_deps,
    sandboxes_for,
)
from reviewer.deps import TOOL_OUTPUT_CAP


@pytest.fixture
def runtime(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """A runtime whose settings name the backends given as the test's parameter."""
    sandbox, dispatch = request.param
    settings = Settings(
        github_app=GitHubAppCredentials(1, "not-used-offline"),
        db_url=str(tmp_path / "wiring.db"),
        anthropic_api_key="k",
        sandbox_backend=sandbox,
        dispatch_backend=dispatch,
    )
    built = build_runtime(settings, sweep_on_webhooks=False)
    yield built
    built.store.close_sync()


@pytest.mark.parametrize("runtime", [("local", "inline")], indirect=True)
def test_local_settings_run_attempts_and_reviews_in_this_process(
    runtime: Runtime, tmp_path: Path
) -> None:
    deps = build_tick_deps(runtime, tmp_path / "work")
    assert isinstance(deps.dispatcher, InlineDispatcher)
    assert isinstance(deps.reviewer, InlineReviewer)
    sandboxes = deps.reviewer.deps.sandboxes
    assert isinstance(sandboxes, LocalSandboxes) and sandboxes.options is not None
    assert sandboxes.options.output_cap == TOOL_OUTPUT_CAP  # whole tool reports fit


@pytest.mark.parametrize("runtime", [("modal", "modal")], indirect=True)
def test_modal_settings_spawn_attempts_and_reviews(runtime: Runtime, tmp_path: Path) -> None:
    deps = build_tick_deps(runtime, tmp_path / "work")
    assert isinstance(deps.dispatcher, SpawnedDispatcher)
    assert isinstance(deps.reviewer, SpawnedReviews)
    assert isinstance(build_reviewer(runtime).deps.sandboxes, ModalSandboxes)


def test_an_unknown_sandbox_backend_is_an_error() -> None:
    settings = replace(Settings(), sandbox_backend=cast(SandboxBackend, "docker"))
    with pytest.raises(ValueError, match="unknown sandbox backend 'docker'"):
        sandboxes_for(settings)


def test_local_sandboxes_carry_the_isolation_and_cache_settings(tmp_path: Path) -> None:
    settings = Settings(
        unisolated_sandbox=True, bwrap="/opt/bwrap", cache_dir=tmp_path, max_environments=2
    )
    sandboxes = sandboxes_for(settings)
    assert isinstance(sandboxes, LocalSandboxes) and sandboxes.options is not None
    assert sandboxes.options.unisolated_allowed and sandboxes.options.bwrap == "/opt/bwrap"
    assert sandboxes.options.cache_dir == tmp_path and sandboxes.options.max_environments == 2
    default = sandboxes_for(Settings())
    assert isinstance(default, LocalSandboxes) and default.options == LocalOptions()  # closed


def test_a_run_without_isolation_says_so_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = str(tmp_path / "no-bwrap")
    with caplog.at_level(logging.WARNING):
        sandboxes_for(Settings(bwrap=missing))
        sandboxes_for(Settings(bwrap=missing, unisolated_sandbox=True))
    refused, allowed = [record for record in caplog.records if "bubblewrap" in record.message]
    assert refused.levelname == "ERROR" and "refusing" in refused.message
    assert allowed.levelname == "WARNING" and "UNISOLATED SANDBOX" in allowed.message


def test_the_dashboard_links_to_the_configured_github(tmp_path: Path) -> None:
    from app.clock import SystemClock
    from app.serving import ServerThread
    from app.store.issues import IssueRecord, upsert_issue_tx
    from app.wiring import build_web_app

    settings = Settings(
        db_url=str(tmp_path / "links.db"),
        webhook_secret="s",
        github_app=GitHubAppCredentials(1, "not-used-offline"),
        github_web_url="http://hub.example",
    )
    runtime = build_runtime(settings, sweep_on_webhooks=False)
    clock = SystemClock()

    def seed(tx: Tx) -> None:
        tx.execute("INSERT INTO installations (id, account_login, created_at) VALUES (1, 'o', '')")
        tx.execute(
            "INSERT INTO repos (id, installation_id, full_name, default_branch, private,"
            " created_at, updated_at) VALUES (1, 1, 'octo/calc', 'main', 0, '', '')"
        )
        upsert_issue_tx(tx, clock, 1, IssueRecord(number=7, title="Add it", body="", author="a"))

    try:
        runtime.store.run_sync(seed)
        with ServerThread(build_web_app(runtime, process=False)) as server:
            page = httpx.get(server.url + "/").text
    finally:
        runtime.store.close_sync()
    assert 'href="http://hub.example/octo/calc/issues/7"' in page
    assert "https://github.com/octo/calc" not in page
