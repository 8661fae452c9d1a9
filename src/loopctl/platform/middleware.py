"""One pure-ASGI middleware: request id, body-size limit, access log and metrics.

Pure ASGI (not BaseHTTPMiddleware) because it wraps every request on the hot path.
"""

import re
import time
from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loopctl.kit.ids import new_id_hex
from loopctl.kit.responses import dumps
from loopctl.platform.errors import PayloadTooLarge
from loopctl.platform.observability import AccessLog, Metrics

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class _TooLarge(HTTPException):
    # An HTTPException so that FastAPI's body reader passes it through unchanged; the
    # app's handler renders it with its limit, as a declared Content-Length over it is.
    def __init__(self, limit_bytes: int) -> None:
        super().__init__(status_code=413)
        self.limit_bytes = limit_bytes


class RequestMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        access_log: AccessLog | None,
        templates: dict[int, str],
        larger_bodies: Sequence[tuple[re.Pattern[str], int]] = (),
    ) -> None:
        self.app = app
        # Routes that take bigger documents (imports), matched on the raw path.
        self.larger_bodies = list(larger_bodies)
        # id(route) -> its full path template; filled by create_app once routes exist.
        self.templates = templates
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else new_id_hex()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        limit = self._limit_for(scope.get("path", ""))
        try:
            length = _header(scope, b"content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                await self._too_large(send_with_id, limit)
            else:
                await self.app(scope, self._limited(receive, limit), send_with_id)
        except _TooLarge:
            await self._too_large(send_with_id, limit)
        finally:
            self._record(scope, state, status, time.perf_counter() - started, request_id)

    def _limit_for(self, path: str) -> int:
        for pattern, limit in self.larger_bodies:
            if pattern.match(path):
                return limit
        return self.max_body_bytes

    def _limited(self, receive: Receive, limit: int) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        return counted

    async def _too_large(self, send: Send, limit: int) -> None:
        error = PayloadTooLarge(
            f"Request body exceeds {limit} bytes", details={"limit_bytes": limit}
        )
        body = dumps(error.body())
        await send(
            {
                "type": "http.response.start",
                "status": error.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _record(
        self, scope: Scope, state: dict[str, Any], status: int, seconds: float, request_id: str
    ) -> None:
        route = scope.get("route")
        template = self.templates.get(id(route)) if route is not None else None
        template = template or getattr(route, "path_format", None) or "<unmatched>"
        method = scope.get("method", "")
        self.metrics.observe_request(method, template, status, seconds)
        if self.access_log is None or not self.access_log.enabled():
            return
        client = scope.get("client")
        self.access_log.write(
            request_id=request_id,
            method=method,
            path=scope.get("path", ""),
            route=template,
            status=status,
            # Rounded to the microsecond in integers: round(x, 3) costs several times more.
            latency_ms=int(seconds * 1_000_000 + 0.5) / 1000,
            tenant_id=state.get("tenant_id") or None,
            key_prefix=state.get("key_prefix"),
            client=client[0] if client else None,
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None
