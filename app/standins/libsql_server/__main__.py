"""`python -m app.standins.libsql_server`: the stand-in without Townhall's CLI (tests spawn it)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .serve import serve


def main() -> None:
    """Parse the options `townhall libsql-server` takes and serve."""
    parser = argparse.ArgumentParser(prog="python -m app.standins.libsql_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--auth-token", help="refuse Hrana requests without this bearer token")
    args = parser.parse_args()
    serve(args.host, args.port, args.db, latency_ms=args.latency_ms, auth_token=args.auth_token)


if __name__ == "__main__":
    main()
