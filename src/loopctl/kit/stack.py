"""The app's middleware stack: FastAPI's, with its five inner layers folded into one.

FastAPI wraps the router in ServerErrorMiddleware, its exception-telemetry and body-limit
middlewares, the app's own middleware, ExceptionMiddleware and AsyncExitStackMiddleware.
On a small authenticated read those layers cost about 4% of the request's CPU
(docs/benchmarks.md) while, on a request that raises nothing, they do nothing but pass it
on. ``LoopctlAPI`` builds instead::

    [ExceptionTelemetryMiddleware, only with LOOPCTL_OPENTELEMETRY]
      the app's own middleware (RequestMiddleware: request id, body limit, access log)
        ErrorBoundary (below)
          the router

- ``ErrorBoundary`` answers an exception the way ExceptionMiddleware and
  ServerErrorMiddleware do between them: the handler registered for its class (or for an
  ``HTTPException``'s status code) writes the response; anything else goes to the
  ``Exception`` handler, whose 500 is sent and the exception re-raised so the server logs
  it. It also hands FastAPI the handlers for the routes FastAPI serves itself (the scope's
  ``starlette.exception_handlers``), as ExceptionMiddleware does.
- The body-limit middleware acts only when FastAPI's ``max_body_size`` is set; loopctl
  limits bodies in RequestMiddleware and never sets it, so it is left out.
- The exit stack FastAPI's request handler wants (``fastapi_middleware_astack``, to close
  uploaded files) is opened by ``DirectRoute`` around the requests it hands to FastAPI,
  and only those (kit/direct.py). Routes declared on the app are ``DirectRoute``s, and
  the stack refuses to build over any other ``APIRoute``.

One difference from FastAPI's order: error responses, the 500 included, now pass through
RequestMiddleware, so they carry the ``x-request-id`` header and the access log records
them like any other response.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.telemetry._asgi import ExceptionTelemetryMiddleware  # constraints.txt pins FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loopctl.kit.direct import DirectRoute, is_async_function

Handler = Callable[[Request, Exception], Awaitable[Response]]


class ErrorBoundary:
    """Turn an exception from the router into the app's error response (see the module)."""

    def __init__(self, app: ASGIApp, handlers: Mapping[Any, Callable[..., Any]]) -> None:
        self.app = app
        by_class: dict[type[BaseException], Handler] = {}
        by_status: dict[int, Handler] = {}
        fallback: Handler | None = None
        for key, handler in handlers.items():
            if not is_async_function(handler):
                raise RuntimeError(f"exception handler for {key!r} must be an async function")
            if key in (500, Exception):
                fallback = handler
            elif isinstance(key, int):
                by_status[key] = handler
            else:
                by_class[key] = handler
        if fallback is None:
            raise RuntimeError("an exception handler for Exception (the 500) is required")
        self._by_class = by_class
        self._by_status = by_status
        self._fallback = fallback
        # What ExceptionMiddleware puts in the scope: FastAPI's request handler reads it.
        self._scope_handlers = (by_class, by_status)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["starlette.exception_handlers"] = self._scope_handlers
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                # Unhandled: the 500, then re-raised for the server to log, as
                # ServerErrorMiddleware does. The handler runs (and logs) even when the
                # response has already started and can no longer be replaced.
                response = await self._fallback(Request(scope, receive), exc)
                if not started:
                    await response(scope, receive, send)
                raise
            if started:
                raise RuntimeError(
                    "Caught handled exception, but response already started."
                ) from exc
            response = await handler(Request(scope, receive), exc)
            await response(scope, receive, send)

    def _handler_for(self, exc: Exception) -> Handler | None:
        if isinstance(exc, HTTPException):
            handler = self._by_status.get(exc.status_code)
            if handler is not None:
                return handler
        for cls in type(exc).__mro__:
            handler = self._by_class.get(cls)
            if handler is not None:
                return handler
        return None


class LoopctlAPI(FastAPI):
    """FastAPI with the leaner middleware stack described in the module."""

    def __init__(
        self, *args: Any, opentelemetry: bool = False, serve_directly: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._opentelemetry = opentelemetry
        # Read by DirectRoute on each request: False hands every route to FastAPI's solver.
        self.serve_directly = serve_directly
        # Routes declared on the app itself (app.get, ...) are DirectRoutes too.
        self.router.route_class = DirectRoute

    def build_middleware_stack(self) -> ASGIApp:
        # Built on the first request, when every route exists. Only DirectRoute opens the
        # exit stack FastAPI's request handler needs; a plain APIRoute would fail on
        # every request, so it stops the app here instead.
        for route in self.routes:
            if isinstance(route, APIRoute) and not isinstance(route, DirectRoute):
                raise RuntimeError(
                    f"{route.path}: declare it on a router with route_class=DirectRoute"
                )
        app: ASGIApp = ErrorBoundary(self.router, self.exception_handlers)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        if self._opentelemetry:
            app = ExceptionTelemetryMiddleware(app)
        return app
