"""The scripted model server: an Anthropic Messages API stand-in that plays back scripts.

The real `anthropic` SDK talks to it over HTTP (`base_url`), so offline tests and the demo
exercise the same wire as production. Build a `ScriptedModel` from `Script`s of `Turn`s (or load
a JSON/TOML file, see `loading.FORMAT`), serve `create_app()` with `app.serving.ServerThread`
or `serve()`, and read `requests` to see what was asked and answered.
"""

from app.standins.scripted_model.engine import ScriptedModel, ServerConfig
from app.standins.scripted_model.faults import Fault
from app.standins.scripted_model.loading import (
    FORMAT,
    ScriptFormatError,
    load_file,
    scripts_from_json,
)
from app.standins.scripted_model.log import RequestRecord
from app.standins.scripted_model.request import ModelRequest, ToolResult
from app.standins.scripted_model.script import Match, Responder, Script, Text, ToolUse, Turn, Usage
from app.standins.scripted_model.serve import serve

__all__ = [
    "FORMAT",
    "Fault",
    "Match",
    "ModelRequest",
    "RequestRecord",
    "Responder",
    "Script",
    "ScriptFormatError",
    "ScriptedModel",
    "ServerConfig",
    "Text",
    "ToolResult",
    "ToolUse",
    "Turn",
    "Usage",
    "load_file",
    "scripts_from_json",
    "serve",
]
