"""docs/audit-and-changes.md, "Keeping the log small": its archive script, run with psql as
the owner role exactly as written, archives the old entries and nothing else, and the
change feed goes on without skipping anything newer."""

import csv
import io
import re
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from loopctl.database.backup import server_major, tool
from loopctl.database.urls import without_password
from tests.fixtures.database import Urls

pytestmark = [pytest.mark.realdb]

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-and-changes.md"
SECTION = "## Keeping the log small"
ROWS = """
    INSERT INTO audit_log (tenant_id, id, entity_type, entity_id, action, actor_role,
                           actor_label, after, created_at)
    SELECT %(tenant)s, gen_random_uuid(), 'story', gen_random_uuid(), 'created', 'user',
           'tests', jsonb_build_object('n', g), %(at)s::timestamptz
      FROM generate_series(1, %(count)s) AS g
"""
FEED = """
    SELECT txid::text, id::text FROM audit_log WHERE (txid, id) > (%s::xid8, %s::uuid)
     ORDER BY audit_log.txid, audit_log.id
"""


def _script() -> str:
    section = DOC.read_text().split(SECTION, 1)[1]
    found = re.search(r"```sql\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the section shows no sql block"
    return found[1]


def _tenants(superuser: str) -> list[str]:
    """Two tenants, made in SQL so that they write no audit entries of their own."""
    with psycopg.connect(superuser) as conn:
        return [
            str(row[0])
            for row in conn.execute(
                "INSERT INTO tenants (id, name, slug) SELECT gen_random_uuid(), 'T', 't-' || g"
                " FROM generate_series(1, 2) AS g RETURNING id"
            ).fetchall()
        ]


def _write(app: str, tenant: str, at: str, count: int) -> None:
    """Entries of ``tenant`` in one committed transaction, as the application writes them."""
    with psycopg.connect(app) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [tenant])
        conn.execute(ROWS, {"tenant": tenant, "at": at, "count": count})


def _feed(app: str, tenant: str, cursor: tuple[str, str]) -> list[tuple[str, str]]:
    with psycopg.connect(app) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [tenant])
        return [(r[0], r[1]) for r in conn.execute(FEED, cursor).fetchall()]


def _archive(owner: str, script: Path, keep_from: str) -> list[dict[str, Any]]:
    conninfo, password = without_password(owner)
    psql = tool("psql", server_major(owner))
    done = subprocess.run(
        [psql, conninfo, "--quiet", "--no-psqlrc", "--single-transaction", "-v",
         "ON_ERROR_STOP=1", "-v", f"keep_from={keep_from}", "-f", str(script)],
        env={"PGPASSWORD": password or ""},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


def _own_count(owner: str) -> int:
    with psycopg.connect(owner) as conn:
        found = conn.execute("SELECT count(*) FROM audit_log").fetchone()
    assert found is not None
    return int(found[0])


def test_the_documented_archive_script_archives_old_entries_and_the_feed_goes_on(
    fresh_db: Urls, tmp_path: Path
) -> None:
    mine, theirs = _tenants(fresh_db.superuser)
    for tenant in (mine, theirs):
        _write(fresh_db.app, tenant, "2025-06-01T00:00:00Z", 3)
    old = _feed(fresh_db.app, mine, ("0", "00000000-0000-0000-0000-000000000000"))
    _write(fresh_db.app, theirs, "2026-02-01T00:00:00Z", 2)
    _write(fresh_db.app, mine, "2026-02-01T00:00:00Z", 2)
    everything = _feed(fresh_db.app, mine, ("0", "00000000-0000-0000-0000-000000000000"))
    kept_before = _own_count(fresh_db.owner)
    script = tmp_path / "archive-audit.sql"
    script.write_text(_script())

    archived = _archive(fresh_db.owner, script, "2026-01-01T00:00:00Z")

    # Every tenant's old entries, all columns, and only those.
    assert {r["id"] for r in archived if r["tenant_id"] == mine} == {i for _, i in old}
    assert sum(r["tenant_id"] == theirs for r in archived) == 3
    assert len(archived) == 6
    assert {"txid", "before", "after", "created_at"} <= set(archived[0])
    assert all(r["created_at"] < "2026" for r in archived)
    # A cursor inside the archived range reads on from the oldest entry left; one past
    # the cut sees nothing change.
    assert _feed(fresh_db.app, mine, old[0]) == everything[len(old) :]
    assert _feed(fresh_db.app, mine, old[-1]) == everything[len(old) :]
    # Row-level security is forced and the trigger on again: the owner sees nothing and
    # cannot delete, even after the script.
    assert kept_before == _own_count(fresh_db.owner) == 0
    with psycopg.connect(fresh_db.superuser) as conn, pytest.raises(psycopg.Error):
        conn.execute("DELETE FROM audit_log")
