"""Sandboxes: where the agent's files live and its commands run, with no secret inside."""

from workers.sandbox.base import ExecResult, Sandbox, SandboxError, SandboxFileError
from workers.sandbox.factory import BACKENDS, create_sandbox, open_sandbox
from workers.sandbox.local import LocalOptions, LocalSandbox
from workers.sandbox.tree import copy_tree, export_tree

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
