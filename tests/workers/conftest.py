"""Fixtures: local sandboxes whose environments are set up offline (tests/workers/offline_env)."""

from tests.workers.offline_env import offline_sandboxes

__all__ = ["offline_sandboxes"]
