"""`loopctl db` failures: one line on stderr, a documented exit code, no credential, no file."""

import subprocess
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.database.test_backup import loopctl
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.server import external_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve")]
PASSWORD = "Pw-never-shown-4f2a"
SECRET = "secret-never-shown-9c1d0e8b7a6f5e4d"


def _env(url: str) -> dict[str, str]:
    return {
        "LOOPCTL_DATABASE_URL": url,
        "LOOPCTL_ADMIN_DATABASE_URL": url,
        "LOOPCTL_OWNER_DATABASE_URL": url,
        "LOOPCTL_SECRET_KEY": SECRET,
    }


def _assert_clean_failure(
    result: subprocess.CompletedProcess[str], code: int = 1, *hidden: str
) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    output = result.stdout + result.stderr
    for value in (PASSWORD, SECRET, *hidden):
        assert value not in output, output
    assert "Traceback" not in output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("loopctl: "), result.stderr
    return lines[0]


UNREACHABLE = f"postgresql://loopctl:{PASSWORD}@127.0.0.1:1/loopctl"
MALFORMED = [
    f"postgresql://loopctl:{PASSWORD}@127.0.0.1:notaport/loopctl",
    f"postgresql://loopctl:{PASSWORD}@127.0.0.1/loopctl?bogus_option=1",
    f"host=127.0.0.1 port=1 password={PASSWORD} dbname",
    # libpq quotes this whole URL, password included, in its error
    f"postgresql://loopctl:{PASSWORD}@[::1/loopctl",
]
CASES = [(UNREACHABLE, ["status"]), (UNREACHABLE, ["migrate"])] + [
    (url, ["backup", "--output", "out"]) for url in [UNREACHABLE, *MALFORMED]
]


@pytest.mark.parametrize(("url", "command"), CASES)
def test_connection_failures_show_no_credential(
    tmp_path: Path, url: str, command: list[str]
) -> None:
    args = ["db", *[str(tmp_path / a) if a == "out" else a for a in command]]
    _assert_clean_failure(loopctl(args, _env(url)))
    assert list(tmp_path.iterdir()) == []


def test_init_failure_shows_no_superuser_password() -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/postgres"
    _assert_clean_failure(loopctl(["db", "init", "--superuser-url", url]))


@pytest.mark.realdb
def test_wrong_password_and_pg_dump_failure(
    tmp_path: Path, cluster: Cluster, fresh_db: Urls
) -> None:
    env = {**external_env(fresh_db, cluster), "LOOPCTL_SECRET_KEY": SECRET}
    real_password = cluster.passwords.admin
    # (The test cluster trusts its socket, so a wrong password would pass: a missing
    # database makes the server refuse instead.)
    wrong = fresh_db.admin.replace(f"/{fresh_db.database}?", "/no_such_database?")
    output = tmp_path / "out.backup"
    refused = loopctl(
        ["db", "backup", "--output", str(output)], {**env, "LOOPCTL_ADMIN_DATABASE_URL": wrong}
    )
    assert "does not exist" in _assert_clean_failure(refused, 1, real_password)

    # pg_dump itself fails (the admin role lost a grant): no partial or temporary file.
    with psycopg.connect(fresh_db.superuser, autocommit=True) as conn:
        conn.execute(
            sql.SQL("REVOKE SELECT ON projects FROM {}").format(sql.Identifier(cluster.roles.admin))
        )
    line = _assert_clean_failure(
        loopctl(["db", "backup", "--output", str(output)], env), 1, real_password
    )
    assert "pg_dump failed" in line
    assert "permission denied" in line
    assert list(tmp_path.iterdir()) == []


def test_read_only_commands_never_create_a_cluster(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    for args in (["status"], ["migrate"], ["backup", "--output", str(tmp_path / "b")]):
        result = loopctl(["db", *args, "--data-dir", str(missing)])
        line = _assert_clean_failure(result)
        assert "no loopctl database in" in line
    via_env = loopctl(["db", "status"], {"LOOPCTL_DATA_DIR": str(missing)})
    assert "no loopctl database in" in _assert_clean_failure(via_env)
    assert list(tmp_path.iterdir()) == []


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.backup"
    bogus.write_bytes(b"not a tar file at all" * 100)
    target = tmp_path / "target"
    line = _assert_clean_failure(loopctl(["db", "restore", str(bogus), "--data-dir", str(target)]))
    assert "not a loopctl backup" in line
    assert not target.exists(), "a bad file must be refused before anything is created"
    missing = loopctl(["db", "restore", str(tmp_path / "none"), "--data-dir", str(target)])
    assert "no such file" in _assert_clean_failure(missing, 2)
