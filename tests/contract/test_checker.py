"""The checkers themselves: a real answer passes, and drift from GitHub's description fails."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from githubkit.compat import type_validate_python
from pydantic import ValidationError

from app.github.compat import fill_label_fields
from app.serving import ServerThread
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.votes import query

from .beyond import response_model
from .checker import Contract, apply_errata, to_json_schema, webhook_key
from .graphql_checker import check_document
from .refresh import OPENAPI_VERSION

OWNER, REPO = "octo", "demo"


@dataclass
class Answers:
    """Real localhub answers to check, and a webhook payload it sent."""

    repository: dict[str, Any]
    pulls_list_query: str
    issue_opened: dict[str, Any]


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Answers]:
    """Ask a fresh localhub for a repository and have it send an `issues` webhook."""
    workdir = tmp_path_factory.mktemp("checker")
    source = workdir / "source"
    source.mkdir()
    (source / "README.md").write_text("# demo\n")
    hub = LocalHub(workdir / "hub")
    with ServerThread(hub.create_app()) as server, LocalHubControl(server.url) as ctl:
        ctl.create_app("townhall", generate_app_keypair().public_key_pem, app_id=7)
        ctl.create_repo_from_dir(OWNER, REPO, source)
        ctl.create_user("alice", token="alice-token")
        ctl.create_installation(7, OWNER)
        ctl.set_webhook("http://127.0.0.1:9/webhook", "secret")  # nobody listens: kept anyway
        ctl.create_issue(OWNER, REPO, "alice", "Dark mode")
        ctl.wait_for_webhooks()
        headers = {"authorization": "token alice-token", "x-github-api-version": "2022-11-28"}
        repository = httpx.get(f"{server.url}/repos/{OWNER}/{REPO}", headers=headers).json()
        opened = next(
            d["payload"]
            for d in ctl.deliveries(with_payload=True)
            if (d["event"], d["action"]) == ("issues", "opened")
        )
    yield Answers(repository, "state=open&per_page=100&page=1", opened)


def test_the_description_is_the_pinned_package(description: Contract) -> None:
    assert description.source == {
        "package": "@octokit/openapi",
        "version": OPENAPI_VERSION,
        "file": "generated/api.github.com.json",
    }


def test_a_real_answer_passes_and_drifted_ones_fail(
    description: Contract, answers: Answers
) -> None:
    operation = description.operations["repos/get"]
    assert description.check_response(operation, 200, answers.repository, {}) == []

    wrong_type = copy.deepcopy(answers.repository) | {"id": "12"}
    assert description.check_response(operation, 200, wrong_type, {}) == [
        "repos/get 200 body: $.id: '12' is not of type 'integer'"
    ]
    missing = copy.deepcopy(answers.repository)
    del missing["full_name"]
    assert description.check_response(operation, 200, missing, {}) == [
        "repos/get 200 body: $: 'full_name' is a required property"
    ]
    assert description.check_response(operation, 418, answers.repository, {}) == [
        "repos/get 418: status not described (described: ['200', '301', '403', '404'])"
    ]
    # A 304 is fine only as the answer to a conditional request.
    assert description.check_response(operation, 304, None, {}, conditional=True) == []
    assert description.check_response(operation, 304, None, {})


def test_drifted_requests_fail(description: Contract, answers: Answers) -> None:
    pulls_list = description.operations["pulls/list"]
    assert description.check_request(pulls_list, answers.pulls_list_query, None) == []
    assert description.check_request(pulls_list, "state=opened", None) == [
        "pulls/list request ?state: $: 'opened' is not one of ['open', 'closed', 'all']"
    ]
    assert description.check_request(pulls_list, "sate=open", None) == [
        "pulls/list request: query parameter 'sate' is not described"
    ]
    create = description.operations["pulls/create"]
    assert description.check_request(create, "", {"head": "b", "base": "main"}) == []
    assert description.check_request(create, "", {"base": "main"}) == [
        "pulls/create request body: $: 'head' is a required property"
    ]
    assert description.check_request(create, "", None) == [
        "pulls/create request: the required body is missing"
    ]


def test_a_raw_bot_suffix_in_a_url_breaks_the_webhook_schema(
    description: Contract, answers: Answers
) -> None:
    key = webhook_key("issues", "opened")
    assert description.check_webhook(key, answers.issue_opened) == []
    broken = copy.deepcopy(answers.issue_opened)
    broken["sender"]["url"] = broken["sender"]["url"].replace("alice", "townhall[bot]")
    problems = description.check_webhook(key, broken)
    assert problems and all("$.sender" in problem for problem in problems), problems


def test_nullable_becomes_a_null_type_and_refs_point_into_the_description() -> None:
    assert to_json_schema({"type": "string", "nullable": True, "enum": ["a"]}) == {
        "type": ["string", "null"],
        "enum": ["a", None],
    }
    assert to_json_schema({"$ref": "#/components/schemas/x", "nullable": True}) == {
        "anyOf": [{"$ref": "urn:github-openapi#/components/schemas/x"}, {"type": "null"}]
    }


def test_errata_replace_exactly_what_they_name() -> None:
    components: dict[str, Any] = {
        "schemas": {
            "pull-request-simple": {
                "properties": {
                    "labels": {"items": {"properties": {"description": {"type": "string"}}}}
                }
            }
        }
    }
    apply_errata(components)
    labels = components["schemas"]["pull-request-simple"]["properties"]["labels"]
    assert labels["items"]["properties"]["description"] == {"type": "string", "nullable": True}


def test_townhall_graphql_documents_validate_and_drift_fails() -> None:
    variables = {"owner": "o", "name": "r", "cursor": None}
    assert check_document(query.OPEN_ISSUES_QUERY, variables) == []
    assert check_document(query.issues_by_number_query([1, 2]), {"owner": "o", "name": "r"}) == []
    more = query.more_reactions_query([3, 4])
    assert check_document(more, {"owner": "o", "name": "r", "c3": "Y3Vy", "c4": None}) == []

    drifted = query.OPEN_ISSUES_QUERY.replace("createdAt updatedAt", "createdAt editedAt")
    problems = check_document(drifted)
    assert len(problems) == 1
    assert problems[0].startswith("Cannot query field 'editedAt' on type 'Issue'.")
    assert check_document(query.OPEN_ISSUES_QUERY, {"owner": 5, "name": "r"}) == [
        "variables: Variable '$owner' has invalid value: String cannot represent a non string"
        " value: 5"
    ]


def test_githubkits_label_model_needs_fields_the_description_lacks_until_filled() -> None:
    described_label = {
        "id": 1,
        "node_id": "MDU6TGFiZWwx",
        "url": "https://api.github.com/repos/o/r/labels/bug",
        "name": "bug",
        "description": None,
        "color": "d73a4a",
        "default": False,
    }
    model = response_model("issues/add-labels")
    with pytest.raises(ValidationError, match="archived_at"):
        type_validate_python(model, [dict(described_label)])
    filled = [dict(described_label)]
    assert fill_label_fields(filled)
    assert type_validate_python(model, filled)[0].archived_at is None
