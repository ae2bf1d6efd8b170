"""The control API under /_scripted: read the log and state, load scripts, inject faults, reset."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.standins.scripted_model.errors import ApiError
from app.standins.scripted_model.loading import (
    ScriptFormatError,
    fault_from_json,
    scripts_from_json,
)

if TYPE_CHECKING:
    from app.standins.scripted_model.engine import ScriptedModel

Endpoint = Callable[[Request], Awaitable[Response]]


def control_routes(model: ScriptedModel) -> list[Route]:
    """Return the control routes; they need the API key when one is configured."""

    def state() -> dict[str, Any]:
        return {"remaining": model.remaining(), "faults": model.pending_faults()}

    async def requests(request: Request) -> dict[str, Any]:
        return {"requests": [record.to_json() for record in model.requests]}

    async def show_state(request: Request) -> dict[str, Any]:
        return state()

    async def load_scripts(request: Request) -> dict[str, Any]:
        model.load(scripts_from_json(await request.json()))
        return state()

    async def inject_fault(request: Request) -> dict[str, Any]:
        model.inject(fault_from_json(await request.json()))
        return state()

    async def reset(request: Request) -> dict[str, Any]:
        model.reset()
        return state()

    def guarded(handler: Callable[[Request], Awaitable[dict[str, Any]]]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                if model.config.api_key is not None:
                    model.check_api_key(request.headers)
                return JSONResponse(await handler(request))
            except ApiError as error:
                return JSONResponse({"error": error.message}, status_code=error.status)
            except (ScriptFormatError, ValueError) as error:
                return JSONResponse({"error": str(error)}, status_code=400)

        return endpoint

    return [
        Route("/_scripted/requests", guarded(requests), methods=["GET"]),
        Route("/_scripted/state", guarded(show_state), methods=["GET"]),
        Route("/_scripted/scripts", guarded(load_scripts), methods=["POST"]),
        Route("/_scripted/faults", guarded(inject_fault), methods=["POST"]),
        Route("/_scripted/reset", guarded(reset), methods=["POST"]),
    ]
