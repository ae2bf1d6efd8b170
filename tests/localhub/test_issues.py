"""Issues, labels, assignees, comments and reactions over REST, validated by githubkit."""

from __future__ import annotations

from typing import Any

import pytest
from githubkit.exception import RequestFailed

from .conftest import OWNER, REPO, World


def test_issue_lifecycle_as_a_person_and_as_the_app(world: World) -> None:
    alice, bot = world.as_user("alice"), world.as_installation()
    issue = alice.rest.issues.create(OWNER, REPO, title="Dark mode", body="please").parsed_data
    assert (issue.number, issue.user and issue.user.login, issue.state) == (1, "alice", "open")
    assert issue.user and issue.user.type == "User"

    edited = alice.rest.issues.update(OWNER, REPO, 1, title="Dark mode!", body="pretty please")
    assert edited.parsed_data.title == "Dark mode!"

    labelled = bot.rest.issues.add_labels(OWNER, REPO, 1, labels=["townhall:approved", "ui"])
    assert sorted(label.name for label in labelled.parsed_data) == ["townhall:approved", "ui"]
    remaining = bot.rest.issues.remove_label(OWNER, REPO, 1, "ui").parsed_data
    assert [label.name for label in remaining] == ["townhall:approved"]
    assigned = bot.rest.issues.add_assignees(OWNER, REPO, 1, assignees=["carol"]).parsed_data
    assert [a.login for a in assigned.assignees or []] == ["carol"]

    closed = bot.rest.issues.update(OWNER, REPO, 1, state="closed", labels=["done"]).parsed_data
    assert closed.state == "closed" and closed.closed_at is not None
    assert closed.closed_by and closed.closed_by.login == "townhall[bot]"
    assert [label.name if not isinstance(label, str) else label for label in closed.labels] == [
        "done"
    ]
    fetched = alice.rest.issues.get(OWNER, REPO, 1).parsed_data
    assert fetched.state == "closed" and fetched.title == "Dark mode!"


def test_people_cannot_edit_or_label_what_is_not_theirs(world: World) -> None:
    alice, bob = world.as_user("alice"), world.as_user("bob")
    alice.rest.issues.create(OWNER, REPO, title="Mine")
    with pytest.raises(RequestFailed) as caught:
        bob.rest.issues.update(OWNER, REPO, 1, title="Ours now")
    assert caught.value.response.status_code == 403
    with pytest.raises(RequestFailed) as caught:
        bob.rest.issues.add_labels(OWNER, REPO, 1, labels=["x"])
    assert caught.value.response.status_code == 403


def test_issue_listing_paginates_with_link_headers_and_filters_state(world: World) -> None:
    for n in range(1, 8):
        world.ctl.create_issue(OWNER, REPO, "alice", f"Issue {n}")
    bot = world.as_installation()
    bot.rest.issues.update(OWNER, REPO, 3, state="closed")
    first = bot.rest.issues.list_for_repo(OWNER, REPO, per_page=2, page=1)
    assert 'rel="next"' in first.headers["link"] and 'rel="last"' in first.headers["link"]
    assert [i.number for i in first.parsed_data] == [7, 6]
    everything: list[Any] = list(
        bot.rest.paginate(bot.rest.issues.list_for_repo, owner=OWNER, repo=REPO, per_page=2)
    )
    assert [i.number for i in everything] == [7, 6, 5, 4, 2, 1]
    closed = bot.rest.issues.list_for_repo(OWNER, REPO, state="closed").parsed_data
    assert [i.number for i in closed] == [3]
    oldest_first = bot.rest.issues.list_for_repo(OWNER, REPO, state="all", direction="asc")
    assert [i.number for i in oldest_first.parsed_data] == list(range(1, 8))


