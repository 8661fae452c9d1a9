"""The heavy-request cap and the statement timeout on a real server, with real concurrent
requests: a table lock holds the first heavy request inside PostgreSQL (seen waiting in
pg_stat_activity) while the others arrive, and outlasts the statement timeout."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.fixtures.database import Cluster, Urls
from tests.fixtures.http import error_of
from tests.fixtures.server import Server, external_env, start

pytestmark = [pytest.mark.slow, pytest.mark.realdb, pytest.mark.xdist_group("serve")]
TIMEOUT_MS = 5000  # long enough for the steps below even on a busy machine


def register(server: Server, slug: str) -> tuple[dict[str, str], str]:
    """A new tenant's user key headers and a project of its own."""
    made = httpx.post(
        f"{server.url}/api/v1/tenants/register", json={"name": slug, "slug": slug}, timeout=30
    )
    assert made.status_code == 201, made.text
    headers = {"Authorization": f"Bearer {made.json()['data']['api_key']['raw_key']}"}
    project = httpx.post(
        f"{server.url}/api/v1/projects", json={"name": slug, "slug": slug}, headers=headers
    )
    assert project.status_code == 201, project.text
    return headers, project.json()["data"]["id"]


def lock_waiters(watch: psycopg.Connection, role: str, count: int) -> None:
    """Wait until ``count`` statements of the app role wait for a lock."""
    deadline = time.monotonic() + TIMEOUT_MS / 2000
    while time.monotonic() < deadline:
        row = watch.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND usename = %s AND wait_event_type = 'Lock'",
            [role],
        ).fetchone()
        if row and row[0] >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"fewer than {count} requests waiting for the lock")


def test_the_cap_refuses_one_tenant_only_and_a_timeout_is_a_clean_503(
    tmp_path: Path, cluster: Cluster, fresh_db: Urls, servers: list[Server]
) -> None:
    env = external_env(fresh_db, cluster) | {
        "LOOPCTL_HEAVY_REQUESTS_PER_TENANT": "1",
        "LOOPCTL_STATEMENT_TIMEOUT_MS": str(TIMEOUT_MS),
    }
    server = start(tmp_path / "data", env)
    servers.append(server)
    a, a_project = register(server, "heavy-a")
    b, b_project = register(server, "heavy-b")

    def critical_path(headers: dict[str, str], project: str) -> httpx.Response:
        url = f"{server.url}/api/v1/projects/{project}/critical_path"
        return httpx.get(url, headers=headers, timeout=60)

    assert critical_path(a, a_project).status_code == 200
    with (
        ThreadPoolExecutor(2) as pool,
        psycopg.connect(fresh_db.superuser) as locker,
        psycopg.connect(fresh_db.superuser, autocommit=True) as watch,
    ):
        locker.execute("LOCK TABLE story_dependencies IN ACCESS EXCLUSIVE MODE")
        first = pool.submit(critical_path, a, a_project)
        lock_waiters(watch, cluster.roles.app, 1)
        refused = critical_path(a, a_project)  # the same tenant, its one slot taken
        error_of(refused, 429, "too_many_heavy_requests")
        assert refused.headers["retry-after"] == "1"
        second = pool.submit(critical_path, b, b_project)  # another tenant is admitted
        lock_waiters(watch, cluster.roles.app, 2)
        me = httpx.get(f"{server.url}/api/v1/tenants/me", headers=b)
        assert me.status_code == 200
        # The lock outlasts the statement timeout: both are cancelled, cleanly.
        for response in (first.result(), second.result()):
            error_of(response, 503, "query_timeout")
        locker.rollback()
    assert critical_path(a, a_project).status_code == 200  # the slot was given back
    assert "Traceback" not in server.output()
