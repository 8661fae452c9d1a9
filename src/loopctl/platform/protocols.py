"""uvicorn's HTTP protocol with the refusals it sends before the app runs in our envelope.

A request uvicorn cannot parse (a malformed request line, an invalid header, bad chunked
encoding, a non-ASCII target) never reaches the ASGI app: uvicorn writes a plain-text 400
and closes the connection. Its httptools protocol routes every such refusal through
``send_400_response``, and uvicorn accepts a protocol class (``http=``), so a subclass
writes the error envelope instead. uvicorn's httptools protocol does not bound the request
head, so the subclass also refuses a request target over ``MAX_TARGET_BYTES`` (414) and a
head over ``MAX_HEAD_BYTES`` or ``MAX_HEADERS`` fields (431). ``loopctl serve`` always uses
it (httptools comes with ``uvicorn[standard]``); uvicorn's h11 fallback is never chosen.

``send_400_response`` is called from inside uvicorn's ``except`` clause for the parser's
error, so the exception it handles says what went wrong; ``tests/test_protocols.py`` holds
uvicorn to that. What stays uvicorn's is listed in docs/architecture.md.
"""

import sys
from typing import Any, NamedTuple

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# nginx's default request-line buffer; a longer target is a mistake or an attack.
MAX_TARGET_BYTES = 8_192
MAX_HEAD_BYTES = 65_536
MAX_HEADERS = 100


class Refusal(NamedTuple):
    status: int
    code: str
    message: str


MALFORMED = Refusal(400, "invalid_http_request", "The request is not valid HTTP/1.1")
TARGET_TOO_LONG = Refusal(
    414, "uri_too_long", f"The request target is longer than {MAX_TARGET_BYTES} bytes"
)
HEAD_TOO_LARGE = Refusal(
    431,
    "request_header_fields_too_large",
    f"The request headers exceed {MAX_HEADERS} fields or {MAX_HEAD_BYTES} bytes",
)
_REASONS = {400: b"Bad Request", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


def _response(refusal: Refusal, reason: str | None, default_headers: Any) -> bytes:
    error: dict[str, Any] = {
        "status": refusal.status,
        "code": refusal.code,
        "message": refusal.message,
    }
    if reason:
        error["details"] = {"reason": reason}
    body = orjson.dumps({"error": error})
    head = [b"HTTP/1.1 %d %s\r\n" % (refusal.status, _REASONS[refusal.status])]
    head.extend(name + b": " + value + b"\r\n" for name, value in default_headers)
    head.append(b"content-type: application/json\r\n")
    head.append(b"content-length: %d\r\n" % len(body))
    head.append(b"connection: close\r\n\r\n")
    return b"".join(head) + body


class _Oversized(Exception):
    """Raised in a parser callback: httptools turns it into a parser error."""


class HttpProtocol(HttpToolsProtocol):
    _refusal = MALFORMED
    _head_bytes = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._refusal = MALFORMED
        self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_TARGET_BYTES:
            self._refusal = TARGET_TOO_LONG
            raise _Oversized()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > MAX_HEAD_BYTES or len(self.headers) >= MAX_HEADERS:
            self._refusal = HEAD_TOO_LARGE
            raise _Oversized()
        super().on_header(name, value)

    def send_400_response(self, msg: str) -> None:  # noqa: ARG002 (uvicorn's signature)
        error = sys.exception()
        reason = None
        if self._refusal is MALFORMED and isinstance(error, httptools.HttpParserError):
            # The parser's own words ("Invalid header value char"), which never quote the
            # request; a callback's failure (a non-ASCII target) names only the callback.
            reason = str(error) if error.__context__ is None else None
        self.transport.write(_response(self._refusal, reason, self.server_state.default_headers))
        self.transport.close()
