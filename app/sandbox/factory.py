"""Create a sandbox by backend name and hand it a tree."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from app.sandbox.base import Sandbox
from app.sandbox.baseline import init_baseline
from app.sandbox.local import LocalOptions, LocalSandbox

if TYPE_CHECKING:
    from app.sandbox.modal_backend import ModalOptions

BACKENDS = ("local", "modal")


async def create_sandbox(
    backend: str,
    tree: Path,
    *,
    local: LocalOptions | None = None,
    modal_options: ModalOptions | None = None,
    init_git: bool = True,
) -> Sandbox:
    """Start a `backend` sandbox holding a copy of `tree` and, by default, a fresh git base."""
    sandbox: Sandbox
    if backend == "local":
        sandbox = await asyncio.to_thread(LocalSandbox.create, tree, local)
    elif backend == "modal":
        # Imported here so the local backend (tests, offline runs) never loads Modal.
        from app.sandbox.modal_backend import ModalOptions, create_modal_sandbox

        sandbox = await create_modal_sandbox(tree, modal_options or ModalOptions())
    else:
        raise ValueError(f"unknown sandbox backend {backend!r} (known: {', '.join(BACKENDS)})")
    if init_git:
        try:
            await init_baseline(sandbox)
        except BaseException:
            await sandbox.close()
            raise
    return sandbox


@contextlib.asynccontextmanager
async def open_sandbox(
    backend: str,
    tree: Path,
    *,
    local: LocalOptions | None = None,
    modal_options: ModalOptions | None = None,
    init_git: bool = True,
) -> AsyncIterator[Sandbox]:
    """Create a sandbox for the duration of a `with` block; it is closed however the block ends."""
    sandbox = await create_sandbox(
        backend, tree, local=local, modal_options=modal_options, init_git=init_git
    )
    try:
        yield sandbox
    finally:
        await sandbox.close()