def test_comments_create_list_update_delete(world: World) -> None:
    world.ctl.create_issue(OWNER, REPO, "alice", "Discuss")
    bot, bob = world.as_installation(), world.as_user("bob")
    mine = bot.rest.issues.create_comment(OWNER, REPO, 1, body="Tally: 0").parsed_data
    assert mine.user and mine.user.login == "townhall[bot]" and mine.user.type == "Bot"
    theirs = bob.rest.issues.create_comment(OWNER, REPO, 1, body="+1 from me").parsed_data
    updated = bot.rest.issues.update_comment(OWNER, REPO, mine.id, body="Tally: 1").parsed_data
    assert updated.body == "Tally: 1"
    listed = bot.rest.issues.list_comments(OWNER, REPO, 1).parsed_data
    assert [(c.id, c.body) for c in listed] == [(mine.id, "Tally: 1"), (theirs.id, "+1 from me")]
    assert bot.rest.issues.get_comment(OWNER, REPO, theirs.id).parsed_data.body == "+1 from me"
    with pytest.raises(RequestFailed) as caught:
        bob.rest.issues.update_comment(OWNER, REPO, mine.id, body="hijack")
    assert caught.value.response.status_code == 403
    bot.rest.issues.delete_comment(OWNER, REPO, mine.id)
    assert [c.id for c in bot.rest.issues.list_comments(OWNER, REPO, 1).parsed_data] == [theirs.id]
    issue = bot.rest.issues.get(OWNER, REPO, 1).parsed_data
    assert issue.comments == 1


def test_250_reactions_page_to_the_end_over_rest(world: World) -> None:
    world.ctl.create_issue(OWNER, REPO, "alice", "Popular")
    voters = [{"user": f"voter{n:03d}", "content": "+1"} for n in range(250)]
    for voter in voters:
        world.ctl.create_user(voter["user"])
    world.ctl.add_reactions(OWNER, REPO, 1, voters)
    bot = world.as_installation()
    first = bot.rest.reactions.list_for_issue(OWNER, REPO, 1, per_page=100)
    assert len(first.parsed_data) == 100
    assert 'page=3>; rel="last"' in first.headers["link"]
    pages = list(
        bot.rest.paginate(
            bot.rest.reactions.list_for_issue, owner=OWNER, repo=REPO, issue_number=1, per_page=100
        )
    )
    assert len(pages) == 250
    assert len({r.user.login for r in pages if r.user}) == 250
    issue = bot.rest.issues.get(OWNER, REPO, 1).parsed_data
    assert issue.reactions and issue.reactions.plus_one == 250


def test_reactions_create_is_idempotent_and_delete_is_own_only(world: World) -> None:
    world.ctl.create_issue(OWNER, REPO, "alice", "React to me")
    bob, carol = world.as_user("bob"), world.as_user("carol")
    created = bob.rest.reactions.create_for_issue(OWNER, REPO, 1, content="heart")
    assert created.status_code == 201
    again = bob.rest.reactions.create_for_issue(OWNER, REPO, 1, content="heart")
    assert again.status_code == 200 and again.parsed_data.id == created.parsed_data.id
    carol.rest.reactions.create_for_issue(OWNER, REPO, 1, content="-1")
    hearts = bob.rest.reactions.list_for_issue(OWNER, REPO, 1, content="heart").parsed_data
    assert [(r.user and r.user.login, r.content) for r in hearts] == [("bob", "heart")]
    with pytest.raises(RequestFailed) as caught:
        carol.rest.reactions.delete_for_issue(OWNER, REPO, 1, created.parsed_data.id)
    assert caught.value.response.status_code == 403
    bob.rest.reactions.delete_for_issue(OWNER, REPO, 1, created.parsed_data.id)
    left = bob.rest.reactions.list_for_issue(OWNER, REPO, 1).parsed_data
    assert [r.content for r in left] == ["-1"]
    unchecked = world.as_user("bob", rest_api_validate_body=False)
    with pytest.raises(RequestFailed) as caught:
        unchecked.rest.reactions.create_for_issue(OWNER, REPO, 1, content="thumbsup")  # type: ignore[call-overload]
    assert caught.value.response.status_code == 422
