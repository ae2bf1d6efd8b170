"""A libSQL server (sqld, Turso) stand-in: Hrana over HTTP on a local SQLite file.

It speaks the remote protocol Turso documents (docs/HRANA_3_SPEC.md in tursodatabase/libsql):
`GET /v2`, `GET /v3`, `POST /v2/pipeline`, `POST /v3/pipeline` and `POST /v3/cursor` in JSON,
with batons, batches with conditions, stored SQL, `sequence`, `describe` and `get_autocommit`.
Protobuf (`/v3-protobuf`) is not served: clients that probe it fall back to JSON.
"""

from .serve import serve
from .server import LibsqlServer

__all__ = ["LibsqlServer", "serve"]
