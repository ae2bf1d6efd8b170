"""Run the scripted model server in the foreground (the CLI's entry point)."""

from __future__ import annotations

from pathlib import Path

import uvicorn

from app.standins.scripted_model.engine import ScriptedModel


def serve(
    host: str, port: int, script_path: Path | None, model: ScriptedModel | None = None
) -> None:
    """Serve the Messages API stand-in on host:port, playing `model` and `script_path`."""
    model = model or ScriptedModel()
    if script_path is not None:
        model.load_file(script_path)
    uvicorn.run(model.create_app(), host=host, port=port, log_level="info")
