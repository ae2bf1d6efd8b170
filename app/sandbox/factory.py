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
from app.sandbox.local import LocalOptions, LocalSandbox

if TYPE_CHECKING:
    from app.sandbox.modal_backend import ModalOptions


class SandboxFactory(ABC):
    """Starts sandboxes holding a copy of a tree and a fresh git base."""

    @abstractmethod
    async def start(self, tree: Path) -> Sandbox:
        """Start a sandbox holding a copy of `tree` (no git base yet)."""

    async def create(self, tree: Path) -> Sandbox:
        """Start a sandbox on a copy of `tree` with a fresh git base; the caller closes it."""
        sandbox = await self.start(tree)
        try:
            await init_baseline(sandbox)
        except BaseException:
            await sandbox.close()
            raise
        return sandbox

    @contextlib.asynccontextmanager
    async def open(self, tree: Path) -> AsyncIterator[Sandbox]:
        """Create a sandbox for the duration of a `with` block; it is closed however it ends."""
        sandbox = await self.create(tree)
        try:
            yield sandbox
        finally:
            await sandbox.close()


@dataclass(frozen=True)
class LocalSandboxes(SandboxFactory):
    """Sandboxes in temporary directories on this machine (bubblewrap where it works)."""

    options: LocalOptions | None = None

    async def start(self, tree: Path) -> Sandbox:
        """Copy `tree` into a new local sandbox."""
        return await asyncio.to_thread(LocalSandbox.create, tree, self.options)


@dataclass(frozen=True)
class ModalSandboxes(SandboxFactory):
    """Sandboxes in `modal.Sandbox` containers: no network by default, no secrets ever."""

    options: ModalOptions | None = None

    async def start(self, tree: Path) -> Sandbox:
        """Upload `tree` into a new Modal sandbox."""
        # Imported here so the local backend (tests, offline runs) never loads Modal.
        from app.sandbox.modal_backend import ModalOptions, create_modal_sandbox

        return await create_modal_sandbox(tree, self.options or ModalOptions())
