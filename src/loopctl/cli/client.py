"""The CLI's HTTP client: every way a request can fail becomes a ``CliError``.

A refused connection, a timeout, an unknown host or a TLS failure is a ``NetworkError``;
an error response is an ``ApiError`` carrying the envelope's code, message and details; a
server that does not answer in JSON is a server error. Nothing else escapes ``request``.
"""

import socket
import ssl
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from loopctl.cli.errors import ApiError, CliError, NetworkError
from loopctl.cli.exit_codes import ExitCode
from loopctl.cli.sources import ApiKey, Server
from loopctl.platform.config import VERSION

DEFAULT_TIMEOUT = 30.0
API_PREFIX = "/api/v1"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps (httpx wraps httpcore, which wraps the OSError)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class Client:
    def __init__(
        self,
        server: Server,
        key: ApiKey | None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        key_tried: list[str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.server = server
        self.key = key
        self.key_tried = key_tried or []
        self.timeout = timeout
        headers = {"User-Agent": f"loopctl-cli/{VERSION}", "Accept": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key.value}"
        self._http = httpx.Client(
            base_url=server.url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request; the decoded JSON body of a success, or a ``CliError``."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise NetworkError(
                "timeout", f"no answer from {self._where()} within {self.timeout:g} s"
            ) from None
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from None
        body = self._json(response)
        if response.is_error:
            raise self._api_error(response, body)
        if body is None and response.content:
            raise CliError(
                "bad_response",
                f"{self._where()} answered HTTP {response.status_code} without JSON; "
                "is it a loopctl server?",
                exit_code=ExitCode.SERVER,
            )
        return body

    def _where(self) -> str:
        return f"{self.server.url} (server from {self.server.source})"

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def _api_error(self, response: httpx.Response, body: Any) -> ApiError:
        error = ApiError.from_body(response.status_code, body, response.reason_phrase)
        if response.status_code == 401:
            if self.key is not None:
                sent = f"the key from {self.key.source}"
            else:
                sent = "no key sent; tried " + ", ".join(self.key_tried or ["nothing"])
            error.message += f" ({sent}; server {self.server.url})"
        return error

    def _transport_error(self, exc: httpx.TransportError) -> CliError:
        for cause in _causes(exc):
            if isinstance(cause, ConnectionRefusedError):
                return NetworkError(
                    "connection_refused",
                    f"cannot connect to {self._where()}: connection refused; "
                    "is `loopctl serve` running there?",
                )
            if isinstance(cause, socket.gaierror):
                host = urlsplit(self.server.url).hostname
                return NetworkError(
                    "unknown_host", f"cannot resolve the host {host} of {self._where()}"
                )
            if isinstance(cause, ssl.SSLError):
                return NetworkError("tls_error", f"TLS failed with {self._where()}: {cause}")
        if isinstance(exc, httpx.UnsupportedProtocol):
            return CliError("bad_server_url", f"{self._where()}: {exc}", exit_code=ExitCode.USAGE)
        reason = str(exc) or type(exc).__name__
        return NetworkError("connection_failed", f"talking to {self._where()} failed: {reason}")


def api_path(path: str) -> str:
    """``/api/v1/...`` as given, or a path relative to it (``projects`` -> ``/api/v1/projects``)."""
    if path.startswith("/"):
        return path
    return f"{API_PREFIX}/{path}"
