"""The `townhall` command line: one subcommand per job; settings are read here, once."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

# Only light modules load here, so `version` and `--help` start fast; each command imports its
# implementation (model and GitHub SDKs, uvicorn, the dashboard) inside its own function.
from app.policy import POLICY_FILE, PolicyError, parse_policy
from app.settings import Need, Settings, SettingsError, settings_from_process
from app.store import StoreError, open_store

# What each long-running purpose needs from the settings (`check-config --for`).
PURPOSES: dict[str, tuple[Need, ...]] = {
    "serve": (Need.GITHUB_APP, Need.WEBHOOK),
    "tick": (Need.GITHUB_APP, Need.MODEL),
    "all": (Need.GITHUB_APP, Need.WEBHOOK, Need.MODEL),
    "store": (),
}


def _print_error(message: str) -> None:
    print(f"townhall: {message}", file=sys.stderr)


def cmd_version(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Print the installed version."""
    print(f"townhall {metadata.version('townhall')}")
    return 0


def cmd_check_config(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Validate operator settings for a purpose, and optionally a repository policy file."""
    status = 0
    try:
        loaded = settings_from_process(PURPOSES[args.purpose])
        print(f"settings: ok for {args.purpose} (store {_describe_db(loaded.db_url)})")
    except SettingsError as error:
        _print_error(str(error))
        status = 1
    if args.repo_config is not None:
        path = Path(args.repo_config)
        try:
            policy = parse_policy(path.read_text(encoding="utf-8"))
            print(f"{path}: ok ({len(policy.roles)} roles, merge mode {policy.merge.mode})")
        except OSError as error:
            _print_error(f"{path}: cannot read: {error.strerror}")
            status = 1
        except PolicyError as error:
            _print_error(f"{path}: {error}")
            status = 1
    return status


def _describe_db(url: str) -> str:
    """Name the store without any credential (URLs may carry one in the query)."""
    return url.split("?", 1)[0]


def cmd_db_migrate(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Create or upgrade the store's schema."""
    loaded = settings()
    store = open_store(loaded.db_url, loaded.db_auth_token)
    try:
        print(f"store {_describe_db(loaded.db_url)} at schema version {store.schema_version()}")
    finally:
        store.close_sync()
    return 0


def cmd_status(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Show the dashboard: budget, tick, leaderboard, queue, running, PRs, failures."""
    from app.dashboard.cli import status_command

    return status_command(settings(), as_json=args.json, rows=args.rows)


def cmd_costs(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Show model spend per day, role, model and task."""
    from app.dashboard.cli import costs_command

    return costs_command(settings(), as_json=args.json, days=args.days, rows=args.rows)


def cmd_task(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Show one task's full history: events, attempts with logs, steps, model calls."""
    from app.dashboard.cli import task_command

    return task_command(
        settings(),
        args.number,
        by_issue=args.issue,
        as_json=args.json,
        log_lines=args.log_lines,
    )


def cmd_serve(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Serve the webhook app until interrupted."""
    import uvicorn

    from app.logs import configure_logging, secrets_of
    from app.serving import bounded_http
    from app.wiring import build_runtime, build_web_app

    loaded = settings_from_process(PURPOSES["serve"])
    configure_logging(loaded.log_level, secrets=secrets_of(loaded))
    runtime = build_runtime(loaded)
    try:
        app = build_web_app(runtime, process=not args.no_process)
        # log_config=None: uvicorn's own lines go through Townhall's JSON, redacting handler.
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            log_config=None,
            **bounded_http(),
        )
    finally:
        runtime.store.close_sync()
    return 0


def cmd_tick(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Run one CEO tick (or one every --every seconds) and print what it did."""
    from app.ceo.tick import run_tick
    from app.logs import configure_logging, secrets_of
    from app.wiring import build_runtime, build_tick_deps

    loaded = settings_from_process(PURPOSES["tick"])
    configure_logging(loaded.log_level, secrets=secrets_of(loaded))
    runtime = build_runtime(loaded)

    async def ticks() -> int:
        deps = build_tick_deps(runtime, Path(args.workdir))
        while True:
            report = await run_tick(deps)
            await deps.dispatcher.wait()
            print(report.describe())
            if not args.every:
                return 0 if report.ran and not report.errors else 1
            await asyncio.sleep(args.every)

    try:
        return asyncio.run(ticks())
    finally:
        runtime.store.close_sync()


def cmd_dev(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Serve webhooks and run the CEO tick loop with local workers, in one process."""
    import uvicorn

    from app.ceo.tick import run_tick
    from app.logs import configure_logging, secrets_of
    from app.serving import bounded_http
    from app.wiring import build_runtime, build_tick_deps, build_web_app

    loaded = settings_from_process(PURPOSES["all"])
    configure_logging(loaded.log_level, secrets=secrets_of(loaded))
    runtime = build_runtime(loaded)
    server = uvicorn.Server(
        uvicorn.Config(
            build_web_app(runtime),
            host=args.host,
            port=args.port,
            log_level="warning",
            log_config=None,
            **bounded_http(),
        )
    )

    async def tick_forever() -> None:
        deps = build_tick_deps(runtime, Path(args.workdir))
        while not server.should_exit:
            try:
                print((await run_tick(deps)).describe(), flush=True)
            except Exception:  # a failed tick must not end the loop: the next one retries
                logging.getLogger("townhall.dev").exception("tick failed")
            await asyncio.sleep(args.every)

    async def both() -> None:
        ticking = asyncio.create_task(tick_forever())
        try:
            await server.serve()
        finally:
            ticking.cancel()

    try:
        asyncio.run(both())
    finally:
        runtime.store.close_sync()
    return 0


def cmd_demo(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Run the whole loop offline: localhub, the scripted model, ticks, workers, reviews."""
    from app.demo.run import DemoError, run_demo

    loaded = settings()
    try:
        result = asyncio.run(run_demo(loaded, Path(args.workdir)))
    except DemoError as error:
        _print_error(str(error))
        return 2
    missing = sorted(set(result.approved) - set(result.merged))
    if missing:
        _print_error(f"approved issues not merged: {', '.join(f'#{n}' for n in missing)}")
        return 1
    return 0


def cmd_app_manifest(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Print the GitHub App manifest for this deployment."""
    from app.github.manifest import app_manifest

    public_url = args.url or settings().public_url
    if not public_url:
        _print_error("give --url or set TOWNHALL_PUBLIC_URL (where GitHub can reach Townhall)")
        return 2
    print(json.dumps(app_manifest(args.name, public_url), indent=2))
    return 0


def cmd_map(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Write or check a repository's CODEBASE_MAP.md (see `townhall map --help`)."""
    from app.codemap.cli import main as map_main

    return map_main(list(args.map_args))


def cmd_localhub(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Serve localhub, the local GitHub stand-in, until interrupted."""
    from app.standins.localhub import serve

    serve(
        args.host,
        args.port,
        Path(args.data) if args.data else None,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret or "",
    )
    return 0


def cmd_libsql_server(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Serve the libSQL server (Turso) stand-in: Hrana over HTTP on a local SQLite file."""
    from app.standins.libsql_server import serve

    serve(args.host, args.port, Path(args.db) if args.db else None, latency_ms=args.latency_ms)
    return 0


def cmd_model_server(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Serve the scripted Anthropic Messages API stand-in until interrupted."""
    from app.standins.scripted_model import ScriptFormatError, serve

    script = Path(args.script) if args.script else None
    print(f"scripted model server on http://{args.host}:{args.port} (ANTHROPIC_BASE_URL)")
    try:
        serve(args.host, args.port, script)
    except (OSError, ScriptFormatError) as error:
        _print_error(f"{args.script}: {error}")
        return 2
    return 0


Handler = Callable[[argparse.Namespace, Callable[[], Settings]], int]


def cmd_votes(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Explain an issue's vote decision from the stored sweep snapshots."""
    from app.votes.cli import main as votes_main

    return votes_main(list(args.map_args), settings_from_process())


# Commands whose own parser owns every argument after the command name.
DELEGATED = {"map": cmd_map, "votes": cmd_votes}


def build_parser() -> argparse.ArgumentParser:
    """Describe every subcommand and its options."""
    parser = argparse.ArgumentParser(
        prog="townhall",
        description="Townhall: let a repository evolve by its users' votes.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    version = commands.add_parser("version", help="print the installed version")
    version.set_defaults(handler=cmd_version)

    check = commands.add_parser(
        "check-config", help="validate settings (environment, .env) and a .townhall.toml"
    )
    check.add_argument(
        "--for",
        dest="purpose",
        choices=sorted(PURPOSES),
        default="store",
        help="which settings must be present (default: store, which needs none)",
    )
    check.add_argument(
        "--repo-config",
        metavar="PATH",
        help=f"a repository policy file to validate (e.g. {POLICY_FILE})",
    )
    check.set_defaults(handler=cmd_check_config)

    database = commands.add_parser("db", help="store maintenance")
    db_commands = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    migrate = db_commands.add_parser("migrate", help="create or upgrade the schema")
    migrate.set_defaults(handler=cmd_db_migrate)

    status = commands.add_parser(
        "status", help="show the dashboard: budget, tick, votes, queue, running, PRs, failures"
    )
    status.add_argument("--json", action="store_true", help="print JSON (as /api/status)")
    status.add_argument("--rows", type=int, default=25, help="rows per section (default 25)")
    status.set_defaults(handler=cmd_status)

    costs = commands.add_parser("costs", help="show model spend per day, role, model and task")
    costs.add_argument("--days", type=int, default=30, help="days to cover (default 30)")
    costs.add_argument("--rows", type=int, default=25, help="costliest tasks to list")
    costs.add_argument("--json", action="store_true", help="print JSON for machines")
    costs.set_defaults(handler=cmd_costs)

    task = commands.add_parser(
        "task", help="show one task's history: events, attempts and logs, steps, model calls"
    )
    task.add_argument("number", type=int, help="the task id (or the issue number with --issue)")
    task.add_argument("--issue", action="store_true", help="NUMBER is an issue number")
    task.add_argument(
        "--log-lines", type=int, default=40, help="last lines of each attempt's log (0: all)"
    )
    task.add_argument("--json", action="store_true", help="print JSON for machines")
    task.set_defaults(handler=cmd_task)

    serve = commands.add_parser("serve", help="serve the webhook endpoint (uvicorn)")
    _add_server_options(serve, default_port=8000)
    serve.add_argument(
        "--no-process",
        action="store_true",
        help="only store deliveries; leave processing to `townhall tick`",
    )
    serve.set_defaults(handler=cmd_serve)

    tick = commands.add_parser("tick", help="run the CEO: drain, sweep, plan, schedule, dispatch")
    tick.add_argument("--every", type=float, default=0, help="repeat every N seconds")
    tick.add_argument("--workdir", default=".townhall", help="where repository mirrors are kept")
    tick.set_defaults(handler=cmd_tick)

    dev = commands.add_parser(
        "dev", help="self-host without Modal: webhooks, CEO ticks and local workers together"
    )
    _add_server_options(dev, default_port=8000)
    dev.add_argument("--every", type=float, default=60, help="seconds between ticks")
    dev.add_argument("--workdir", default=".townhall", help="where repository mirrors are kept")
    dev.set_defaults(handler=cmd_dev)

    demo = commands.add_parser(
        "demo", help="run the whole loop offline (localhub, scripted model, ticks, reviews)"
    )
    demo.add_argument(
        "--workdir", default=".townhall-demo", help="scratch directory (replaced on each run)"
    )
    demo.set_defaults(handler=cmd_demo)

    manifest = commands.add_parser(
        "app-manifest", help="print the GitHub App manifest for creating the App"
    )
    manifest.add_argument("--name", default="Townhall", help="the App's name on GitHub")
    manifest.add_argument("--url", help="public base URL (default: TOWNHALL_PUBLIC_URL)")
    manifest.set_defaults(handler=cmd_app_manifest)

    localhub = commands.add_parser(
        "localhub", help="serve localhub: a GitHub stand-in (REST, GraphQL, git, webhooks)"
    )
    _add_server_options(localhub, default_port=8765)
    localhub.add_argument("--data", metavar="DIR", help="keep repositories and state here")
    localhub.add_argument("--webhook-url", help="send signed webhooks to this URL")
    localhub.add_argument("--webhook-secret", help="sign webhooks with this secret")
    localhub.set_defaults(handler=cmd_localhub)

    model_server = commands.add_parser(
        "model-server", help="serve the scripted Anthropic API stand-in (offline model)"
    )
    _add_server_options(model_server, default_port=8100)
    model_server.add_argument("--script", metavar="FILE", help="a JSON or TOML script to play")
    model_server.set_defaults(handler=cmd_model_server)

    libsql_server = commands.add_parser(
        "libsql-server", help="serve a libSQL server (Turso) stand-in: Hrana over HTTP"
    )
    _add_server_options(libsql_server, default_port=8080)
    libsql_server.add_argument("--db", metavar="FILE", help="the SQLite file (default: a new one)")
    libsql_server.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay added to every round trip"
    )
    libsql_server.set_defaults(handler=cmd_libsql_server)

    commands.add_parser(
        "votes",
        help="explain an issue's vote decision (`townhall votes --help` for options)",
        add_help=False,
    )
    commands.add_parser(
        "map",
        help="write CODEBASE_MAP.md for a repository (`townhall map --help` for options)",
        add_help=False,
    )
    return parser


def _add_server_options(parser: argparse.ArgumentParser, default_port: int) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=default_port, help="port to listen on")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `townhall` command and return its exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in DELEGATED:
        return DELEGATED[arguments[0]](
            argparse.Namespace(map_args=arguments[1:]), lambda: Settings()
        )
    args = build_parser().parse_args(arguments)
    handler: Handler = args.handler
    try:
        return handler(args, settings_from_process)
    except SettingsError as error:
        _print_error(str(error))
        return 2
    except StoreError as error:
        _print_error(f"store error: {error}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
