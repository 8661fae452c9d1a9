"""Where the server URL comes from, and what never reaches the terminal."""

import pytest

from loopctl.cli.errors import ApiError, UsageProblem, one_line, redact
from loopctl.cli.exit_codes import ExitCode, for_status
from loopctl.cli.sources import Server, is_local, resolve_server


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, Server("http://127.0.0.1:4000", "the default local server")),
        ({"LOOPCTL_PORT": "4123"}, Server("http://127.0.0.1:4123", "LOOPCTL_PORT")),
        (
            {"LOOPCTL_PORT": "4123", "LOOPCTL_HOST": "0.0.0.0"},
            Server("http://127.0.0.1:4123", "LOOPCTL_PORT"),
        ),
        ({"LOOPCTL_HOST": "::1"}, Server("http://[::1]:4000", "the default local server")),
        ({"LOOPCTL_HOST": "::"}, Server("http://127.0.0.1:4000", "the default local server")),
        (
            {"LOOPCTL_SERVER": "https://x.example/", "LOOPCTL_PORT": "1"},
            Server("https://x.example", "LOOPCTL_SERVER"),
        ),
        ({"LOOPCTL_SERVER": " "}, Server("http://127.0.0.1:4000", "the default local server")),
    ],
)
def test_the_server_follows_the_environment_serve_reads(
    env: dict[str, str], expected: Server
) -> None:
    assert resolve_server(None, env) == expected


def test_the_flag_wins_and_bad_values_are_usage_errors() -> None:
    env = {"LOOPCTL_SERVER": "http://a:1", "LOOPCTL_PORT": "2"}
    assert resolve_server("http://b:3/", env) == Server("http://b:3", "--server")
    for bad in ({"LOOPCTL_PORT": "0"}, {"LOOPCTL_PORT": "65536"}, {"LOOPCTL_SERVER": "h:80"}):
        with pytest.raises(UsageProblem) as caught:
            resolve_server(None, bad)
        assert caught.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:4000", True),
        ("http://127.8.0.1", True),
        ("http://[::1]:4000", True),
        ("http://localhost", True),
        ("http://192.0.2.1", False),
        ("https://loopctl.example", False),
    ],
)
def test_only_loopback_servers_get_the_saved_key(url: str, local: bool) -> None:
    assert is_local(url) is local


def test_credentials_are_redacted_from_any_message() -> None:
    key = "lc_" + "Q" * 43
    text = (
        f"postgresql://owner:s3cr3t@db:5432/x and host=db password=hunter2 user=u and {key}\n"
        "next line\x1b[31m"
    )
    cleaned = one_line(text)
    for secret in ("s3cr3t", "hunter2", key, "Q" * 10, "\n", "\x1b"):
        assert secret not in cleaned
    assert "postgresql://owner:***@db:5432/x" in cleaned
    assert redact("http://host/path?q=1") == "http://host/path?q=1"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, ExitCode.VALIDATION),
        (401, ExitCode.AUTH),
        (403, ExitCode.FORBIDDEN),
        (404, ExitCode.NOT_FOUND),
        (405, ExitCode.FAILURE),
        (409, ExitCode.CONFLICT),
        (413, ExitCode.VALIDATION),
        (422, ExitCode.VALIDATION),
        (429, ExitCode.RATE_LIMITED),
        (500, ExitCode.SERVER),
        (503, ExitCode.SERVER),
    ],
)
def test_each_status_maps_to_its_exit_code(status: int, code: ExitCode) -> None:
    assert for_status(status) == code
    assert ApiError.from_body(status, None).exit_code == code


def test_a_validation_line_names_each_field_once() -> None:
    many = {"errors": [{"field": f"body.f{i}", "message": "Field required"} for i in range(5)]}
    line = ApiError(422, "validation_error", "Validation failed: body.f0, …", many).line()
    assert line.endswith(
        "[body.f0: Field required; body.f1: Field required; body.f2: Field required; and 2 more]"
    )
    single = {"errors": [{"field": "body.expires_at", "message": "must be in the future"}]}
    message = "body.expires_at: must be in the future"
    line = ApiError(422, "validation_error", message, single).line()
    assert line == f"loopctl: validation_error: {message}"
