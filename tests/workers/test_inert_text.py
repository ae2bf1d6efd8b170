"""Text Townhall posts acts on nothing: references and mentions stay inside code spans."""

from __future__ import annotations

import re

from app.untrusted import code_span, inert_line, inert_markdown


def _outside_code(text: str) -> str:
    """What CommonMark leaves outside code spans (a run closes only on a run of its length)."""
    unescaped = re.sub(r"\\[\\`]", "", text)  # an escaped backtick opens and closes nothing
    return re.sub(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", "", unescaped, flags=re.S)


def test_a_code_span_holds_any_file_name() -> None:
    assert code_span("src/app.py") == "`src/app.py`"
    assert code_span("a`@eve`.txt") == "``a`@eve`.txt``"
    assert code_span("`x") == "`` `x ``"
    assert code_span("a\nCloses #9\t.txt") == "`a\\nCloses #9\\t.txt`"


def test_an_inert_line_quotes_references_and_cannot_reopen_them() -> None:
    assert inert_line("Fixes #7, thanks @mallory") == "Fixes `#7`, thanks `@mallory`"
    # A backtick of its own would pair with the quotes and leave "#7" outside a code span.
    assert inert_line("a` Fixes #7\nCloses #8") == "a' Fixes `#7` Closes `#8`"
    assert inert_line(inert_line("Fixes #7")) == inert_line("Fixes #7")


def test_backticks_of_the_texts_own_cannot_leave_a_reference_outside_code() -> None:
    for text in (
        "Done ` then thanks @mallory and Fixes #12",
        "a `` b @mallory",
        "x `@mallory",
        "```\nFixes #12\n",
    ):
        visible = _outside_code(inert_markdown(text))
        assert "@mallory" not in visible and "#12" not in visible, inert_markdown(text)


def test_issue_urls_and_gh_numbers_are_quoted_too() -> None:
    text = inert_markdown("Fixes https://github.com/octo/calc/issues/5 and GH-6")
    assert text == "Fixes `https://github.com/octo/calc/issues/5` and `GH-6`"
    assert inert_line("Closes GH-7") == "Closes `GH-7`"
