"""`loopctl db backup` and `db restore` as operators run them: real servers, real files."""

import io
import os
import signal
import stat
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from loopctl.database.embedded import EmbeddedPostgres
from loopctl.kit.migration import Roles
from tests.fixtures.app import SECRET
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.server import LOOPCTL, Server, external_env, start
from tests.test_serve import KEY

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve")]
API = "/api/v1"
DEFAULT_ROLES = Roles(owner="loopctl_owner", app="loopctl_app", admin="loopctl_admin")
# Written by the server's usage flush after the backup was taken, not part of the record.
USAGE_COLUMNS = {"last_used_at", "last_seen_at", "updated_at"}
PLAN = {
    "format": "loopctl.project.v1",
    "epics": [
        {
            "number": 1,
            "title": "Foundation",
            "stories": [
                {"number": "1.1", "title": "Schema", "depends_on": []},
                {"number": "1.2", "title": "API", "depends_on": ["1.1"]},
            ],
        },
        {
            "number": 2,
            "title": "Clients",
            "depends_on": [1],
            "stories": [{"number": "2.1", "title": "CLI", "depends_on": ["1.2"]}],
        },
    ],
}


def loopctl(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOOPCTL_")}
    return subprocess.run(
        [LOOPCTL, *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def populate(server: Server, user_key: str) -> dict[str, Any]:
    """Two tenants; keys of each role kind; a project with epics, stories, dependencies."""
    base, user = server.url + API, _headers(user_key)
    project = _ok(
        httpx.post(f"{base}/projects", json={"name": "Backed up", "slug": "kept"}, headers=user),
        201,
    )
    imported = httpx.post(f"{base}/projects/{project['id']}/import", json=PLAN, headers=user)
    assert imported.status_code in (200, 201), imported.text
    agent = _ok(
        httpx.post(
            f"{base}/api_keys",
            json={"name": "worker key", "role": "agent", "agent_name": "worker"},
            headers=user,
        ),
        201,
    )
    other = _ok(
        httpx.post(f"{base}/tenants/register", json={"name": "Other", "slug": "other-tenant"}),
        201,
    )
    other_key = other["api_key"]["raw_key"]
    other_project = _ok(
        httpx.post(
            f"{base}/projects",
            json={"name": "Theirs", "slug": "theirs"},
            headers=_headers(other_key),
        ),
        201,
    )
    return {
        "keys": [user_key, agent["raw_key"], other_key],
        "projects": [(project["id"], user_key), (other_project["id"], other_key)],
    }


def exports(server: Server, world: dict[str, Any]) -> list[Any]:
    return [
        _ok(httpx.get(f"{server.url}{API}/projects/{pid}/export", headers=_headers(key)))
        for pid, key in world["projects"]
    ]


def identities(server: Server, world: dict[str, Any]) -> list[Any]:
    return [
        _ok(httpx.get(f"{server.url}{API}/tenants/me", headers=_headers(key)))["id"]
        for key in world["keys"]
    ]


def rows_of(admin_url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (the admin role bypasses RLS), usage timestamps aside."""
    found: dict[str, list[dict[str, Any]]] = {}
    with psycopg.connect(admin_url, row_factory=dict_row) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('rate_limit_counters', 'alembic_version') ORDER BY 1"
        ).fetchall()
        for table in tables:
            name = sql.Identifier(table["tablename"])
            rows = conn.execute(sql.SQL("SELECT * FROM {} ORDER BY 1, 2").format(name)).fetchall()
            found[table["tablename"]] = [
                {k: v for k, v in row.items() if k not in USAGE_COLUMNS} for row in rows
            ]
    return found


def embedded_rows(data_dir: Path) -> dict[str, list[dict[str, Any]]]:
    database = EmbeddedPostgres(data_dir, DEFAULT_ROLES)
    try:
        return rows_of(database.start().admin)
    finally:
        database.stop()


def _damage(source: Path, target: Path) -> None:
    """A copy of a backup whose database dump is cut short."""
    with tarfile.open(source) as tar, tarfile.open(target, "w") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member)
            assert data is not None
            content = data.read()
            if member.name == "database.dump":
                content = content[: len(content) // 2]
            member.size = len(content)
            out.addfile(member, io.BytesIO(content))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_backup_of_a_running_server_restores_with_its_keys(
    tmp_path: Path, servers: list[Server]
) -> None:
    source = start(tmp_path / "source")
    servers.append(source)
    world = populate(source, KEY.findall(source.output())[0])
    before_exports, before_ids = exports(source, world), identities(source, world)
    saved = tmp_path / "saved.backup"

    made = loopctl(["db", "backup", "--data-dir", str(source.data_dir), "--output", str(saved)])
    assert made.returncode == 0, made.stderr
    assert _mode(saved) == 0o600
    with tarfile.open(saved) as tar:
        members = sorted(tar.getnames())
    assert members == [
        "database.dump",
        "local-user-key",
        "manifest.json",
        "secret_key",
    ]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert source.stop() == 0

    target = tmp_path / "restored"
    restored = loopctl(["db", "restore", str(saved), "--data-dir", str(target)])
    assert restored.returncode == 0, restored.stderr
    assert embedded_rows(target) == embedded_rows(source.data_dir)
    assert (target / "local-user-key").read_text() == (
        source.data_dir / "local-user-key"
    ).read_text()

    again = start(target)
    servers.append(again)
    assert KEY.findall(again.output()) == [], "the restored tenants must not get a new local key"
    assert exports(again, world) == before_exports
    assert identities(again, world) == before_ids
    # The restored database takes writes, as the agent key's role allows.
    agent = _headers(world["keys"][1])
    assert httpx.get(f"{again.url}{API}/stories/ready", headers=agent).status_code != 401

    busy = loopctl(["db", "restore", str(saved), "--data-dir", str(target), "--yes"])
    assert busy.returncode == 1
    assert "already using" in busy.stderr

    # Restoring over a database that holds data needs --yes; without it nothing changes.
    assert again.stop() == 0
    refused = loopctl(["db", "restore", str(saved), "--data-dir", str(target)])
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    replaced = loopctl(["db", "restore", str(saved), "--data-dir", str(target), "--yes"])
    assert replaced.returncode == 0, replaced.stderr
    assert embedded_rows(target) == embedded_rows(source.data_dir)


@pytest.mark.realdb
def test_external_backup_restores_into_embedded_and_external(
    tmp_path: Path, cluster: Cluster, fresh_db: Urls, servers: list[Server]
) -> None:
    env = external_env(fresh_db, cluster)
    source = start(tmp_path / "source", env)
    servers.append(source)
    world = populate(source, KEY.findall(source.output())[0])
    before = exports(source, world)
    saved = tmp_path / "external.backup"
    made = loopctl(["db", "backup", "--output", str(saved)], env)
    assert made.returncode == 0, made.stderr
    assert source.stop() == 0

    # Into the embedded database of a new data dir: other role names, same rows, same keys.
    embedded = tmp_path / "embedded"
    assert loopctl(["db", "restore", str(saved), "--data-dir", str(embedded)]).returncode == 0
    there = start(embedded)
    servers.append(there)
    assert exports(there, world) == before
    assert there.stop() == 0

    # Into another external database, which the restore empties and fills.
    other = cluster.clone(f"{fresh_db.database}_r")
    try:
        other_env = {**external_env(other, cluster), "LOOPCTL_SECRET_KEY": "another-" + SECRET}
        args = ["db", "restore", str(saved), "--superuser-url", cluster.superuser]
        refused = loopctl(args, other_env)
        assert refused.returncode == 2
        assert "--env-file" in refused.stderr
        secret_file = tmp_path / "secret.env"
        restored = loopctl([*args, "--env-file", str(secret_file)], other_env)
        assert restored.returncode == 0, restored.stderr
        assert SECRET not in restored.stdout + restored.stderr
        assert secret_file.read_text() == f"LOOPCTL_SECRET_KEY={SECRET}\n"
        assert _mode(secret_file) == 0o600
        assert rows_of(other.admin) == rows_of(fresh_db.admin)
        other_env["LOOPCTL_SECRET_KEY"] = SECRET
        # A damaged backup fails in the staging database: the target keeps its rows.
        damaged = tmp_path / "damaged.backup"
        _damage(saved, damaged)
        damaged_args = ["db", "restore", str(damaged), "--superuser-url", cluster.superuser]
        failed = loopctl([*damaged_args, "--yes"], other_env)
        assert failed.returncode == 1
        assert "pg_restore failed" in failed.stderr
        assert rows_of(other.admin) == rows_of(fresh_db.admin)
        with psycopg.connect(cluster.superuser) as conn:
            staging = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE '%restoring'"
            ).fetchall()
        assert staging == []
        served = start(tmp_path / "other", other_env)
        servers.append(served)
        assert exports(served, world) == before
        served.stop(signal.SIGTERM)
    finally:
        cluster.drop(other.database)
