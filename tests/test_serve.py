"""`loopctl serve` as users run it: real processes, real ports, the embedded database."""

import re
import signal
import stat
import subprocess
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.fixtures.database import Cluster, Urls
from tests.fixtures.server import LOOPCTL, Server, external_env, free_port, start

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve")]
KEY = re.compile(r"^\s+(lc_[A-Za-z0-9_-]{43})$", re.MULTILINE)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_embedded_first_start_restart_and_clean_stop(tmp_path: Path, servers: list[Server]) -> None:
    data = tmp_path / "data"
    first = start(data)
    servers.append(first)
    printed = KEY.findall(first.output())
    assert len(printed) == 1, first.output()
    key = printed[0]
    assert (data / "local-user-key").read_text().strip() == key
    assert _mode(data / "local-user-key") == 0o600
    assert _mode(data / "credentials.json") == 0o600
    assert _mode(data) in (0o700, 0o710)  # 0710 as root: only PostgreSQL's group may traverse it
    me = httpx.get(f"{first.url}/api/v1/tenants/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200
    assert me.json()["data"]["slug"] == "local"

    assert first.stop(signal.SIGTERM) == 0
    assert not (data / "pgdata" / "postmaster.pid").exists(), "PostgreSQL was not stopped"
    assert "database system is shut down" in (data / "pgdata" / "log").read_text()

    second = start(data)
    servers.append(second)
    assert KEY.findall(second.output()) == [], "a restart must not create another key"
    again = httpx.get(f"{second.url}/api/v1/tenants/me", headers={"Authorization": f"Bearer {key}"})
    assert again.json()["data"]["id"] == me.json()["data"]["id"]
    assert second.stop(signal.SIGINT) == 0


def test_a_second_server_on_the_same_data_dir_is_refused(
    tmp_path: Path, servers: list[Server]
) -> None:
    data = tmp_path / "data"
    servers.append(start(data))
    other = start(data, wait=False)
    servers.append(other)
    assert other.process.wait(timeout=60) == 1
    assert "already using" in other.output()


@pytest.mark.realdb
def test_serve_refuses_an_unmigrated_or_newer_schema(
    tmp_path: Path, cluster: Cluster, fresh_db: Urls, servers: list[Server]
) -> None:
    env = external_env(fresh_db, cluster)
    with psycopg.connect(fresh_db.owner, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'from_the_future'")
    newer = start(tmp_path / "a", env, wait=False)
    servers.append(newer)
    assert newer.process.wait(timeout=60) == 1
    assert "upgrade loopctl" in newer.output()

    with psycopg.connect(fresh_db.owner, autocommit=True) as conn:
        conn.execute("DELETE FROM alembic_version")
    empty = start(tmp_path / "b", env, wait=False)
    servers.append(empty)
    assert empty.process.wait(timeout=60) == 1
    assert "loopctl db migrate" in empty.output()


@pytest.mark.realdb
def test_revocation_reaches_every_server_process(
    tmp_path: Path, cluster: Cluster, fresh_db: Urls, servers: list[Server]
) -> None:
    env = external_env(fresh_db, cluster)
    a = start(tmp_path / "a", env)
    servers.append(a)
    key = KEY.findall(a.output())[0]  # first start on an empty database: tenant "local"
    b = start(tmp_path / "b", env)
    servers.append(b)
    admin = {"Authorization": f"Bearer {key}"}
    made = httpx.post(f"{a.url}/api/v1/api_keys", json={"name": "n", "role": "user"}, headers=admin)
    assert made.status_code == 201
    new = {"Authorization": f"Bearer {made.json()['data']['raw_key']}"}
    assert httpx.get(f"{b.url}/api/v1/tenants/me", headers=new).status_code == 200
    key_id = made.json()["data"]["id"]
    assert httpx.delete(f"{a.url}/api/v1/api_keys/{key_id}", headers=admin).status_code == 200
    after = httpx.get(f"{b.url}/api/v1/tenants/me", headers=new)
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "invalid_api_key"

    rotated = httpx.post(
        f"{a.url}/api/v1/api_keys/{admin_key_id(a, admin)}/rotate",
        json={"grace_period_hours": 0},
        headers=admin,
    )
    assert rotated.status_code == 201
    assert httpx.get(f"{b.url}/api/v1/tenants/me", headers=admin).status_code == 401
    fresh = {"Authorization": f"Bearer {rotated.json()['data']['new_key']['raw_key']}"}
    assert httpx.get(f"{b.url}/api/v1/tenants/me", headers=fresh).status_code == 200


def admin_key_id(server: Server, headers: dict[str, str]) -> str:
    keys = httpx.get(f"{server.url}/api/v1/api_keys", headers=headers).json()["data"]
    return str(next(k["id"] for k in keys if k["name"] == "first user key"))


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOOPCTL, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_external_database_init_migrate_and_operator_commands(
    tmp_path: Path, cluster: Cluster, servers: list[Server]
) -> None:
    name = f"ext_{cluster.suffix}_{free_port()}"
    env_file = tmp_path / "loopctl.env"
    base = {"PATH": "/usr/bin:/bin", "LOOPCTL_DATA_DIR": str(tmp_path / "data")}
    roles = {
        "LOOPCTL_APP_ROLE": cluster.roles.app,
        "LOOPCTL_ADMIN_ROLE": cluster.roles.admin,
        "LOOPCTL_OWNER_ROLE": cluster.roles.owner,
    }
    try:
        init = _run(
            [
                "db",
                "init",
                "--superuser-url",
                cluster.superuser,
                "--database",
                name,
                "--env-file",
                str(env_file),
                "--reset-passwords",
            ],
            {**base, **roles},
        )
        assert init.returncode == 0, init.stderr
        assert _mode(env_file) == 0o600
        settings = dict(
            line.split("=", 1)
            for line in env_file.read_text().splitlines()
            if line and not line.startswith("#")
        )
        env = {**base, **roles, **settings}
        assert _run(["db", "status"], env).returncode == 1  # nothing migrated yet
        assert _run(["db", "migrate"], env).returncode == 0
        status = _run(["db", "status"], env)
        assert status.returncode == 0
        assert "current" in status.stdout

        server = start(tmp_path / "serve", env)
        servers.append(server)
        superadmin = _run(["admin", "create-superadmin-key", "--name", "ops"], env)
        assert superadmin.returncode == 0, superadmin.stderr
        headers = {"Authorization": f"Bearer {superadmin.stdout.strip()}"}
        me = httpx.get(f"{server.url}/api/v1/tenants/me", headers=headers)
        assert me.status_code == 400
        assert me.json()["error"]["code"] == "tenant_context_required"

        local = {"Authorization": f"Bearer {KEY.findall(server.output())[0]}"}
        assert _run(["admin", "suspend-tenant", "local"], env).returncode == 0
        suspended = httpx.get(f"{server.url}/api/v1/tenants/me", headers=local)
        assert suspended.json()["error"]["code"] == "tenant_suspended"
        assert _run(["admin", "activate-tenant", "local"], env).returncode == 0
        assert httpx.get(f"{server.url}/api/v1/tenants/me", headers=local).status_code == 200
        assert _run(["admin", "suspend-tenant", "nobody"], env).returncode == 1
    finally:
        for server in servers:
            server.stop()
        cluster.drop(name)
