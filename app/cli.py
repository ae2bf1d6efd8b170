"""The `townhall` command line: one subcommand per job; settings are read here, once."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

# Only light modules load here, so `version` and `--help` start fast; each command imports its
# implementation (model and GitHub SDKs, uvicorn, the dashboard) inside its own function.
from app.policy import POLICY_FILE, PolicyError, parse_policy
from app.settings import Need, Settings, SettingsError, settings_from_process
from app.store import StoreError, open_store
from app.store.location import describe_store, store_file

# What each long-running purpose needs from the settings (`check-config --for`).
PURPOSES: dict[str, tuple[Need, ...]] = {
    "serve": (Need.GITHUB_APP, Need.WEBHOOK),
    "tick": (Need.GITHUB_APP, Need.MODEL),
    "all": (Need.GITHUB_APP, Need.WEBHOOK, Need.MODEL),
    "store": (),
}


class CommandError(Exception):
    """A command cannot run as asked; the message says why and what to do instead."""


def _print_error(message: str) -> None:
    print(f"townhall: {message}", file=sys.stderr)


def cmd_version(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Print the installed version."""
    print(f"townhall {metadata.version('townhall')}")
    return 0


def cmd_check_config(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Validate operator settings (offline) for a purpose, and optionally a policy file."""
    from app.github.app_key import key_problem

    status = 0
    # No flags: what a deployment needs. Only --repo-config: just that file.
    if args.purpose:
        purposes = [args.purpose]
    else:
        purposes = [] if args.repo_config is not None else ["serve", "tick"]
    for purpose in purposes:
        try:
            loaded = settings_from_process(PURPOSES[purpose])
        except SettingsError as error:
            _print_error(f"settings for {purpose}: {error}")
            status = 1
            continue
        problem = key_problem(loaded.github_app.private_key) if loaded.github_app else None
        if problem is not None:
            _print_error(f"TOWNHALL_GITHUB_PRIVATE_KEY: {problem}")
            status = 1
            continue
        print(f"settings: ok for {purpose} (store {describe_store(loaded.db_url)})")
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
    if status == 0:
        print("(offline checks only; `townhall doctor` also asks GitHub and the model API)")
    return status


def cmd_doctor(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Check everything a deployment needs, one line each, with the fix for each failure."""
    from app.doctor import render, run_doctor

    lines = asyncio.run(run_doctor(offline=args.offline))
    print(render(lines))
    return 1 if any(line.status == "fail" for line in lines) else 0


def existing_store(loaded: Settings) -> Settings:
    """Return `loaded` when its store exists; a read-only command must not create an empty one."""
    file = store_file(loaded.db_url)
    if file is not None and not file.exists():
        raise CommandError(
            f"no store at {file}: run this in the folder that holds townhall.db, set "
            "TOWNHALL_DB_URL, or create one with `townhall db migrate`"
        )
    return loaded


def cmd_db_migrate(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Create or upgrade the store's schema."""
    loaded = settings()
    store = open_store(loaded.db_url, loaded.db_auth_token)
    try:
        print(f"store {describe_store(loaded.db_url)} at schema version {store.schema_version()}")
    finally:
        store.close_sync()
    return 0


def cmd_status(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Show the dashboard: budget, tick, leaderboard, queue, running, PRs, failures."""
    from app.dashboard.cli import status_command

    return status_command(existing_store(settings()), as_json=args.json, rows=args.rows)


def cmd_costs(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Show model spend per day, role, model and task."""
    from app.dashboard.cli import costs_command

    return costs_command(
        existing_store(settings()), as_json=args.json, days=args.days, rows=args.rows
    )


def cmd_task(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Show one task's full history: events, attempts with logs, steps, model calls."""
    from app.dashboard.cli import task_command

    return task_command(
        existing_store(settings()),
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
        _announce(
            f"townhall serve: webhooks at http://{args.host}:{args.port}/webhook, dashboard at "
            f"http://{args.host}:{args.port}/ (store {describe_store(loaded.db_url)}"
            f"{'; processing off' if args.no_process else ''}); Ctrl-C stops"
        )
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


def _announce(line: str) -> None:
    print(line, flush=True)


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
            except Exception as error:  # a failed tick must not end the loop: the next retries
                from app.doctor.failures import describe_failure

                print(f"tick failed: {describe_failure(error)}", flush=True)
            await asyncio.sleep(args.every)

    async def both() -> None:
        _announce(
            f"townhall dev: webhooks at http://{args.host}:{args.port}/webhook, dashboard at "
            f"http://{args.host}:{args.port}/, a tick every {args.every:g} s "
            f"(store {describe_store(loaded.db_url)}); Ctrl-C stops"
        )
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
        result = asyncio.run(
            run_demo(loaded, Path(args.workdir), real_model=args.real_model, keep=args.keep)
        )
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

    serve(
        args.host,
        args.port,
        Path(args.db) if args.db else None,
        latency_ms=args.latency_ms,
        auth_token=args.auth_token,
    )
    return 0


def cmd_model_server(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Serve the scripted Anthropic Messages API stand-in until interrupted."""
    from app.demo.script import build_demo_model
    from app.standins.scripted_model import ScriptFormatError, serve

    script = Path(args.script) if args.script else None
    plays = f"playing {script}" if script else "playing the demo's planner, workers and reviewer"
    print(f"scripted model server on http://{args.host}:{args.port} ({plays}); Ctrl-C stops")
    try:
        serve(args.host, args.port, script, None if script else build_demo_model())
    except (OSError, ScriptFormatError) as error:
        _print_error(f"{args.script}: {error}")
        return 2
    return 0


class DefaultsShown(argparse.HelpFormatter):
    """Help that names each option's default, unless there is none worth naming."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "%(default)" in text:
            return text
        if action.option_strings:
            return f"{text} (default: %(default)s)"
        return text


Handler = Callable[[argparse.Namespace, Callable[[], Settings]], int]


def cmd_votes(args: argparse.Namespace, settings: Callable[[], Settings]) -> int:
    """Explain an issue's vote decision from the stored sweep snapshots."""
    from app.votes.cli import main as votes_main

    arguments = list(args.map_args)
    if {"-h", "--help"} & set(arguments):
        return votes_main(arguments, settings_from_process())
    return votes_main(arguments, existing_store(settings_from_process()))


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
        default=None,
        help="which settings must be present (none given: serve and tick, unless only "
        "--repo-config is given)",
    )
    check.add_argument(
        "--repo-config",
        metavar="PATH",
        help=f"a repository policy file to validate (e.g. {POLICY_FILE})",
    )
    check.set_defaults(handler=cmd_check_config)

    doctor = commands.add_parser(
        "doctor",
        help="check settings, key, GitHub App, installations, model, store, sandbox, webhooks",
    )
    doctor.add_argument(
        "--offline", action="store_true", help="skip the checks that call GitHub and the model"
    )
    doctor.set_defaults(handler=cmd_doctor)

    database = commands.add_parser("db", help="store maintenance")
    db_commands = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    migrate = db_commands.add_parser("migrate", help="create or upgrade the schema")
    migrate.set_defaults(handler=cmd_db_migrate)

    status = commands.add_parser(
        "status", help="show the dashboard: budget, tick, votes, queue, running, PRs, failures"
    )
    status.add_argument("--json", action="store_true", help="print JSON (as /api/status)")
    status.add_argument("--rows", type=int, default=25, help="rows per section")
    status.set_defaults(handler=cmd_status)

    costs = commands.add_parser("costs", help="show model spend per day, role, model and task")
    costs.add_argument("--days", type=int, default=30, help="days to cover")
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
    demo.add_argument(
        "--real-model",
        action="store_true",
        help="use the real Anthropic API with ANTHROPIC_API_KEY instead of the scripted model",
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help="keep localhub, the model and Townhall running afterwards, to try it by hand",
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
    libsql_server.add_argument(
        "--auth-token",
        metavar="TOKEN",
        help="require `Authorization: Bearer TOKEN` (as Turso does; set TOWNHALL_DB_AUTH_TOKEN)",
    )
    libsql_server.set_defaults(handler=cmd_libsql_server)

    from app.setup_flow.command import add_setup_command  # argparse only: keeps --help fast

    add_setup_command(commands)

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
    for command in commands.choices.values():
        if command.add_help:  # the delegated commands print their own help
            command.formatter_class = DefaultsShown
    return parser


def _add_server_options(parser: argparse.ArgumentParser, default_port: int) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=default_port, help="port to listen on")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `townhall` command and return its exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in DELEGATED:
        delegated = DELEGATED[arguments[0]]
        args = argparse.Namespace(map_args=arguments[1:], handler=delegated)
    else:
        args = build_parser().parse_args(arguments)
    handler: Handler = args.handler
    try:
        return handler(args, settings_from_process)
    except SettingsError as error:
        _print_error(str(error))
        return 2
    except CommandError as error:
        _print_error(str(error))
        return 2
    except StoreError as error:
        _print_error(f"store error: {error}")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_went_away()
    except Exception as error:  # a person gets one line, not a traceback (DEBUG: re-raise)
        if os.environ.get("TOWNHALL_TRACEBACK"):
            raise
        from app.doctor.failures import describe_failure

        _print_error(describe_failure(error))
        return 1


def _reader_went_away() -> int:
    """`townhall votes ... | head` closed the pipe: stop quietly, as other tools do."""
    # Point stdout at /dev/null so the interpreter's final flush cannot raise again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
