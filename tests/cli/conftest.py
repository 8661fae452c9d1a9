"""A live server for the CLI tests, the CLI run in-process, and tiny stand-in HTTP servers."""

import os
import signal
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from typer.testing import CliRunner

from loopctl.cli.main import app
from tests.fixtures.database import Cluster
from tests.fixtures.server import Server, external_env, start

# Low enough for a test to reach 429 cheaply, on a route no other test calls.
SIGNUPS_PER_HOUR = 1


@dataclass(frozen=True)
class Live:
    server: Server
    port: int
    user_key: str

    @property
    def url(self) -> str:
        return self.server.url

    def new_key(self, role: str) -> dict[str, Any]:
        """A fresh key of ``role`` (bound to a new agent unless a user key): the API's answer."""
        body: dict[str, Any] = {"name": f"cli {role}", "role": role}
        if role != "user":
            body["agent_name"] = f"cli-{role}-{uuid4().hex[:8]}"
        response = httpx.post(
            f"{self.url}/api/v1/api_keys",
            json=body,
            headers={"Authorization": f"Bearer {self.user_key}"},
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()["data"]
        return created


@pytest.fixture(scope="package")
def live(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    name = f"cli_{cluster.suffix}_{uuid4().hex[:8]}"
    urls = cluster.clone(name)
    env = {
        **external_env(urls, cluster),
        "LOOPCTL_SIGNUPS_PER_IP_PER_HOUR": str(SIGNUPS_PER_HOUR),
        "LOOPCTL_AUTH_FAILURES_PER_IP_PER_MINUTE": "1000",
        "LOOPCTL_ACCESS_LOG": "false",
    }
    server = start(tmp_path_factory.mktemp("cli") / "data", env)
    try:
        user_key = (server.data_dir / "local-user-key").read_text().strip()
        yield Live(server, int(server.url.rsplit(":", 1)[1]), user_key)
    finally:
        server.stop(signal.SIGTERM)
        cluster.drop(name)


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()


def clean_env(
    data_dir: Path, given: Mapping[str, str | None] | None = None
) -> dict[str, str | None]:
    """No LOOPCTL_* from the test process, a data dir and a config file of the test's own
    (never the user's), then ``given`` (None unsets)."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("LOOPCTL_")}
    env["LOOPCTL_DATA_DIR"] = str(data_dir)
    env["LOOPCTL_CONFIG"] = str(data_dir / "config" / "config.toml")
    env.update(given or {})
    return env


@pytest.fixture
def run(tmp_path: Path) -> Any:
    """Run `loopctl ARGS` in-process with a clean environment; returns an Outcome."""
    runner = CliRunner()

    def invoke(*args: str, env: Mapping[str, str | None] | None = None, stdin: str = "") -> Outcome:
        result = runner.invoke(app, list(args), env=clean_env(tmp_path, env), input=stdin)
        # A command that let an exception escape would leave it here instead of an exit.
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return invoke


def unused_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _Canned(BaseHTTPRequestHandler):
    """Answers every request with the server's status, content type and body."""

    def do_GET(self) -> None:
        status, content_type, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def canned() -> Iterator[Any]:
    """Start a real local HTTP server giving one fixed answer; returns its URL."""
    servers: list[ThreadingHTTPServer] = []

    def serve(status: int, content_type: str, body: bytes) -> str:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
        httpd.answer = (status, content_type, body)  # type: ignore[attr-defined]
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield serve
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def silent() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
