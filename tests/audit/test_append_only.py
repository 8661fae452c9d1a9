"""The audit log is append-only: by privilege for the app and admin roles, by trigger for all."""

from uuid import uuid4

import httpx
import psycopg
import pytest

from loopctl.database.connections import Connection
from tests.fixtures.database import Urls
from tests.fixtures.factories import Key, Tenant

CHANGES = (
    "UPDATE audit_log SET action = 'forged'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
)


async def _audit_rows(conn: Connection, tenant: Tenant) -> list[tuple[object, ...]]:
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    cur = await conn.execute(
        "SELECT entity_type, action, actor_role, actor_label, actor_key_id FROM audit_log"
        " ORDER BY created_at, id"
    )
    return await cur.fetchall()


async def test_each_mutation_appends_a_row_with_its_actor(
    client: httpx.AsyncClient, conn: Connection, tenant: Tenant, user_key: Key
) -> None:
    before = await _audit_rows(conn, tenant)
    assert [(r[0], r[1]) for r in before] == [("tenant", "registered"), ("api_key", "created")]
    response = await client.patch(
        "/api/v1/tenants/me", json={"name": "Renamed"}, headers=user_key.headers
    )
    assert response.status_code == 200
    after = await _audit_rows(conn, tenant)
    assert after[len(before) :] == [
        ("tenant", "updated", "user", "user:first user key", user_key.id)
    ]


@pytest.mark.parametrize("statement", CHANGES)
async def test_app_role_cannot_change_the_log(
    conn: Connection, tenant: Tenant, statement: str
) -> None:
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        async with conn.transaction():  # a savepoint, so the test's transaction survives
            await conn.execute(statement)
    assert len(await _audit_rows(conn, tenant)) == 2


@pytest.mark.realdb
@pytest.mark.parametrize("statement", CHANGES)
@pytest.mark.parametrize("role", ["owner", "admin"])
def test_no_role_can_change_the_log(fresh_db: Urls, role: str, statement: str) -> None:
    tenant_id = uuid4()
    with psycopg.connect(fresh_db.owner) as owner:
        owner.execute("SELECT set_config('app.tenant_id', %s, false)", [str(tenant_id)])
        owner.execute(
            "INSERT INTO tenants (id, name, slug) VALUES (%s, 'T', 't-audit')", [tenant_id]
        )
        owner.execute(
            "INSERT INTO audit_log (tenant_id, id, entity_type, entity_id, action, actor_role,"
            " actor_label) VALUES (%s, gen_random_uuid(), 'tenant', %s, 'registered', 'system', 't')",
            [tenant_id, tenant_id],
        )
    url = fresh_db.owner if role == "owner" else fresh_db.admin
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", [str(tenant_id)])
        # The owner holds every privilege on its own table, so only the trigger stops it.
        expected = "append-only" if role == "owner" else "permission denied"
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=expected):
            conn.execute(statement)
