"""Following the change feed live: ``GET /api/v1/changes/stream`` read with httpx-sse.

The server sends one ``change`` event per feed event, its id the event's cursor. When the
connection drops, or the server ends the stream, the client connects again sending the last
id it received as ``Last-Event-ID``, so that no event is lost or repeated. Failed connections
are retried with the client's backoff (``RetryPolicy``); a connection that answered starts
the count again.
"""

import json
from collections.abc import AsyncGenerator, Generator, Mapping
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from httpx_sse import EventSource, aconnect_sse, connect_sse

from loopctl.client.core import API, RetryPolicy, network_error, present
from loopctl.client.errors import LoopctlError, ServerError, from_answer
from loopctl.client.feed_calls import ChangeEvent

PATH = API + "/changes/stream"
# The server sends a heartbeat every 15 s; a quiet minute means the connection is gone.
MIN_READ_TIMEOUT = 60.0


@dataclass
class Position:
    """Where the next connection starts: after ``last`` (an event id), else at ``since``."""

    last: str | None
    since: str | None
    filters: Mapping[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        if self.last is not None:
            return present(cursor=self.last, **self.filters)
        return present(since=self.since, **self.filters)

    def headers(self) -> dict[str, str]:
        return {"Last-Event-ID": self.last} if self.last else {}

    def advance(self, event_id: str) -> None:
        self.last, self.since = event_id, None


def start(cursor: str | None, since: datetime | str | None, filters: Mapping[str, Any]) -> Position:
    text = since.isoformat() if isinstance(since, datetime) else since
    return Position(cursor, text, dict(filters))


def read_timeout(timeout: float) -> httpx.Timeout:
    return httpx.Timeout(timeout, read=max(timeout, MIN_READ_TIMEOUT))


def refused(response: httpx.Response) -> LoopctlError:
    """The error an answer that is not an event stream stands for."""
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
    if response.is_error:
        return from_answer(
            response.status_code, body, response.reason_phrase, response.headers.get("retry-after")
        )
    kind = response.headers.get("content-type", "none")
    return ServerError(response.status_code, "bad_response", f"not an event stream ({kind})")


def decoded(data: str) -> ChangeEvent:
    try:
        return ChangeEvent.model_validate_json(data)
    except ValueError as exc:
        raise ServerError(200, "bad_response", f"an event the client cannot read: {exc}") from exc


def streaming(response: httpx.Response) -> bool:
    """An answer that is an event stream (anything else is read whole and refused)."""
    kind = response.headers.get("content-type", "")
    return response.is_success and "text/event-stream" in kind


def _connect(
    http: httpx.Client, where: str, at: Position, policy: RetryPolicy, limits: httpx.Timeout
) -> tuple[EventSource, ExitStack]:
    """An answering stream (retried with backoff), and the stack that closes it."""
    for attempt in policy.sync("GET"):
        with attempt, ExitStack() as stack:
            try:
                source = stack.enter_context(
                    connect_sse(
                        http,
                        "GET",
                        PATH,
                        params=at.params(),
                        headers=at.headers(),
                        timeout=limits,
                    )
                )
                if not streaming(source.response):
                    source.response.read()
            except httpx.TransportError as exc:
                raise network_error(exc, where) from exc
            if not streaming(source.response):
                raise refused(source.response)
            return source, stack.pop_all()
    raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover


def follow(
    http: httpx.Client, where: str, at: Position, policy: RetryPolicy, limits: httpx.Timeout
) -> Generator[ChangeEvent, None, None]:
    """Every event from ``at`` on, reconnecting as needed; ends only when the caller stops."""
    while True:
        source, stack = _connect(http, where, at, policy, limits)
        with stack:
            try:
                for sse in source.iter_sse():
                    if sse.event == "change":
                        event = decoded(sse.data)
                        at.advance(sse.id or event.cursor)
                        yield event
            except httpx.TransportError:
                pass  # it answered, then dropped: connect again after the last event


async def _aconnect(
    http: httpx.AsyncClient, where: str, at: Position, policy: RetryPolicy, limits: httpx.Timeout
) -> tuple[EventSource, AsyncExitStack]:
    async for attempt in policy.asynchronous("GET"):
        with attempt:
            async with AsyncExitStack() as stack:
                try:
                    source = await stack.enter_async_context(
                        aconnect_sse(
                            http,
                            "GET",
                            PATH,
                            params=at.params(),
                            headers=at.headers(),
                            timeout=limits,
                        )
                    )
                    if not streaming(source.response):
                        await source.response.aread()
                except httpx.TransportError as exc:
                    raise network_error(exc, where) from exc
                if not streaming(source.response):
                    raise refused(source.response)
                return source, stack.pop_all()
    raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover


async def afollow(
    http: httpx.AsyncClient, where: str, at: Position, policy: RetryPolicy, limits: httpx.Timeout
) -> AsyncGenerator[ChangeEvent, None]:
    """The async ``follow``."""
    while True:
        source, stack = await _aconnect(http, where, at, policy, limits)
        async with stack:
            try:
                async for sse in source.aiter_sse():
                    if sse.event == "change":
                        event = decoded(sse.data)
                        at.advance(sse.id or event.cursor)
                        yield event
            except httpx.TransportError:
                pass  # it answered, then dropped: connect again after the last event
