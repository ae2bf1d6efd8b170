"""A small ctypes binding to the SQLite library that Python's own sqlite3 module loads.

Hrana's `describe` answers from a statement that is prepared and never run (its columns,
parameters, read-only flag), as sqld does with sqlite3_prepare; Python's sqlite3 module cannot
prepare without running, so the stand-in drives SQLite through its C API instead.
"""

from __future__ import annotations

import _sqlite3
import ctypes
import ctypes.util
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SQLITE_OK = 0
SQLITE_ROW = 100
SQLITE_DONE = 101
SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB, SQLITE_NULL = 1, 2, 3, 4, 5
OPEN_READWRITE, OPEN_CREATE, OPEN_FULLMUTEX = 0x2, 0x4, 0x10000
# SQLITE_TRANSIENT: SQLite copies bound text and blobs before the call returns.
TRANSIENT = ctypes.c_void_p(-1)

Value = None | int | float | str | bytes

# sqld names an error by its primary result code (rusqlite's names; SQLITE_ERROR is "unknown").
PRIMARY_CODE_NAMES = {
    1: "SQLITE_UNKNOWN",
    2: "SQLITE_INTERNAL",
    3: "SQLITE_PERM",
    4: "SQLITE_ABORT",
    5: "SQLITE_BUSY",
    6: "SQLITE_LOCKED",
    7: "SQLITE_NOMEM",
    8: "SQLITE_READONLY",
    9: "SQLITE_INTERRUPT",
    10: "SQLITE_IOERR",
    11: "SQLITE_CORRUPT",
    12: "SQLITE_NOTFOUND",
    13: "SQLITE_FULL",
    14: "SQLITE_CANTOPEN",
    15: "SQLITE_PROTOCOL",
    17: "SQLITE_SCHEMA",
    18: "SQLITE_TOOBIG",
    19: "SQLITE_CONSTRAINT",
    20: "SQLITE_MISMATCH",
    21: "SQLITE_MISUSE",
    22: "SQLITE_NOLFS",
    23: "SQLITE_AUTH",
    25: "SQLITE_RANGE",
    26: "SQLITE_NOTADB",
}


def _library() -> ctypes.CDLL:
    # The sqlite3 module's extension resolves SQLite's symbols whether it links the library
    # dynamically (Debian, Ubuntu) or carries it inside (some standalone builds).
    extension = ctypes.CDLL(_sqlite3.__file__)
    if hasattr(extension, "sqlite3_prepare_v2"):
        return extension
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        raise OSError("the SQLite library is not available")
    return ctypes.CDLL(name)


_lib = _library()
_p = ctypes.c_void_p


def _declare(name: str, result: Any, *arguments: Any) -> None:
    function = getattr(_lib, name)
    function.restype = result
    function.argtypes = list(arguments)


_declare("sqlite3_open_v2", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_p), ctypes.c_int, _p)
_declare("sqlite3_close_v2", ctypes.c_int, _p)
_declare("sqlite3_busy_timeout", ctypes.c_int, _p, ctypes.c_int)
_declare(
    "sqlite3_prepare_v2", ctypes.c_int, _p, _p, ctypes.c_int, ctypes.POINTER(_p), ctypes.POINTER(_p)
)
_declare("sqlite3_finalize", ctypes.c_int, _p)
_declare("sqlite3_step", ctypes.c_int, _p)
_declare("sqlite3_bind_null", ctypes.c_int, _p, ctypes.c_int)
_declare("sqlite3_bind_int64", ctypes.c_int, _p, ctypes.c_int, ctypes.c_int64)
_declare("sqlite3_bind_double", ctypes.c_int, _p, ctypes.c_int, ctypes.c_double)
_declare("sqlite3_bind_text", ctypes.c_int, _p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, _p)
_declare("sqlite3_bind_blob", ctypes.c_int, _p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, _p)
_declare("sqlite3_bind_parameter_count", ctypes.c_int, _p)
_declare("sqlite3_bind_parameter_name", ctypes.c_char_p, _p, ctypes.c_int)
_declare("sqlite3_column_count", ctypes.c_int, _p)
_declare("sqlite3_column_name", ctypes.c_char_p, _p, ctypes.c_int)
_declare("sqlite3_column_decltype", ctypes.c_char_p, _p, ctypes.c_int)
_declare("sqlite3_column_type", ctypes.c_int, _p, ctypes.c_int)
_declare("sqlite3_column_int64", ctypes.c_int64, _p, ctypes.c_int)
_declare("sqlite3_column_double", ctypes.c_double, _p, ctypes.c_int)
_declare("sqlite3_column_text", _p, _p, ctypes.c_int)
_declare("sqlite3_column_blob", _p, _p, ctypes.c_int)
_declare("sqlite3_column_bytes", ctypes.c_int, _p, ctypes.c_int)
_declare("sqlite3_changes", ctypes.c_int, _p)
_declare("sqlite3_last_insert_rowid", ctypes.c_int64, _p)
_declare("sqlite3_get_autocommit", ctypes.c_int, _p)
_declare("sqlite3_errmsg", ctypes.c_char_p, _p)
_declare("sqlite3_extended_errcode", ctypes.c_int, _p)
_declare("sqlite3_error_offset", ctypes.c_int, _p)
_declare("sqlite3_stmt_readonly", ctypes.c_int, _p)
_declare("sqlite3_stmt_isexplain", ctypes.c_int, _p)


