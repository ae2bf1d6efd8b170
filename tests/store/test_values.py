"""Values and constraints come back from a libSQL server exactly as from the file.

Run on the file and on the server through our Hrana client only: the `libsql` client sends
integers beyond 32 bits as floats and leaves foreign keys off (tests/libsql_server shows it).
"""

from __future__ import annotations

import pytest

from app.store import Store, StoreError, Tx

VALUES = [
    0,
    -1,
    2**31 - 1,
    -(2**31),
    0.1,
    -2.5e300,
    "",
    "naïve ✓ 'quoted' \"double\"",
    b"",
    b"\x00\xff binary\x00",
    None,
]


@pytest.mark.parametrize("backend", ["file", "hrana"], indirect=True)
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_value_comes_back_as_it_was_stored(store: Store, value: object) -> None:
    def store_and_read(tx: Tx) -> tuple[object, str]:
        tx.execute("CREATE TABLE IF NOT EXISTS kept (v)")
        tx.execute("INSERT INTO kept (v) VALUES (?)", (value,))
        row = tx.fetchone("SELECT v, typeof(v) AS kind FROM kept")
        assert row is not None
        return row["v"], row["kind"]

    stored, kind = store.run_sync(store_and_read)
    assert stored == value and type(stored) is type(value)
    expected = {int: "integer", float: "real", str: "text", bytes: "blob"}
    assert kind == expected.get(type(value), "null")


# The `libsql` package binds a Python int beyond 32 bits as a REAL, for a file too: an INTEGER
# column converts it back exactly up to 2**53 only. Hrana sends integers as decimal strings.
WIDE_INTEGERS = [2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, -(2**63)]


@pytest.mark.parametrize("backend", ["hrana"], indirect=True)
@pytest.mark.parametrize("value", WIDE_INTEGERS)
def test_a_64_bit_integer_round_trips_exactly(store: Store, value: int) -> None:
    def store_and_read(tx: Tx) -> list[dict[str, object]]:
        tx.execute("CREATE TABLE wide (v)")
        tx.execute("INSERT INTO wide (v) VALUES (?)", (value,))
        return tx.fetchall("SELECT v, typeof(v) AS kind, v - ? AS diff FROM wide", (value,))

    assert store.run_sync(store_and_read) == [{"v": value, "kind": "integer", "diff": 0}]


@pytest.mark.parametrize("backend", ["hrana"], indirect=True)
def test_an_integer_beyond_64_bits_is_refused_before_it_is_sent(store: Store) -> None:
    with pytest.raises(StoreError, match="does not fit in SQLite's 64 bits"):
        store.run_sync(lambda tx: tx.scalar("SELECT ?", (2**63,)))


@pytest.mark.parametrize("backend", ["file", "hrana"], indirect=True)
async def test_a_foreign_key_violation_is_refused_and_changes_nothing(store: Store) -> None:
    def orphan_repo(tx: Tx) -> None:
        tx.execute("INSERT INTO installations (id, account_login, created_at) VALUES (1, 'o', '')")
        tx.execute(
            "INSERT INTO repos (id, installation_id, full_name, created_at, updated_at)"
            " VALUES (1, 2, 'o/r', '', '')"
        )

    with pytest.raises(StoreError, match="FOREIGN KEY constraint failed"):
        await store.run(orphan_repo)
    assert await store.fetchall("SELECT id FROM installations") == []
    with pytest.raises(StoreError, match="FOREIGN KEY constraint failed"):
        await store.execute(
            "INSERT INTO repos (id, installation_id, full_name, created_at, updated_at)"
            " VALUES (1, 2, 'o/r', '', '')"
        )


@pytest.mark.parametrize("backend", ["file", "hrana"], indirect=True)
async def test_a_failed_statement_names_the_server_s_reason(store: Store) -> None:
    with pytest.raises(StoreError, match=r"no such table: nowhere.*\(in: SELECT"):
        await store.fetchall("SELECT * FROM nowhere")
