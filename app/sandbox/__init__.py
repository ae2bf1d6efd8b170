"""Sandboxes: where the agent's files live and its commands run, with no secret inside."""

from app.sandbox.base import ExecResult, Sandbox, SandboxError, SandboxFileError
from app.sandbox.environment import Environment, EnvironmentFailed
from app.sandbox.factory import LocalSandboxes, ModalSandboxes, SandboxFactory
from app.sandbox.local import LocalOptions, LocalSandbox
from app.sandbox.tree import copy_tree, export_tree

__all__ = [
    "Environment",
    "EnvironmentFailed",
    "ExecResult",
    "LocalOptions",
    "LocalSandbox",
    "LocalSandboxes",
    "ModalSandboxes",
    "Sandbox",
    "SandboxError",
    "SandboxFactory",
    "SandboxFileError",
    "copy_tree",
    "export_tree",
]