class SqliteError(Exception):
    """SQLite refused a statement; `code` names the error as sqld does."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Column:
    """A result column: its name and declared type (None for expressions)."""

    name: str
    decltype: str | None


@dataclass(frozen=True)
class Outcome:
    """What running one statement produced."""

    columns: list[Column]
    rows: list[list[Value]]
    affected_row_count: int
    last_insert_rowid: int


@dataclass(frozen=True)
class Description:
    """A prepared statement's shape, without running it."""

    parameters: list[str | None]
    columns: list[Column]
    is_explain: bool
    is_readonly: bool


class Statement:
    """One prepared statement; finalize it with `close()` (or use it as a context manager)."""

    def __init__(self, connection: Connection, handle: ctypes.c_void_p) -> None:
        self._connection = connection
        self.handle = handle

    def __enter__(self) -> Statement:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Finalize the statement."""
        _lib.sqlite3_finalize(self.handle)

    def parameter_names(self) -> list[str | None]:
        """Return each parameter's name (None for a bare `?`), in SQLite's 1-based order."""
        count = _lib.sqlite3_bind_parameter_count(self.handle)
        names = (_lib.sqlite3_bind_parameter_name(self.handle, i) for i in range(1, count + 1))
        return [None if name is None else name.decode() for name in names]

    def columns(self) -> list[Column]:
        """Return the result columns."""
        count = _lib.sqlite3_column_count(self.handle)
        return [
            Column(
                _lib.sqlite3_column_name(self.handle, i).decode(),
                _text_or_none(_lib.sqlite3_column_decltype(self.handle, i)),
            )
            for i in range(count)
        ]

    def describe(self) -> Description:
        """Return the statement's parameters, columns and flags."""
        return Description(
            self.parameter_names(),
            self.columns(),
            bool(_lib.sqlite3_stmt_isexplain(self.handle)),
            bool(_lib.sqlite3_stmt_readonly(self.handle)),
        )

    def bind(self, index: int, value: Value) -> None:
        """Bind `value` to the 1-based parameter `index`."""
        handle = self.handle
        if value is None:
            status = _lib.sqlite3_bind_null(handle, index)
        elif isinstance(value, bool | int):
            status = _lib.sqlite3_bind_int64(handle, index, int(value))
        elif isinstance(value, float):
            status = _lib.sqlite3_bind_double(handle, index, value)
        elif isinstance(value, str):
            data = value.encode()
            status = _lib.sqlite3_bind_text(handle, index, data, len(data), TRANSIENT)
        else:
            status = _lib.sqlite3_bind_blob(handle, index, bytes(value), len(value), TRANSIENT)
        if status != SQLITE_OK:
            raise self._connection.error()

    def run(self, want_rows: bool) -> Outcome:
        """Step the statement to its end; keep its rows when `want_rows`."""
        columns = self.columns()
        rows: list[list[Value]] = []
        while True:
            status = _lib.sqlite3_step(self.handle)
            if status == SQLITE_DONE:
                break
            if status != SQLITE_ROW:
                raise self._connection.error()
            if want_rows:
                rows.append([self._value(i) for i in range(len(columns))])
        db = self._connection.handle
        return Outcome(columns, rows, _lib.sqlite3_changes(db), _lib.sqlite3_last_insert_rowid(db))

    def _value(self, index: int) -> Value:
        handle = self.handle
        kind = _lib.sqlite3_column_type(handle, index)
        if kind == SQLITE_INTEGER:
            return int(_lib.sqlite3_column_int64(handle, index))
        if kind == SQLITE_FLOAT:
            return float(_lib.sqlite3_column_double(handle, index))
        if kind == SQLITE_NULL:
            return None
        if kind == SQLITE_TEXT:
            pointer = _lib.sqlite3_column_text(handle, index)
            size = _lib.sqlite3_column_bytes(handle, index)
            return ctypes.string_at(pointer, size).decode() if size else ""
        pointer = _lib.sqlite3_column_blob(handle, index)
        size = _lib.sqlite3_column_bytes(handle, index)
        return ctypes.string_at(pointer, size) if size else b""


