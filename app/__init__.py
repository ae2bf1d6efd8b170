"""Townhall control plane: settings, store, GitHub access, webhooks, votes, CEO, CLI."""
