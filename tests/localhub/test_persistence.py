"""State persisted to JSON survives a restart; a hub can be served more than once."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.serving import ServerThread
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair

from .conftest import make_github, seed_source


def test_state_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "hub"
    first = LocalHub(data_dir, persist=True)
    with ServerThread(first.create_app()) as server, LocalHubControl(server.url) as ctl:
        ctl.create_repo_from_dir("octo", "kept", seed_source(tmp_path))
        ctl.create_user("dora", token="dora-token")
        ctl.create_issue("octo", "kept", "dora", "Remember me", labels=["sticky"])
        ctl.add_reaction("octo", "kept", 1, "dora", "rocket")
        path = ctl.repo_path("octo", "kept")
    assert (data_dir / "state.json").exists() and path.is_dir()

    second = LocalHub(data_dir, persist=True)
    with ServerThread(second.create_app()) as server:
        gh = make_github(server.url, "dora-token")
        issue = gh.rest.issues.get("octo", "kept", 1).parsed_data
        assert issue.title == "Remember me" and issue.reactions and issue.reactions.rocket == 1
        assert [label.name for label in issue.labels if not isinstance(label, str)] == ["sticky"]
        assert gh.rest.repos.get_branch("octo", "kept", "main").parsed_data.name == "main"
        created = gh.rest.issues.create("octo", "kept", title="Next").parsed_data
        assert created.number == 2 and created.id > issue.id


def test_without_persistence_nothing_is_written(tmp_path: Path) -> None:
    hub = LocalHub(tmp_path / "hub")
    with ServerThread(hub.create_app()) as server, LocalHubControl(server.url) as ctl:
        ctl.create_user("eve")
    assert not (tmp_path / "hub" / "state.json").exists()


def test_a_hub_can_be_stopped_and_served_again(tmp_path: Path) -> None:
    hub = LocalHub(tmp_path / "hub")
    received: list[bytes] = []

    async def hook(request: Request) -> Response:
        received.append(await request.body())
        return Response(status_code=204)

    sink = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with ServerThread(sink) as receiver:
        for round_number in (1, 2):
            with ServerThread(hub.create_app()) as server, LocalHubControl(server.url) as ctl:
                if round_number == 1:
                    ctl.create_app("relay", generate_app_keypair().public_key_pem, app_id=7)
                    ctl.create_repo("octo", "again")
                    ctl.create_installation(7, "octo")
                    ctl.create_user("gus")
                    ctl.set_webhook(receiver.url + "/hook", "s")
                ctl.create_issue("octo", "again", "gus", f"Round {round_number}")
                assert [d["status_code"] for d in ctl.wait_for_webhooks()][-1] == 204
    assert len(received) == 2
