"""modal_app imports offline; its functions' settings are checked and their bodies run locally."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

import modal_app
from app.serving import ServerThread
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.standins.scripted_model import ScriptedModel


def secrets(*names: str) -> list[str]:
    return [f"modal.Secret.from_name('{name}')" for name in names]


WEB = secrets("townhall-github", "townhall-store", "townhall-settings")
MODEL_CALLER = [*WEB, *secrets("townhall-anthropic")]


def test_every_function_has_its_schedule_timeout_and_secrets() -> None:
    web = modal_app.web.info()
    assert web.web_info is not None and web.timeout == 60
    assert web.secrets == WEB
    tick = modal_app.ceo_tick.info()
    assert tick.schedule == "Cron('*/5 * * * *', UTC)"
    assert tick.timeout == 900 and tick.secrets == MODEL_CALLER
    worker = modal_app.run_worker.info()
    assert worker.timeout == 3600 and worker.secrets == MODEL_CALLER
    assert worker.max_retries == 0  # a retried attempt would run twice; leases recover instead
    assert worker.schedule is None and worker.web_info is None
    review = modal_app.run_review.info()
    assert review.timeout == 1800 and review.secrets == MODEL_CALLER and review.max_retries == 0
    step = modal_app.tick_repo.info()
    assert step.timeout == 600 and step.secrets == MODEL_CALLER and step.max_retries == 0
    assert step.schedule is None and step.web_info is None


def test_repository_steps_keep_their_mirrors_on_a_volume() -> None:
    mounted = modal_app.tick_repo.info().volumes
    assert list(mounted) == [modal_app.MIRRORS]
    assert mounted[modal_app.MIRRORS].name == "townhall-mirrors"
    assert not mounted[modal_app.MIRRORS].read_only  # each step commits what it fetched


def test_only_functions_that_call_the_model_hold_its_key() -> None:
    secrets_by_function = {
        "web": modal_app.web.info().secrets,
        "ceo_tick": modal_app.ceo_tick.info().secrets,
        "run_worker": modal_app.run_worker.info().secrets,
        "run_review": modal_app.run_review.info().secrets,
        "tick_repo": modal_app.tick_repo.info().secrets,
    }
    holders = {
        name
        for name, held in secrets_by_function.items()
        if any("townhall-anthropic" in secret for secret in held)
    }
    assert holders == {"ceo_tick", "run_worker", "run_review", "tick_repo"}


@pytest.fixture
def offline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalHubControl]:
    """Point every setting at the offline stand-ins, as the Modal secrets would in production."""
    keys = generate_app_keypair()
    hub = LocalHub(tmp_path / "hub", token_ttl=timedelta(hours=1))
    model = ScriptedModel()
    with (
        ServerThread(hub.create_app()) as hub_server,
        ServerThread(model.create_app()) as model_server,
        LocalHubControl(hub_server.url) as ctl,
    ):
        ctl.create_app("townhall", keys.public_key_pem, app_id=12, owner="townhall-org")
        for name, value in {
            "TOWNHALL_GITHUB_APP_ID": "12",
            "TOWNHALL_GITHUB_PRIVATE_KEY": keys.private_key_pem,
            "TOWNHALL_WEBHOOK_SECRET": "s",
            "TOWNHALL_GITHUB_API_URL": hub_server.url,
            "TOWNHALL_DB_URL": str(tmp_path / "modal.db"),
            "ANTHROPIC_API_KEY": "k",
            "ANTHROPIC_BASE_URL": model_server.url,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("TOWNHALL_ENV_FILE", str(tmp_path / "no.env"))
        yield ctl


def test_the_tick_body_runs_locally(offline_env: LocalHubControl) -> None:
    assert modal_app.ceo_tick.local().startswith("tick: ")


# Modal says so when a body that mounts a volume runs outside Modal: that is the point here.
@pytest.mark.filterwarnings("ignore:The tick_repo function is executing locally")
def test_the_tick_and_repository_step_bodies_run_a_repository_locally(
    offline_env: LocalHubControl, tmp_path: Path
) -> None:
    from app.store.repos import ActiveRepo

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "README.md").write_text("# shop\n")
    repository = offline_env.create_repo_from_dir("octo", "shop", tmp_path / "src")["repository"]
    installation = offline_env.create_installation(12, "octo")
    offline_env.create_user("alice")
    offline_env.create_issue("octo", "shop", "alice", "An idea", "Please.")

    described = modal_app.ceo_tick.local()  # registers the repository and steps through it
    assert "swept octo/shop 1 issue" in described, described
    repo = ActiveRepo(repository["id"], installation["id"], "octo/shop", "main")
    step = modal_app.tick_repo.local(repo, "townhall[bot]")
    assert step.ran and step.swept == {"octo/shop": 1} and not step.errors, step.errors


def test_the_worker_body_ends_quietly_for_an_unknown_task(offline_env: LocalHubControl) -> None:
    assert modal_app.run_worker.local(999, 1) is None


def test_the_web_body_serves_healthz(offline_env: LocalHubControl) -> None:
    web_app = modal_app.web.local()
    with ServerThread(web_app) as server:
        assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_the_web_body_starts_without_the_model_key(
    offline_env: LocalHubControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As deployed: `web` gets no townhall-anthropic secret, so no model key in its environment.
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("ANTHROPIC_BASE_URL")
    with ServerThread(modal_app.web.local()) as server:
        assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_the_review_body_runs_locally(offline_env: LocalHubControl) -> None:
    assert modal_app.run_review.local(999).startswith("task 999: ")
