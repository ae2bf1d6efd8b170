"""Sandboxes: where the agent's files live and its commands run, with no secret inside."""

from app.sandbox.base import ExecResult, Sandbox, SandboxError, SandboxFileError
from app.sandbox.factory import BACKENDS, create_sandbox, open_sandbox
from app.sandbox.local import LocalOptions, LocalSandbox
from app.sandbox.tree import copy_tree, export_tree

__all__ = [
    "BACKENDS",
    "ExecResult",
    "LocalOptions",
    "LocalSandbox",
    "Sandbox",
    "SandboxError",
    "SandboxFileError",
    "copy_tree",
    "create_sandbox",
    "export_tree",
    "open_sandbox",
]
