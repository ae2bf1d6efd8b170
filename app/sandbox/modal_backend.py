"""The Modal backend: `modal.Sandbox` with no network by default and no secrets, ever."""

from __future__ import annotations

import asyncio
import logging
import math
import posixpath
import secrets
import shlex
import tempfile
import time
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import modal
import modal.exception

from app.pathrules import PathError, normalize_path
from app.sandbox.base import ExecResult, SandboxError, SandboxFileError
from app.sandbox.env import DEFAULT_PATH, sandbox_env
from app.sandbox.environment import (
    Environment,
    EnvironmentFailed,
    env_dirs_of,
    environment_key,
    key_file_bytes,
)
from app.sandbox.output import CappedBuffer
from app.sandbox.tree import pack_tree

if TYPE_CHECKING:
    from app.stacks import EnvironmentPlan

log = logging.getLogger(__name__)

# Seconds between `timeout`'s SIGTERM to the command's process group and its SIGKILL.
KILL_AFTER = 5
# Modal's own exec timeout, a backstop in case `timeout` itself is stuck.
BACKSTOP = 15
LISTING_CAP = 32_000_000


@dataclass(frozen=True)
class ModalOptions:
    """How to start a Modal sandbox. No allowlist means no network at all."""

    app_name: str = "townhall-sandboxes"
    image: modal.Image | None = None
    python_version: str = "3.11"
    apt_packages: tuple[str, ...] = ("git",)
    pip_packages: tuple[str, ...] = ()
    cidr_allowlist: tuple[str, ...] = ()
    domain_allowlist: tuple[str, ...] = ()
    lifetime_seconds: int = 3600
    cpu: float | None = None
    memory_mb: int | None = None
    workdir: str = "/workspace"
    scratch_dir: str = "/tmp"  # noqa: S108 - inside the sandbox
    env: Mapping[str, str] = field(default_factory=dict)
    declared_env: tuple[tuple[str, str], ...] = ()  # the repository's `[sandbox].env`
    output_cap: int = 64_000
    path: str = DEFAULT_PATH
    # An environment's directories: in the image, never listed as the checkout's files.
    hidden_dirs: tuple[str, ...] = ()


def create_kwargs(options: ModalOptions) -> dict[str, Any]:
    """Return `Sandbox.create` keyword arguments: lifetime, resources, network; never secrets."""
    kwargs: dict[str, Any] = {"timeout": options.lifetime_seconds, "workdir": options.workdir}
    if options.cidr_allowlist or options.domain_allowlist:
        # Modal refuses an allowlist together with block_network, so it is one or the other.
        if options.cidr_allowlist:
            kwargs["outbound_cidr_allowlist"] = list(options.cidr_allowlist)
        if options.domain_allowlist:
            kwargs["outbound_domain_allowlist"] = list(options.domain_allowlist)
    else:
        kwargs["block_network"] = True
    if options.cpu is not None:
        kwargs["cpu"] = options.cpu
    if options.memory_mb is not None:
        kwargs["memory"] = options.memory_mb
    return kwargs


def exec_argv(command: str, timeout: float) -> list[str]:
    """Return argv that runs `command` under coreutils `timeout`, which signals its whole group."""
    return ["timeout", f"--kill-after={KILL_AFTER}", f"{timeout:g}", "sh", "-c", command]


def was_timed_out(exit_code: int, duration: float, timeout: float) -> bool:
    """Return whether `timeout` ended the command (it exits 124, or 137 after SIGKILL)."""
    return exit_code in (124, 137) and duration >= timeout


def relative_to_checkout(real_path: str, checkout: str, asked: str) -> str:
    """Return `real_path` relative to `checkout`; raise PathError when it lies outside."""
    if real_path == checkout:
        return "."
    if not real_path.startswith(checkout.rstrip("/") + "/"):
        raise PathError(f"{asked!r}: resolves outside the checkout (through a symlink)")
    return real_path[len(checkout.rstrip("/")) + 1 :]


def default_image(options: ModalOptions) -> modal.Image:
    """Return the image sandboxes run when the options name none: Debian slim, Python, git."""
    image = modal.Image.debian_slim(python_version=options.python_version)
    if options.apt_packages:
        image = image.apt_install(*options.apt_packages)
    if options.pip_packages:
        image = image.pip_install(*options.pip_packages)
    return image


@dataclass(frozen=True)
class ImageRecipe:
    """What an environment's image is made of, as plain data (checked without Modal)."""

    registry_image: str  # "" = Debian slim with `python`
    python: str
    apt_packages: tuple[str, ...]
    key_files: tuple[tuple[str, str], ...]  # (path in the tree, path in the image)
    workdir: str
    env: tuple[tuple[str, str], ...]
    setup: tuple[str, ...]


