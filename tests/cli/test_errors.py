"""Every failure is one line on stderr and a documented exit code, never a traceback."""

import os
import subprocess
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from loopctl.cli.exit_codes import ExitCode
from tests.cli.conftest import SIGNUPS_PER_HOUR, Live, Outcome, unused_port
from tests.fixtures.server import LOOPCTL

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli")]

Run = Any


def one_line(outcome: Outcome, exit_code: ExitCode, code: str) -> str:
    """Assert the outcome failed with ``exit_code`` and the single line ``loopctl: code: …``."""
    assert outcome.exit_code == exit_code, (outcome.exit_code, outcome.stderr)
    assert len(outcome.lines) == 1, outcome.stderr
    assert outcome.lines[0].startswith(f"loopctl: {code}: "), outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert outcome.stdout == ""
    return outcome.lines[0]


def test_a_refused_connection_is_one_line_and_exit_10_in_a_real_process(tmp_path: Path) -> None:
    port = unused_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOOPCTL_")}
    env = {**clean, "LOOPCTL_API_KEY": "lc_" + "k" * 43, "LOOPCTL_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [LOOPCTL, "whoami", "--server", f"http://127.0.0.1:{port}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == ExitCode.NETWORK
    assert done.stderr.splitlines() == [
        f"loopctl: connection_refused: http://127.0.0.1:{port} refused the connection (server "
        "from --server); is `loopctl serve` running there?"
    ]
    assert done.stdout == ""
    assert "k" * 43 not in done.stderr


def test_a_bad_key_is_exit_3_naming_its_source_not_the_key(live: Live, run: Run) -> None:
    bad = "lc_" + "B" * 43
    outcome = run("whoami", "--server", live.url, env={"LOOPCTL_ORCH_KEY": bad})
    line = one_line(outcome, ExitCode.AUTH, "invalid_api_key")
    assert "the key from LOOPCTL_ORCH_KEY" in line
    assert bad not in line
    assert "B" * 20 not in line


@pytest.mark.parametrize(
    ("role", "args", "exit_code", "code"),
    [
        (
            "agent",
            ["projects", "-d", '{"name": "No", "slug": "no"}'],
            ExitCode.FORBIDDEN,
            "insufficient_role",
        ),
        ("user", [f"projects/{uuid4()}"], ExitCode.NOT_FOUND, "project_not_found"),
        ("user", ["projects", "-d", '{"name": ""}'], ExitCode.VALIDATION, "validation_error"),
        ("user", ["no/such/route"], ExitCode.NOT_FOUND, "not_found"),
        ("user", ["-X", "PUT", "tenants/me"], ExitCode.FAILURE, "method_not_allowed"),
    ],
    ids=["403", "404", "422", "404 route", "405"],
)
def test_each_error_class_has_its_exit_code(
    live: Live, run: Run, role: str, args: list[str], exit_code: ExitCode, code: str
) -> None:
    key = live.new_key(role)["raw_key"]
    outcome = run("api", *args, "--server", live.url, env={"LOOPCTL_API_KEY": key})
    one_line(outcome, exit_code, code)
    assert key not in outcome.stderr


def test_a_validation_error_names_the_fields_on_its_line(live: Live, run: Run) -> None:
    key = live.new_key("user")["raw_key"]
    outcome = run(
        "api",
        "projects",
        "-d",
        '{"slug": "x y"}',
        "--server",
        live.url,
        env={"LOOPCTL_API_KEY": key},
    )
    line = one_line(outcome, ExitCode.VALIDATION, "validation_error")
    assert "body.name: " in line
    assert "body.slug: " in line


def test_a_conflict_is_exit_6(live: Live, run: Run) -> None:
    key = live.new_key("user")["raw_key"]
    slug = f"p-{uuid4().hex[:8]}"
    body = f'{{"name": "P", "slug": "{slug}"}}'
    first = run("api", "projects", "-d", body, "--server", live.url, env={"LOOPCTL_API_KEY": key})
    assert first.exit_code == 0, first.stderr
    again = run("api", "projects", "-d", body, "--server", live.url, env={"LOOPCTL_API_KEY": key})
    one_line(again, ExitCode.CONFLICT, "project_slug_taken")


def test_rate_limited_is_exit_8(live: Live, run: Run) -> None:
    for attempt in range(SIGNUPS_PER_HOUR + 1):
        body = f'{{"name": "T", "slug": "cli-{uuid4().hex[:8]}"}}'
        outcome = run("api", "tenants/register", "-d", body, "--server", live.url)
        if attempt < SIGNUPS_PER_HOUR:
            assert outcome.exit_code == 0, outcome.stderr
    line = one_line(outcome, ExitCode.RATE_LIMITED, "rate_limited")
    assert "retry after" in line


def test_a_server_error_envelope_is_exit_9_with_its_request_id(canned: Any, run: Run) -> None:
    body = b'{"error": {"status": 500, "code": "internal_error", "message": "Internal server error", "details": {"request_id": "r-1"}}}'
    url = canned(500, "application/json", body)
    outcome = run("whoami", "--server", url, "--api-key", "lc_" + "x" * 43)
    line = one_line(outcome, ExitCode.SERVER, "internal_error")
    assert line == "loopctl: internal_error: Internal server error (request id r-1)"


def test_a_proxy_error_page_is_exit_9(canned: Any, run: Run) -> None:
    url = canned(502, "text/html", b"<html><body>\n<h1>Bad gateway</h1>\n</body></html>")
    outcome = run("api", "tenants/me", "--server", url, "--api-key", "lc_" + "x" * 43)
    assert (
        one_line(outcome, ExitCode.SERVER, "http_502") == "loopctl: http_502: HTTP 502 Bad Gateway"
    )


def test_a_server_that_is_not_loopctl_is_exit_9(canned: Any, run: Run) -> None:
    url = canned(200, "text/html", b"<html>hello</html>")
    outcome = run("api", "tenants/me", "--server", url, "--api-key", "lc_" + "x" * 43)
    assert "is this a loopctl server?" in one_line(outcome, ExitCode.SERVER, "bad_response")


def test_a_server_that_never_answers_times_out_with_exit_10(silent: str, run: Run) -> None:
    outcome = run("whoami", "--server", silent, "--timeout", "0.3", "--api-key", "lc_" + "x" * 43)
    line = one_line(outcome, ExitCode.NETWORK, "timeout")
    assert line.endswith(f"no answer from {silent} within 0.3 s (server from --server)")


def test_an_unknown_host_is_exit_10(run: Run) -> None:
    outcome = run("whoami", "--server", "http://no-such-host.invalid", "--api-key", "lc_x")
    one_line(outcome, ExitCode.NETWORK, "unknown_host")


@pytest.mark.parametrize(
    ("args", "env", "code"),
    [
        (["whoami", "--server", "ftp://x"], {}, "bad_server_url"),
        (["whoami", "--server", "http://h:99999"], {}, "bad_server_url"),
        (["whoami"], {"LOOPCTL_PORT": "http"}, "bad_environment"),
        (["api", "x", "-d", "{"], {}, "bad_data"),
        (["api", "x", "-X", "TRACE"], {}, "bad_method"),
    ],
)
def test_bad_values_are_usage_errors(
    run: Run, args: list[str], env: dict[str, str], code: str
) -> None:
    one_line(run(*args, env={"LOOPCTL_API_KEY": "lc_x", **env}), ExitCode.USAGE, code)


def test_clicks_own_usage_errors_keep_exit_2(run: Run) -> None:
    outcome = run("whoami", "--no-such-option")
    assert outcome.exit_code == ExitCode.USAGE
    assert "No such option" in outcome.stderr
