"""Requests uvicorn cannot parse get the error envelope too: raw bytes to a real `loopctl serve`."""

import re
import signal
import socket
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from loopctl.platform.protocols import MAX_HEAD_BYTES, MAX_HEADERS, MAX_TARGET_BYTES
from tests.fixtures.database import Cluster
from tests.fixtures.server import Server, external_env, start

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve")]

HOST = b"Host: 127.0.0.1\r\n"
MALFORMED = {
    "not-http": b"NOT HTTP AT ALL\r\n\r\n",
    "space-in-header-name": b"GET /health HTTP/1.1\r\n" + HOST + b"Bad Header: v\r\n\r\n",
    "control-char-in-value": b"GET /health HTTP/1.1\r\n" + HOST + b"X-A: a\x01b\r\n\r\n",
    "bad-chunk-size": (
        b"POST /api/v1/tenants/register HTTP/1.1\r\n" + HOST + b"Content-Type: application/json"
        b"\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n"
    ),
    "non-ascii-target": b"GET /\xff HTTP/1.1\r\n" + HOST + b"\r\n",
    "bad-version": b"GET /health HTTP/9.Z\r\n" + HOST + b"\r\n",
    "tls-handshake": bytes.fromhex("160301020001") + b"\x00" * 32,
}
TOO_LONG_TARGET = b"GET /" + b"a" * MAX_TARGET_BYTES + b" HTTP/1.1\r\n" + HOST + b"\r\n"
MANY_HEADERS = (
    b"GET /health HTTP/1.1\r\n"
    + HOST
    + b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS))
    + b"\r\n"
)
HUGE_HEADER = b"GET /health HTTP/1.1\r\n" + HOST + b"X-A: " + b"v" * MAX_HEAD_BYTES + b"\r\n\r\n"


@pytest.fixture(scope="module")
def server(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server on an external database of its own, for every test here."""
    name = f"protocols_{cluster.suffix}"
    cluster.drop(name)
    urls = cluster.clone(name)
    running = start(tmp_path_factory.mktemp("protocols") / "data", external_env(urls, cluster))
    try:
        yield running
    finally:
        running.stop(signal.SIGTERM)
        cluster.drop(name)


def exchange(server: Server, data: bytes) -> bytes:
    """Send ``data`` on a new connection; everything the server sends until it closes."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):  # the server must close: a timeout fails the test
            received += chunk
    return received


def refusal(response: bytes, status: int, code: str) -> dict[str, Any]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} "), lines[0]
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)
    error: dict[str, Any] = orjson.loads(body)["error"]
    assert (error["status"], error["code"]) == (status, code)
    assert error["message"]
    return error


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_an_unparseable_request_gets_the_envelope_and_the_connection_closes(
    server: Server, data: bytes
) -> None:
    error = refusal(exchange(server, data), 400, "invalid_http_request")
    assert set(error) <= {"status", "code", "message", "details"}


def test_the_parsers_reason_is_given_without_quoting_the_request(server: Server) -> None:
    data = b"GET /health HTTP/1.1\r\n" + HOST + b"Authorization: Bearer lc_s\x01cret\r\n\r\n"
    response = exchange(server, data)
    error = refusal(response, 400, "invalid_http_request")
    assert error["details"]["reason"] == "Invalid header value char"
    assert b"lc_s" not in response


def test_a_too_long_request_target_is_414(server: Server) -> None:
    refusal(exchange(server, TOO_LONG_TARGET), 414, "uri_too_long")
    # One byte shorter is parsed, and routed by the app.
    shorter = TOO_LONG_TARGET.replace(b"a", b"", 1)
    assert exchange(server, shorter.replace(HOST, HOST + b"Connection: close\r\n")).startswith(
        b"HTTP/1.1 404 "
    )


@pytest.mark.parametrize("data", [MANY_HEADERS, HUGE_HEADER], ids=["count", "size"])
def test_too_many_or_too_large_headers_are_431(server: Server, data: bytes) -> None:
    refusal(exchange(server, data), 431, "request_header_fields_too_large")


def test_a_keep_alive_connection_answers_then_refuses_in_the_envelope(server: Server) -> None:
    good = b"GET /health HTTP/1.1\r\n" + HOST + b"\r\n"
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(good)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE)[1])  # type: ignore[index]
        while len(body) < length:
            body += sock.recv(65536)
        sock.sendall(MALFORMED["not-http"])
        rest = b""
        while chunk := sock.recv(65536):
            rest += chunk
    refusal(rest, 400, "invalid_http_request")
    # The server itself is unharmed.
    healthy = exchange(server, good.replace(HOST, HOST + b"Connection: close\r\n"))
    assert healthy.startswith(b"HTTP/1.1 200 ")
