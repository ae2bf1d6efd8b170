"""GitHub access: App identity, installation tokens, and the one client factory."""
