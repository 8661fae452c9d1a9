"""A live `loopctl serve` for the client tests, keys of each role, and a flaky local server."""

import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

import pytest

from loopctl.client import Client, RetryPolicy
from tests.cli.conftest import silent  # noqa: F401 - the CLI tests' fixture, shared
from tests.fixtures.database import Cluster
from tests.fixtures.server import Server, external_env, start

# Fast retries, so retry tests take milliseconds.
QUICK = RetryPolicy(attempts=4, initial=0.01, maximum=0.05)


@dataclass(frozen=True)
class Live:
    server: Server
    user_key: str = field(repr=False)

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, key: str | None) -> Client:
        return Client(self.url, key, retry=QUICK)

    def new_key(self, role: str) -> str:
        """A fresh key of ``role``, bound to a new agent unless a user key, made by the client."""
        extra = {} if role == "user" else {"agent_name": f"client-{role}-{uuid4().hex[:8]}"}
        with self.client(self.user_key) as client:
            return client.create_api_key(f"client {role}", role, **extra).raw_key


@pytest.fixture(scope="package")
def live(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    name = f"client_{cluster.suffix}_{uuid4().hex[:8]}"
    urls = cluster.clone(name)
    env = {
        **external_env(urls, cluster),
        "LOOPCTL_AUTH_FAILURES_PER_IP_PER_MINUTE": "1000",
        "LOOPCTL_ACCESS_LOG": "false",
    }
    server = start(tmp_path_factory.mktemp("client") / "data", env)
    try:
        user_key = (server.data_dir / "local-user-key").read_text().strip()
        yield Live(server, user_key)
    finally:
        server.stop(signal.SIGTERM)
        cluster.drop(name)


@dataclass(frozen=True)
class Roles:
    user: str = field(repr=False)
    orchestrator: str = field(repr=False)
    agent: str = field(repr=False)


@pytest.fixture(scope="package")
def keys(live: Live) -> Roles:
    return Roles(live.user_key, live.new_key("orchestrator"), live.new_key("agent"))


class _Flaky(BaseHTTPRequestHandler):
    """503 in our envelope for the first ``failures`` requests, then 200 with a tenant-like body."""

    def _answer(self) -> None:
        flaky: Flaky = self.server.flaky  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, body = flaky.next(self.command)
        self.send_response(status)
        self.send_header("Retry-After", "7")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class Flaky:
    """A real HTTP server on 127.0.0.1 that fails ``failures`` times with 503, then answers."""

    UNAVAILABLE = (
        b'{"error": {"status": 503, "code": "query_timeout", "message": "busy", "details": {}}}'
    )

    def __init__(self, failures: int, answer: bytes, failure: tuple[int, bytes]) -> None:
        self.failures = failures
        self.answer = answer
        self.failure = failure
        self.methods: list[str] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
        self.httpd.flaky = self  # type: ignore[attr-defined]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def next(self, method: str) -> tuple[int, bytes]:
        with self._lock:
            self.methods.append(method)
            if len(self.methods) <= self.failures:
                return self.failure
            return 200, self.answer

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def flaky() -> Iterator[Any]:
    started: list[Flaky] = []

    def make(
        failures: int, answer: bytes = b'{"data": {}}', failure: tuple[int, bytes] | None = None
    ) -> Flaky:
        server = Flaky(failures, answer, failure or (503, Flaky.UNAVAILABLE))
        started.append(server)
        return server

    yield make
    for server in started:
        server.close()