def _text_or_none(value: bytes | None) -> str | None:
    return None if value is None else value.decode()


class Connection:
    """One SQLite connection (a Hrana stream's); use it from one thread at a time."""

    def __init__(self, path: str, busy_timeout_ms: int = 5000) -> None:
        handle = _p()
        status = _lib.sqlite3_open_v2(
            path.encode(), ctypes.byref(handle), OPEN_READWRITE | OPEN_CREATE | OPEN_FULLMUTEX, None
        )
        self.handle = handle
        if status != SQLITE_OK:
            error = self.error()
            _lib.sqlite3_close_v2(handle)
            raise error
        _lib.sqlite3_busy_timeout(handle, busy_timeout_ms)

    def close(self) -> None:
        """Close the connection; an open transaction is rolled back."""
        _lib.sqlite3_close_v2(self.handle)

    @property
    def is_autocommit(self) -> bool:
        """Whether no explicit transaction is open."""
        return bool(_lib.sqlite3_get_autocommit(self.handle))

    def error(self, *, at_prepare: bool = False) -> SqliteError:
        """Describe the connection's latest error as sqld would."""
        message = (_lib.sqlite3_errmsg(self.handle) or b"unknown error").decode()
        code = _lib.sqlite3_extended_errcode(self.handle)
        offset = _lib.sqlite3_error_offset(self.handle) if at_prepare else -1
        if offset >= 0:
            return SqliteError(
                f"SQL input error: {message} (at offset {offset})", "SQL_INPUT_ERROR"
            )
        return SqliteError(
            f"SQLite error: {message}", PRIMARY_CODE_NAMES.get(code & 0xFF, "SQLITE_UNKNOWN")
        )

    def prepare(self, sql: str) -> tuple[Statement | None, str]:
        """Prepare the first statement of `sql`; return it (None if `sql` has none) and the rest."""
        data = sql.encode()
        buffer = ctypes.create_string_buffer(data)
        start = ctypes.addressof(buffer)
        handle, tail = _p(), _p()
        status = _lib.sqlite3_prepare_v2(
            self.handle, start, len(data) + 1, ctypes.byref(handle), ctypes.byref(tail)
        )
        if status != SQLITE_OK:
            raise self.error(at_prepare=True)
        consumed = (tail.value or start) - start
        rest = data[consumed:].decode()
        return (Statement(self, handle) if handle.value else None), rest

    def execute_script(self, sql: str) -> None:
        """Run every statement of `sql` in order, ignoring rows; stop at the first error."""
        rest = sql
        while rest.strip():
            statement, rest = self.prepare(rest)
            if statement is None:
                return
            with statement:
                statement.run(want_rows=False)


def bind_all(statement: Statement, positional: Sequence[Value], named: dict[str, Value]) -> None:
    """Bind arguments as sqld does: by name where the parameter has one, else by position."""
    names = statement.parameter_names()
    if len(positional) > len(names):
        raise ValueError(f"too many parameters, expected {len(names)} found {len(positional)}")
    for index, name in enumerate(names, start=1):
        found, value = _argument(index, name, positional, named)
        if not found:
            raise ValueError(f"value for parameter {name or index} not found")
        statement.bind(index, value)


def _argument(
    index: int, name: str | None, positional: Sequence[Value], named: dict[str, Value]
) -> tuple[bool, Value]:
    if name is not None and name[0] in ":@$":
        # Hrana lets clients leave the prefix off a name; the server guesses it.
        for candidate in (name, name[1:]):
            if candidate in named:
                return True, named[candidate]
    if name is not None and name[0] == "?" and name[1:].isdigit():
        index = int(name[1:])
    if index <= len(positional):
        return True, positional[index - 1]
    return False, None
