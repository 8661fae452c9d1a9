"""``/mcp``: the same tools over MCP's streamable HTTP, inside the server (docs/mcp.md).

Every HTTP request to ``/mcp`` is authenticated as any API request is (bearer key, the
same 401s and rate limits) before the SDK sees it. A tool call then runs like a request:
one transaction from ``request_transaction``, the key resolved again on it (which sets its
tenant, as on a route), the domain services called directly (services.py), committed before
the answer is sent.

Stateless, with JSON answers: no session lives in one process's memory, so any of several
server processes behind a load balancer can answer any request, and the key is checked on
every one (docs/architecture.md, "The MCP server").
"""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from psycopg.errors import QueryCanceled
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from loopctl.auth.dependencies import authenticate
from loopctl.auth.principal import Principal, TenantRequired
from loopctl.database.connections import request_transaction
from loopctl.mcp.calls import INSTRUCTIONS, ToolFailure, call, listing
from loopctl.mcp.services import ServiceBackend
from loopctl.mcp.tools import Args, Tool
from loopctl.platform.config import VERSION
from loopctl.platform.errors import AppError, QueryTimeout

logger = logging.getLogger("loopctl.mcp.http")

PATH = "/mcp"
# Where the endpoint leaves the caller for the handlers, in the request's scope state.
_PRINCIPAL = "mcp_principal"

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


class Endpoint:
    """Authenticate the request, then hand it to the SDK's session manager."""

    def __init__(self, sessions: StreamableHTTPSessionManager) -> None:
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        async with request_transaction(request) as conn:
            principal = await authenticate(request, conn)
        if principal.tenant_id is None:
            raise TenantRequired()
        scope.setdefault("state", {})[_PRINCIPAL] = principal
        await self.sessions.handle_request(scope, receive, send)


def _caller(ctx: Any) -> tuple[Request, Principal]:
    request: Request = ctx.request
    principal: Principal = request.scope["state"][_PRINCIPAL]
    return request, principal


async def _run_in_transaction(
    request: Request, principal: Principal, tool: Tool, args: Args
) -> Any:
    """One tool call as one request's unit of work; refusals become tool errors."""
    runtime = request.app.state.runtime
    max_state_bytes = runtime.settings.max_state_bytes
    try:
        async with request_transaction(request) as conn:
            # The key resolved on this transaction sets its tenant, as on a route.
            await runtime.authenticator.confirm(
                conn, request.headers.get("authorization"), principal
            )
            return await tool.run(ServiceBackend(conn, principal, max_state_bytes), args)
    except AppError as exc:
        raise ToolFailure(exc.code, exc.message, exc.details) from exc
    except QueryCanceled as exc:
        raise ToolFailure(QueryTimeout.code, QueryTimeout.default_message) from exc
    except Exception as exc:
        logger.exception("tool %s failed", tool.name, extra={"request_id": principal.request_id})
        raise ToolFailure(
            "internal_error",
            "Internal server error; quote the request id when reporting it",
            {"request_id": principal.request_id},
        ) from exc


async def _list_tools(ctx: Any, _params: Any) -> types.ListToolsResult:
    _, principal = _caller(ctx)
    return listing(principal.role.value)


async def _call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    request, principal = _caller(ctx)

    async def run(tool: Tool, args: Args) -> Any:
        return await _run_in_transaction(request, principal, tool, args)

    return await call(principal.role.value, params.name, params.arguments, run)


def mount(app: FastAPI) -> None:
    """Serve ``/mcp`` in ``app``; ``with_sessions`` runs the session manager in its lifespan."""
    server: Server[Any] = Server(
        "loopctl",
        version=VERSION,
        instructions=INSTRUCTIONS,
        on_list_tools=_list_tools,
        on_call_tool=_call_tool,
    )
    sessions = StreamableHTTPSessionManager(server, json_response=True, stateless=True)
    app.state.mcp_sessions = sessions
    # POST only: stateless, the server has nothing to push on a GET stream and no session
    # to end on a DELETE; both get 405, as the protocol allows (a GET stream would otherwise
    # hold a connection open for as long as the client likes).
    app.router.routes.append(Route(PATH, Endpoint(sessions), methods=["POST"]))


def with_sessions(lifespan: Lifespan) -> Lifespan:
    """``lifespan``, with the MCP session manager running inside it."""

    @asynccontextmanager
    async def both(app: FastAPI) -> AsyncIterator[None]:
        async with lifespan(app), app.state.mcp_sessions.run():
            yield

    return both