def image_recipe(plan: EnvironmentPlan, tree: Path, options: ModalOptions) -> ImageRecipe:
    """Return the recipe of `plan`'s image: base, system packages, key files, setup commands.

    Setup runs in the checkout's own path (options.workdir), so what it installs there (a
    venv and its shebangs) works once the tree is unpacked over it in a sandbox.
    """
    packages = ["git", *plan.system_packages]
    if plan.node and not plan.image:
        packages += ["nodejs", "npm"]  # Debian's Node; corepack/registries do the rest
    files = tuple(
        (name, posixpath.join(options.workdir, name))
        for name in sorted(set(plan.key_files))
        if key_file_bytes(tree, name) is not None
    )
    return ImageRecipe(
        registry_image=plan.image,
        python=plan.python or options.python_version,
        apt_packages=tuple(dict.fromkeys(packages)),
        key_files=files,
        workdir=options.workdir,
        env=plan.env,
        setup=plan.setup,
    )


def recipe_image(recipe: ImageRecipe, tree: Path) -> modal.Image:
    """Return the (lazy) Modal image a recipe describes; nothing is built yet."""
    if recipe.registry_image:
        image = modal.Image.from_registry(recipe.registry_image, add_python=recipe.python)
    else:
        image = modal.Image.debian_slim(python_version=recipe.python)
    image = image.apt_install(*recipe.apt_packages)
    for name, target in recipe.key_files:
        image = image.add_local_file(tree / name, target, copy=True)
    image = image.workdir(recipe.workdir)
    if recipe.env:
        image = image.env(dict(recipe.env))
    if recipe.setup:
        image = image.run_commands(*recipe.setup)
    return image


# Images built by this process, by environment key (Modal caches the layers across processes).
_IMAGES: dict[str, modal.Image] = {}


async def prepare_modal(plan: EnvironmentPlan, tree: Path, options: ModalOptions) -> Environment:
    """Build the environment's image on Modal (its layers are cached there by content)."""
    started = time.monotonic()
    env_dirs_of(plan)  # checked before anything is built
    key = environment_key(plan, tree, f"modal:{options.workdir}")
    image = _IMAGES.get(key)
    reused = image is not None
    if image is None:
        app = await modal.App.lookup.aio(options.app_name, create_if_missing=True)
        image = recipe_image(image_recipe(plan, tree, options), tree)
        try:
            await image.build.aio(app)
        except modal.exception.Error as error:
            raise EnvironmentFailed(
                "; ".join(plan.setup) or "image build", 1, str(error)
            ) from error
        _IMAGES[key] = image
    return Environment(key, plan, reused, time.monotonic() - started, image.object_id)


def environment_options(options: ModalOptions, environment: Environment) -> ModalOptions:
    """Return the options of a sandbox on `environment`: its image, resources and variables."""
    plan = environment.plan
    image = _IMAGES.get(environment.key) or modal.Image.from_id(environment.location)
    bins = [posixpath.join(options.workdir, name) for name in plan.path_dirs]
    return replace(
        options,
        image=image,
        cpu=plan.cpu,
        memory_mb=plan.memory_mb,
        declared_env=plan.env,
        path=":".join([*bins, options.path]),
        hidden_dirs=env_dirs_of(plan),
    )


async def _pump(stream: AsyncIterable[bytes], buffer: CappedBuffer) -> None:
    async for chunk in stream:
        buffer.feed(chunk)


