"""Sandbox factories: the backend, chosen once by the wiring, that starts sandboxes on a tree."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.sandbox.base import Sandbox
from app.sandbox.baseline import init_baseline
from app.sandbox.environment import Environment, env_dirs_of
from app.sandbox.local import LocalOptions, LocalSandbox

if TYPE_CHECKING:
    from app.sandbox.modal_backend import ModalOptions
    from app.stacks import EnvironmentPlan


class SandboxFactory(ABC):
    """Prepares environments, and starts sandboxes holding a copy of a tree and a git base."""

    @abstractmethod
    async def start(self, tree: Path, environment: Environment | None = None) -> Sandbox:
        """Start a sandbox holding a copy of `tree` (no git base yet) on `environment`."""

    @abstractmethod
    async def prepare(self, plan: EnvironmentPlan, tree: Path) -> Environment:
        """Run `plan`'s setup for `tree` once per key (with network to registries), cached.

        Concurrent prepares of one key share one setup; raises EnvironmentFailed when a setup
        command fails (and caches nothing then).
        """

    async def create(self, tree: Path, environment: Environment | None = None) -> Sandbox:
        """Start a sandbox on a copy of `tree` with a fresh git base; the caller closes it.

        With `environment`, its directories are in the checkout read-only (kept out of the
        git base and of `list_files`), its bin directories lead PATH, its variables are set,
        and commands still have no network.
        """
        sandbox = await self.start(tree, environment)
        exclude = env_dirs_of(environment.plan) if environment is not None else ()
        try:
            await init_baseline(sandbox, exclude=exclude)
        except BaseException:
            await sandbox.close()
            raise
        return sandbox

    @contextlib.asynccontextmanager
    async def open(
        self, tree: Path, environment: Environment | None = None
    ) -> AsyncIterator[Sandbox]:
        """Create a sandbox for the duration of a `with` block; it is closed however it ends."""
        sandbox = await self.create(tree, environment)
        try:
            yield sandbox
        finally:
            await sandbox.close()


@dataclass(frozen=True)
class LocalSandboxes(SandboxFactory):
    """Sandboxes in temporary directories on this machine, isolated by bubblewrap.

    Without working bubblewrap they are refused, unless the options allow unisolated ones.
    """

    options: LocalOptions | None = None

    async def start(self, tree: Path, environment: Environment | None = None) -> Sandbox:
        """Copy `tree` into a new local sandbox, with `environment`'s directories mounted."""
        sandbox = await asyncio.to_thread(LocalSandbox.create, tree, self.options)
        if environment is not None:
            source = Path(environment.location) / "checkout"
            sandbox.attach(source, environment.plan, env_dirs_of(environment.plan))
        return sandbox

    async def prepare(self, plan: EnvironmentPlan, tree: Path) -> Environment:
        """Build (or reuse) the environment in the local cache directory."""
        from app.sandbox.envcache import prepare_local

        return await prepare_local(plan, tree, self.options or LocalOptions())


@dataclass(frozen=True)
class ModalSandboxes(SandboxFactory):
    """Sandboxes in `modal.Sandbox` containers: no network by default, no secrets ever."""

    options: ModalOptions | None = None

    async def start(self, tree: Path, environment: Environment | None = None) -> Sandbox:
        """Upload `tree` into a new Modal sandbox (on the environment's image, if any)."""
        # Imported here so the local backend (tests, offline runs) never loads Modal.
        from app.sandbox.modal_backend import ModalOptions, create_modal_sandbox

        return await create_modal_sandbox(tree, self.options or ModalOptions(), environment)

    async def prepare(self, plan: EnvironmentPlan, tree: Path) -> Environment:
        """Build (or reuse: Modal caches image layers) the environment's image."""
        from app.sandbox.modal_backend import ModalOptions, prepare_modal

        return await prepare_modal(plan, tree, self.options or ModalOptions())
