"""Role workers: sandboxes, the agent loop and its tools, roles, verification, publishing."""
