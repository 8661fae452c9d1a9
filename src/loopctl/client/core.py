"""What every call shares: the request it makes, decoding the answer, errors and retries.

A ``Call`` describes one request and how to read its answer; the sync and async clients
only differ in how they send it. Idempotent methods (GET, PUT, DELETE) are retried with
exponential backoff on a network error or a 503 (tenacity); a POST or PATCH never is, since
the server may have applied it before the connection dropped.
"""

import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import httpx
import tenacity
from pydantic import BaseModel

from loopctl.client.errors import LoopctlError, NetworkError, ServerError, from_answer
from loopctl.kit.schemas import Page

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

API = "/api/v1"
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUS = 503
Id = UUID | str


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request: method, path under /api/v1, query, JSON body, and how to read the answer."""

    method: str
    path: str
    read: Callable[[Any], T]
    params: Mapping[str, Any] | None = None
    body: Any = None
    # A raw call (``Client.request``): an empty success reads as None, and a path may leave
    # /api/v1 (``/health``).
    raw: bool = False

    @property
    def url(self) -> str:
        if not self.raw:
            return API + self.path
        return self.path if self.path.startswith("/") else f"{API}/{self.path}"


def item(model: type[M]) -> Callable[[Any], M]:
    """Reads ``{"data": {...}}`` as ``model``."""
    return lambda body: model.model_validate(body["data"])


def page(model: type[M]) -> Callable[[Any], Page[M]]:
    """Reads ``{"data": [...], "meta": {...}}`` as a ``Page`` of ``model``."""
    return lambda body: Page[model].model_validate(body)  # type: ignore[valid-type]


def raw_call(method: str, path: str, body: Any = None) -> Call[Any]:
    """Any request: ``path`` under /api/v1 (``projects``) or absolute (``/api/v1/…``, ``/health``);
    the answer is the decoded JSON body, as is."""
    return Call(method.upper(), path, lambda answer: answer, body=body, raw=True)


def present(**given: Any) -> dict[str, Any]:
    """The query parameters or body fields given (``None`` means not sent); UUIDs as strings."""
    return {k: str(v) if isinstance(v, UUID) else v for k, v in given.items() if v is not None}


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent calls are retried: ``attempts`` in all, waits doubling from ``initial``.

    Only GET, HEAD, OPTIONS, PUT and DELETE, whatever the policy: a POST or PATCH is never sent
    twice.
    """

    attempts: int = 4
    initial: float = 0.2
    maximum: float = 5.0

    def _kwargs(self, method: str) -> dict[str, Any]:
        attempts = self.attempts if method in IDEMPOTENT else 1
        return {
            "stop": tenacity.stop_after_attempt(max(attempts, 1)),
            "wait": tenacity.wait_exponential(multiplier=self.initial, max=self.maximum),
            "retry": tenacity.retry_if_exception(retryable),
            "reraise": True,
        }

    def sync(self, method: str) -> tenacity.Retrying:
        return tenacity.Retrying(**self._kwargs(method))

    def asynchronous(self, method: str) -> tenacity.AsyncRetrying:
        return tenacity.AsyncRetrying(**self._kwargs(method))


def retryable(exc: BaseException) -> bool:
    """A network error, or a 503 (the server is busy or a statement timed out)."""
    return isinstance(exc, NetworkError) or (
        isinstance(exc, ServerError) and exc.status == RETRY_STATUS
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps (httpx wraps httpcore, which wraps the OSError)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def network_error(exc: httpx.TransportError, where: str) -> NetworkError:
    """The same codes as the CLI's: timeout, connection_refused, unknown_host, tls_error."""
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(None, "timeout", f"no answer from {where} in time")
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return NetworkError(None, "connection_refused", f"{where} refused the connection")
        if isinstance(cause, socket.gaierror):
            return NetworkError(None, "unknown_host", f"cannot resolve the host of {where}")
        if isinstance(cause, ssl.SSLError):
            return NetworkError(None, "tls_error", f"TLS failed with {where}: {cause}")
    reason = str(exc) or type(exc).__name__
    return NetworkError(None, "connection_failed", f"talking to {where} failed: {reason}")


def decode(call: Call[T], response: httpx.Response) -> T:
    """The call's result from a response, or the ``LoopctlError`` the response stands for."""
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if response.is_error:
        raise from_answer(
            response.status_code, body, response.reason_phrase, response.headers.get("retry-after")
        )
    if body is None and call.raw and not response.content:
        return call.read(None)
    if body is None:
        raise ServerError(
            response.status_code,
            "bad_response",
            f"HTTP {response.status_code} without a JSON body: is this a loopctl server?",
        )
    try:
        return call.read(body)
    except (KeyError, TypeError, ValueError) as exc:
        raise ServerError(
            response.status_code, "bad_response", f"an answer the client cannot read: {exc}"
        ) from exc


def headers(key: str | None, agent: str) -> dict[str, str]:
    sent = {"User-Agent": agent, "Accept": "application/json"}
    if key:
        sent["Authorization"] = f"Bearer {key}"
    return sent


__all__ = ["API", "Call", "Id", "LoopctlError", "RetryPolicy"]
