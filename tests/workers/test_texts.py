"""The PR body's figures read as people expect."""

from workers.texts import dollars


def test_a_cost_under_a_cent_is_not_rounded_to_zero() -> None:
    assert dollars(0.0069) == "$0.0069"  # a 7k-token task on the fast model
    assert dollars(0.0) == "$0"
    assert dollars(1.234) == "$1.23"
