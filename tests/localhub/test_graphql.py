"""The GraphQL endpoint: the vote sweep query, cursor pagination, limits, cost and errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from githubkit.exception import GraphQLFailed, RequestFailed

from .conftest import OWNER, REPO, World, make_github

SWEEP = """
query Sweep($owner: String!, $name: String!, $after: String, $reactionsAfter: String) {
  repository(owner: $owner, name: $name) {
    issues(first: 100, after: $after, states: [OPEN],
           orderBy: {field: CREATED_AT, direction: ASC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        number title body createdAt updatedAt
        author { login }
        labels(first: 20) { nodes { name } }
        reactionGroups { content reactors(first: 1) { totalCount } }
        reactions(first: 100, after: $reactionsAfter) {
          totalCount
          pageInfo { hasNextPage endCursor }
          nodes { content createdAt user { login createdAt } }
        }
      }
    }
  }
  rateLimit { cost remaining resetAt }
}
"""


def _seed_votes(world: World, voters: int) -> None:
    world.ctl.create_issue(OWNER, REPO, "alice", "Popular", "Do it", labels=["idea"])
    world.ctl.create_issue(OWNER, REPO, "bob", "Closed one")
    world.ctl.create_issue(OWNER, REPO, "carol", "Quiet")
    old = world.clock.now() - timedelta(days=400)
    items = []
    for n in range(voters):
        login = f"voter{n:03d}"
        world.ctl.create_user(login, created_at=old + timedelta(days=n))
        items.append({"user": login, "content": "+1" if n % 5 else "-1"})
    world.ctl.add_reactions(OWNER, REPO, 1, items)
    world.ctl.add_reaction(OWNER, REPO, 1, "townhall[bot]", "eyes")
    closer = world.as_installation()
    closer.rest.issues.update(OWNER, REPO, 2, state="closed")


def test_vote_sweep_pages_issues_and_250_reactions_to_the_end(world: World) -> None:
    _seed_votes(world, 250)
    gh = world.as_installation()
    variables: dict[str, Any] = {"owner": OWNER, "name": REPO}
    data = gh.graphql(SWEEP, variables)
    issues = data["repository"]["issues"]
    assert issues["totalCount"] == 2 and not issues["pageInfo"]["hasNextPage"]
    popular, quiet = issues["nodes"]
    assert (popular["number"], quiet["number"]) == (1, 3)
    assert popular["author"] == {"login": "alice"}
    assert popular["labels"]["nodes"] == [{"name": "idea"}]
    groups = {g["content"]: g["reactors"]["totalCount"] for g in popular["reactionGroups"]}
    assert groups == {
        "THUMBS_UP": 200, "THUMBS_DOWN": 50, "LAUGH": 0, "HOORAY": 0,
        "CONFUSED": 0, "HEART": 0, "ROCKET": 0, "EYES": 1,
    }  # fmt: skip
    # 1 request for issues + 100 each for labels, reactors and reactions: 301 / 100 → 3.
    assert data["rateLimit"]["cost"] == 3

    seen = []
    page = popular["reactions"]
    while True:
        seen += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        variables["reactionsAfter"] = page["pageInfo"]["endCursor"]
        page = gh.graphql(SWEEP, variables)["repository"]["issues"]["nodes"][0]["reactions"]
    assert len(seen) == 251 == page["totalCount"]
    humans = [r["user"]["login"] for r in seen if r["user"]]
    assert len(set(humans)) == 250
    assert seen[0]["user"]["createdAt"] < seen[-2]["user"]["createdAt"]
    assert seen[-1] == {"content": "EYES", "createdAt": seen[-1]["createdAt"], "user": None}


def test_reactors_show_bots_without_their_suffix(world: World) -> None:
    _seed_votes(world, 2)
    gh = world.as_user("alice")
    query = """
    query { repository(owner: "octo", name: "demo") { issue(number: 1) {
      reactionGroups { content reactors(first: 10) { nodes {
        __typename ... on User { login } ... on Bot { login } } } } } } }
    """
    groups = gh.graphql(query)["repository"]["issue"]["reactionGroups"]
    eyes = next(g for g in groups if g["content"] == "EYES")
    assert eyes["reactors"]["nodes"] == [{"__typename": "Bot", "login": "townhall"}]


def test_first_over_100_is_refused_like_github(world: World) -> None:
    gh = world.as_installation()
    query = (
        'query { repository(owner: "octo", name: "demo") { issues(first: 101) { totalCount } } }'
    )
    with pytest.raises(GraphQLFailed) as caught:
        gh.graphql(query)
    error = caught.value.response.errors[0]  # type: ignore[index]
    assert error.type == "EXCESSIVE_PAGINATION"
    assert error.message == (
        "Requesting 101 records on the `issues` connection exceeds the `first` limit of 100 "
        "records."
    )
    unbounded = 'query { repository(owner: "octo", name: "demo") { issues { totalCount } } }'
    with pytest.raises(GraphQLFailed) as caught:
        gh.graphql(unbounded)
    assert caught.value.response.errors[0].type == "MISSING_PAGINATION_BOUNDARIES"  # type: ignore[index]


def test_query_cost_follows_githubs_rule_and_is_counted(world: World) -> None:
    world.ctl.reset_counters()
    gh = world.as_installation()
    cheap = """query { repository(owner: "octo", name: "demo") {
      issues(first: 100) { nodes { reactions(first: 100) { totalCount } } } }
      rateLimit { cost remaining } }"""
    costly = """query { repository(owner: "octo", name: "demo") {
      issues(first: 100) { nodes {
        reactions(first: 100) { totalCount } labels(first: 100) { totalCount } } } }
      rateLimit { cost remaining } }"""
    assert gh.graphql(cheap)["rateLimit"]["cost"] == 1
    second = gh.graphql(costly)["rateLimit"]
    assert second == {"cost": 2, "remaining": 5000 - 3}
    counters = world.ctl.counters()
    assert counters["graphql"] == {"queries": 2, "cost": 3, "costs": [1, 2]}
    assert counters["routes"]["POST /graphql"] == 2


def test_graphql_errors_missing_repo_bad_field_and_no_credentials(world: World) -> None:
    gh = world.as_installation()
    with pytest.raises(GraphQLFailed) as caught:
        gh.graphql('query { repository(owner: "octo", name: "nope") { name } }')
    assert caught.value.response.errors[0].type == "NOT_FOUND"  # type: ignore[index]
    assert caught.value.response.data == {"repository": None}
    with pytest.raises(GraphQLFailed) as caught:
        gh.graphql('query { repository(owner: "octo", name: "demo") { stars } }')
    assert "stars" in caught.value.response.errors[0].message  # type: ignore[index]
    anonymous = make_github(world.url, None)
    with pytest.raises(RequestFailed) as failed:
        anonymous.graphql("query { viewer { login } }")
    assert failed.value.response.status_code == 401