class ModalSandbox:
    """A running `modal.Sandbox` holding the checkout at `options.workdir`."""

    backend = "modal"

    def __init__(self, handle: modal.Sandbox, options: ModalOptions) -> None:
        self._handle = handle
        self._options = options
        # Paths inside the container, which has its own /tmp.
        self._env = sandbox_env(
            home="/root",
            tmpdir="/tmp",  # noqa: S108 - inside the container
            path=options.path,
            extra=options.env,
            declared=options.declared_env,
        )

    @property
    def checkout(self) -> str:
        """Return the checkout's absolute path inside the sandbox."""
        return self._options.workdir

    def _absolute(self, relative: str) -> str:
        return posixpath.join(self._options.workdir, relative)

    async def _run(self, argv: list[str], time_limit: float, cwd: str, cap: int) -> ExecResult:
        started = time.monotonic()
        stdout, stderr = CappedBuffer(cap), CappedBuffer(cap)
        env: dict[str, str | None] = dict(self._env)
        backstop_fired = False
        try:
            process = await self._handle.exec.aio(
                *argv,
                workdir=cwd,
                env=env,
                timeout=math.ceil(time_limit) + KILL_AFTER + BACKSTOP,
                text=False,
            )
            await asyncio.gather(_pump(process.stdout, stdout), _pump(process.stderr, stderr))
            exit_code = await process.wait.aio()
        except modal.exception.TimeoutError:
            backstop_fired, exit_code = True, -1
        duration = time.monotonic() - started
        return ExecResult(
            exit_code=exit_code,
            stdout=stdout.text(),
            stderr=stderr.text(),
            timed_out=backstop_fired or was_timed_out(exit_code, duration, time_limit),
            truncated=stdout.truncated or stderr.truncated,
            duration=duration,
        )

    async def exec(
        self,
        command: str,
        timeout: float,  # noqa: ASYNC109 - the command's own limit: it is killed, we are not
        cwd: str = ".",
    ) -> ExecResult:
        """Run `sh -c command` in `cwd` under `timeout`, which kills its whole process group."""
        directory = self._absolute(normalize_path(cwd))
        return await self._run(
            exec_argv(command, timeout), timeout, directory, self._options.output_cap
        )

    async def resolve(self, path: str) -> str:
        """Return `path` relative to the checkout after symlinks; raise PathError if it escapes."""
        clean = normalize_path(path)
        result = await self._run(
            ["realpath", "-m", "--", self._absolute(clean)], 60, self._options.workdir, 65_536
        )
        if result.exit_code != 0:
            raise PathError(f"{path!r}: cannot be resolved ({result.stderr.strip()})")
        return relative_to_checkout(result.stdout.strip(), self._options.workdir, path)

    async def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        """Return a file's bytes; raise SandboxFileError if missing or larger than `max_bytes`."""
        target = self._absolute(await self.resolve(path))
        try:
            info = await self._handle.filesystem.stat.aio(target)
            if not info.is_file():
                raise SandboxFileError(f"{path}: not a file")
            if max_bytes is not None and info.size > max_bytes:
                raise SandboxFileError(
                    f"{path}: {info.size} bytes is larger than {max_bytes} bytes"
                )
            data: bytes = await self._handle.filesystem.read_bytes.aio(target)
        except modal.exception.SandboxFilesystemNotFoundError as error:
            raise SandboxFileError(f"{path}: no such file") from error
        except modal.exception.SandboxFilesystemError as error:
            raise SandboxFileError(f"{path}: {error}") from error
        return data

    async def write_file(self, path: str, data: bytes) -> None:
        """Create or replace a file, creating its parent directories."""
        relative = await self.resolve(path)
        if relative == ".":
            raise PathError("the checkout root is a directory, not a file")
        try:
            await self._handle.filesystem.write_bytes.aio(data, self._absolute(relative))
        except modal.exception.SandboxFilesystemError as error:
            raise SandboxFileError(f"{path}: {error}") from error

    async def list_files(self) -> list[str]:
        """Return every file's relative path, sorted, without `.git`."""
        argv = ["find", ".", "-path", "./.git", "-prune", "-o"]
        for name in self._options.hidden_dirs:
            argv += ["-path", f"./{name}", "-prune", "-o"]
        argv += ["(", "-type", "f", "-o", "-type", "l", ")", "-print0"]
        result = await self._run(argv, 120, self._options.workdir, LISTING_CAP)
        if result.exit_code != 0 or result.truncated:
            raise SandboxError(f"could not list the checkout: {result.stderr.strip()}")
        return sorted(name.removeprefix("./") for name in result.stdout.split("\0") if name)

    async def upload_tree(self, tree: Path) -> None:
        """Copy `tree` (without `.git`) into the checkout directory."""
        remote = posixpath.join(
            self._options.scratch_dir, f"townhall-tree-{secrets.token_hex(8)}.tar"
        )
        with tempfile.TemporaryDirectory(prefix="townhall-upload-") as scratch:
            archive = Path(scratch) / "tree.tar"
            await asyncio.to_thread(pack_tree, tree, archive)
            await self._handle.filesystem.copy_from_local.aio(archive, remote)
        workdir, remote = shlex.quote(self._options.workdir), shlex.quote(remote)
        command = (
            f"mkdir -p {workdir} && tar -xf {remote} -C {workdir} --no-same-owner;"
            f" status=$?; rm -f {remote}; exit $status"
        )
        result = await self._run(["sh", "-c", command], 600, "/", 65_536)
        if result.exit_code != 0:
            raise SandboxError(f"could not unpack the tree in the sandbox: {result.stderr.strip()}")

    async def close(self) -> None:
        """Terminate the sandbox; a failure to do so is logged, since Modal's lifetime ends it."""
        try:
            await self._handle.terminate.aio()
        except modal.exception.Error as error:
            log.warning("could not terminate Modal sandbox: %s", error)


async def create_modal_sandbox(
    tree: Path, options: ModalOptions, environment: Environment | None = None
) -> ModalSandbox:
    """Start a Modal sandbox (on `environment`'s image, if given) and copy `tree` into it."""
    if environment is not None:
        options = environment_options(options, environment)
    app = await modal.App.lookup.aio(options.app_name, create_if_missing=True)
    image = options.image if options.image is not None else default_image(options)
    handle = await modal.Sandbox.create.aio(
        "sleep", "infinity", app=app, image=image, **create_kwargs(options)
    )
    sandbox = ModalSandbox(handle, options)
    try:
        await sandbox.upload_tree(tree)
    except BaseException:
        await sandbox.close()
        raise
    return sandbox
