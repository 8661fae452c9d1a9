"""Redacting connection strings, and choosing the shipped PostgreSQL tools."""

import json
import logging
import sys
from pathlib import Path

import psycopg
import pytest

from loopctl.database import archive
from loopctl.database.backup import BackupError, Tool, restore, tool
from loopctl.database.urls import password_of, redact, scrub, secrets_of, without_password
from loopctl.kit.migration import Roles
from loopctl.platform.observability import JsonFormatter


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://u:s3cr%40t@db:5432/x", "postgresql://u:***@db:5432/x"),
        ("postgres://u:p@ss@db/x", "postgres://u:***@db/x"),
        ('URI: "postgresql://u:pw@[::1/x"', 'URI: "postgresql://u:***@[::1/x"'),
        ("host=db password=hunter22 dbname=x", "host=db password=*** dbname=x"),
        ("host=db password = 'a b\\'c' user=u", "host=db password = *** user=u"),
        (
            "postgresql://db/x?password=pw&sslmode=require",
            "postgresql://db/x?password=***&sslmode=require",
        ),
        ("postgresql://u@db/x", "postgresql://u@db/x"),
        ("postgresql://u:@/x?host=/tmp", "postgresql://u:***@/x?host=/tmp"),
    ],
)
def test_redact_removes_every_password_form(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_scrub_removes_known_secrets_and_their_url_quoted_form() -> None:
    url = "postgresql://u:p%2Fw0rd!@db/x"
    hidden = secrets_of([url, "the-server-secret", None])
    assert password_of(url) == "p/w0rd!"
    message = "failed for p/w0rd! and p%2Fw0rd%21 and the-server-secret in " + url
    cleaned = scrub(message, hidden)
    assert "w0rd" not in cleaned
    assert "the-server-secret" not in cleaned


def test_without_password_splits_the_password_off() -> None:
    conninfo, password = without_password("postgresql://u:pw%3D1@db:5433/x?sslmode=require")
    assert password == "pw=1"
    assert "pw" not in conninfo
    assert "port=5433" in conninfo
    assert "sslmode=require" in conninfo
    assert without_password("host=/tmp dbname=x")[1] is None


def test_tool_matches_the_server_or_refuses_a_newer_one() -> None:
    assert tool("pg_dump", 18).parent.parent.name == "pginstall18"
    assert tool("pg_dump", 16).parent.parent.name == "pginstall"
    assert tool("pg_dump", 15).parent.parent.name == "pginstall"  # the oldest newer one
    with pytest.raises(BackupError, match="PostgreSQL 19, newer than the pg_dump 18"):
        tool("pg_dump", 19)


def test_server_logs_never_carry_a_connection_password() -> None:
    url = "postgresql://loopctl_app:Pw-in-a-log-1234@[::1/loopctl"
    try:
        psycopg.connect(url)
    except psycopg.Error:
        record = logging.LogRecord(
            "loopctl", logging.ERROR, __file__, 1, "pool failed: %s", (url,), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "Pw-in-a-log-1234" not in line
    assert "postgresql://loopctl_app:***@" in line
    assert "exception" in json.loads(line)


def _archive(path: Path, **manifest: object) -> None:
    dump = path.parent / "fake.dump"
    dump.write_bytes(b"PGDMP")
    fields: dict[str, object] = {
        "format": archive.FORMAT,
        "format_version": archive.FORMAT_VERSION,
        "loopctl_version": "0",
        "schema_revision": "0001",
        "server_version": 180000,
        "pg_dump_version": "pg_dump (PostgreSQL) 18.0",
        "created_at": "2026-01-01T00:00:00+00:00",
        **manifest,
    }
    archive.write(path, archive.Manifest(**fields), archive.Secrets("s" * 32), dump)  # type: ignore[arg-type]


def test_restore_refuses_unknown_revisions_and_formats_before_touching_a_database(
    tmp_path: Path,
) -> None:
    roles = Roles(owner="o", app="a", admin="d")
    nowhere = "postgresql://u:pw@127.0.0.1:1/x"  # never reached: refused first
    future = tmp_path / "future.backup"
    _archive(future, schema_revision="from_the_future")
    with pytest.raises(BackupError, match="does not know"):
        restore(future, nowhere, "x", nowhere, roles)
    newer = tmp_path / "newer.backup"
    _archive(newer, format_version=archive.FORMAT_VERSION + 1)
    with pytest.raises(archive.ArchiveError, match="upgrade loopctl"):
        archive.peek(newer)
    assert archive.peek(future)[1].secret_key == "s" * 32


def test_tools_get_the_password_through_the_environment_only(tmp_path: Path) -> None:
    recorder = tmp_path / "pg_dump"
    recorder.write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$0.args"\nprintf "%s" "$PGPASSWORD" > "$0.env"\n'
    )
    recorder.chmod(0o700)
    url = "postgresql://loopctl_admin:Pw%2Fonly-in-env@db.internal:5433/loopctl"
    Tool(recorder, url, ()).run(["--format=custom"])
    args = (tmp_path / "pg_dump.args").read_text()
    assert "only-in-env" not in args
    assert "Pw%2F" not in args
    assert "host=db.internal" in args
    assert (tmp_path / "pg_dump.env").read_text() == "Pw/only-in-env"


def test_a_failing_tool_reports_without_the_password(tmp_path: Path) -> None:
    failing = tmp_path / "pg_restore"
    failing.write_text('#!/bin/sh\necho "pg_restore: error: bad $PGPASSWORD" >&2\nexit 1\n')
    failing.chmod(0o700)
    url = "postgresql://u:Secret-pass-1@db/x"
    with pytest.raises(BackupError) as raised:
        Tool(failing, url, tuple(secrets_of([url]))).run([])
    assert "Secret-pass-1" not in str(raised.value)
    assert "pg_restore failed: pg_restore: error: bad ***" in str(raised.value)
