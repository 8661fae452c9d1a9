"""Tenant isolation as PostgreSQL enforces it: the catalog, and the app role in practice."""

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import psycopg
import pytest
from psycopg import sql

from loopctl.database.connections import create_pool
from loopctl.platform.app import create_app
from loopctl.platform.runtime import Runtime
from tests.fixtures.app import SECRET, make_settings
from tests.fixtures.database import Cluster, Urls, last_analyze
from tests.fixtures.factories import make_key, make_tenant

# The scalar subquery makes PostgreSQL evaluate the tenant once per statement (migration 0004).
POLICY = (
    "(tenant_id = ( SELECT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid"
    ' AS "nullif"))'
)
TENANTS_POLICY = POLICY.replace("(tenant_id", "(id", 1)
# Tables without tenant_id, each for a stated reason; anything else must be a tenant table.
GLOBAL_TABLES = {
    "alembic_version": "migration bookkeeping",
    "tenants": "the tenant registry itself; row-level security on id",
    "superadmin_keys": "platform keys; the app role has no privileges on it",
    "platform_audit_log": "operator actions; the app role has no privileges on it",
    "rate_limit_counters": "opaque per-bucket counters shared by server processes",
}


def tenant_tables(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    rows = conn.execute(
        """
        SELECT c.relname FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1
        """
    ).fetchall()
    return [str(r[0]) for r in rows]


@pytest.fixture
def catalog(session_db: Urls) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(session_db.owner, autocommit=True) as conn:
        yield conn


def test_every_table_is_a_tenant_table_or_a_listed_global_one(
    catalog: psycopg.Connection[tuple[object, ...]],
) -> None:
    all_tables = {
        str(r[0])
        for r in catalog.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    }
    unexplained = all_tables - set(tenant_tables(catalog)) - set(GLOBAL_TABLES)
    assert not unexplained, f"tables with neither tenant_id nor a reason: {unexplained}"
    assert {"agents", "api_keys", "audit_log"} <= set(tenant_tables(catalog))


def test_tenant_tables_force_rls_with_the_one_tenant_policy(
    catalog: psycopg.Connection[tuple[object, ...]], cluster: Cluster
) -> None:
    for table in [*tenant_tables(catalog), "tenants"]:
        enabled, forced = catalog.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = %s",
            [table],
        ).fetchone() or (False, False)
        assert enabled, f"{table}: row-level security is not enabled"
        assert forced, f"{table}: row-level security is not forced"
        policies = catalog.execute(
            "SELECT policyname, cmd, roles::text[], qual, with_check FROM pg_policies"
            " WHERE schemaname = 'public' AND tablename = %s",
            [table],
        ).fetchall()
        expected = TENANTS_POLICY if table == "tenants" else POLICY
        assert ("tenant_isolation", "ALL", ["public"], expected, expected) in policies, table
        for name, cmd, roles, _, _ in policies:
            if name != "tenant_isolation":
                # Only the owner may have an extra read-only policy (the key lookup).
                assert (cmd, roles) == ("SELECT", [cluster.roles.owner]), (table, name)


def test_tenant_id_is_part_of_every_key_unique_index_and_foreign_key(
    catalog: psycopg.Connection[tuple[object, ...]],
) -> None:
    for table in tenant_tables(catalog):
        constraints = catalog.execute(
            """
            SELECT con.conname, con.contype,
                   (SELECT attnum FROM pg_attribute WHERE attrelid = con.conrelid
                     AND attname = 'tenant_id') = ANY(con.conkey)
              FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
             WHERE c.relname = %s AND con.contype IN ('p', 'u', 'f')
            """,
            [table],
        ).fetchall()
        assert any(kind == "p" for _, kind, _ in constraints), f"{table} has no primary key"
        for name, kind, has_tenant in constraints:
            assert has_tenant, f"{table}.{name} ({kind}) lacks tenant_id"
        indexes = catalog.execute(
            """
            SELECT i.indexrelid::regclass::text,
                   (SELECT attnum FROM pg_attribute WHERE attrelid = i.indrelid
                     AND attname = 'tenant_id') = ANY(i.indkey::int2[])
              FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
             WHERE c.relname = %s AND i.indisunique
            """,
            [table],
        ).fetchall()
        for name, has_tenant in indexes:
            assert has_tenant, f"unique index {name} lacks tenant_id"


def test_app_role_cannot_bypass_rls(session_db: Urls, cluster: Cluster) -> None:
    with psycopg.connect(session_db.superuser) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
            " WHERE rolname = %s",
            [cluster.roles.app],
        ).fetchone()
        owns = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
            " WHERE r.rolname = %s",
            [cluster.roles.app],
        ).fetchone()
    assert row == (False, False, False, False)
    assert owns == (0,)


@pytest.fixture
async def two_tenants_committed(
    fresh_db: Urls, cluster: Cluster
) -> AsyncIterator[tuple[Urls, Runtime]]:
    """Two tenants with agents and keys, committed for real."""
    settings = make_settings(fresh_db, cluster)
    pool = create_pool(fresh_db.app, name="rls-test", min_size=1, max_size=2)
    await pool.open()
    runtime = Runtime.build(settings, pool, SECRET.encode())
    for _ in range(2):
        tenant = await make_tenant(runtime)
        await make_key(runtime, tenant, "agent")
    yield fresh_db, runtime
    await pool.close()


@pytest.mark.realdb
async def test_app_role_without_tenant_sees_no_row_of_any_tenant_table(
    two_tenants_committed: tuple[Urls, Runtime],
) -> None:
    urls, _ = two_tenants_committed
    async with await psycopg.AsyncConnection.connect(urls.app) as conn:
        tables = await (
            await conn.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
                " AND column_name = 'tenant_id' ORDER BY 1"
            )
        ).fetchall()
        assert len(tables) >= 3
        for (table,) in [*tables, ("tenants",)]:
            for setting in (None, ""):
                if setting is not None:
                    await conn.execute("SELECT set_config('app.tenant_id', %s, false)", [setting])
                count = await (
                    await conn.execute(
                        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
                    )
                ).fetchone()
                assert count == (0,), f"{table} leaks {count} rows with tenant={setting!r}"
    async with await psycopg.AsyncConnection.connect(urls.admin) as admin:
        total = await (await admin.execute("SELECT count(*) FROM agents")).fetchone()
        assert total == (2,)  # the rows exist: RLS, not emptiness, hid them


@pytest.mark.realdb
async def test_app_role_cannot_write_rows_for_another_tenant(
    two_tenants_committed: tuple[Urls, Runtime],
) -> None:
    urls, _ = two_tenants_committed
    async with await psycopg.AsyncConnection.connect(urls.admin) as admin:
        ids = [
            r[0]
            for r in await (await admin.execute("SELECT id FROM tenants ORDER BY id")).fetchall()
        ]
        agent = await (
            await admin.execute("SELECT id FROM agents WHERE tenant_id = %s", [ids[1]])
        ).fetchone()
    assert agent is not None
    mine, theirs = ids
    async with await psycopg.AsyncConnection.connect(urls.app, autocommit=True) as conn:
        await conn.execute("SELECT set_config('app.tenant_id', %s, false)", [str(mine)])
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            await conn.execute(
                "INSERT INTO agents (tenant_id, id, name, agent_type) VALUES (%s, gen_random_uuid(), 'x', 'implementer')",
                [theirs],
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            await conn.execute(
                "INSERT INTO audit_log (tenant_id, id, entity_type, entity_id, action, actor_role,"
                " actor_label) VALUES (%s, gen_random_uuid(), 'x', gen_random_uuid(), 'x', 'x', 'x')",
                [theirs],
            )
        # An UPDATE aimed at the other tenant's row finds nothing to change.
        result = await conn.execute("UPDATE agents SET model = 'stolen' WHERE id = %s", [agent[0]])
        assert result.rowcount == 0


@pytest.mark.realdb
async def test_pooled_connections_carry_no_tenant_between_requests(
    fresh_db: Urls, cluster: Cluster
) -> None:
    settings = make_settings(fresh_db, cluster)
    pool = create_pool(fresh_db.app, name="rls-reuse", min_size=1, max_size=1)
    await pool.open()
    try:
        runtime = Runtime.build(settings, pool, SECRET.encode())
        first, second = await make_tenant(runtime), await make_tenant(runtime)
        app = create_app(runtime=runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for tenant in (first, second, first):
                response = await client.get("/api/v1/tenants/me", headers=tenant.user.headers)
                assert response.json()["data"]["id"] == str(tenant.id)
        async with pool.connection() as conn:
            setting = await (
                await conn.execute("SELECT current_setting('app.tenant_id', true)")
            ).fetchone()
            assert setting == ("",)
            agents = await (await conn.execute("SELECT count(*) FROM tenants")).fetchone()
            assert agents == (0,)
    finally:
        await pool.close()


# --- what the app role can do beyond its tables (migration 0007, provisioning) -------------


def test_security_definer_functions_pin_search_path_with_pg_temp_last(
    catalog: psycopg.Connection[tuple[object, ...]],
) -> None:
    rows = catalog.execute(
        "SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    ).fetchall()
    names = {str(name) for name, _ in rows}
    assert {"loopctl_resolve_api_key", "loopctl_analyze_work_breakdown"} <= names
    for name, config in rows:
        assert isinstance(config, list), f"{name} does not pin its search_path"
        paths = [c for c in config if str(c).startswith("search_path=")]
        assert len(paths) == 1, f"{name} does not pin its search_path"
        schemas = [s.strip() for s in str(paths[0]).removeprefix("search_path=").split(",")]
        assert schemas[0] == "pg_catalog", (name, schemas)
        assert schemas[-1] == "pg_temp", (name, schemas)


@pytest.mark.parametrize(
    "statement",
    ["SELECT lo_create(0)", "SELECT lo_creat(-1)", "SELECT lo_from_bytea(0, 'x'::bytea)"],
)
def test_app_role_cannot_create_large_objects(session_db: Urls, statement: str) -> None:
    with psycopg.connect(session_db.app, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
        assert conn.execute("SHOW lo_compat_privileges").fetchone() == ("off",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SET lo_compat_privileges = on")


WORK_BREAKDOWN = ("stories", "story_dependencies", "epics", "epic_dependencies", "claim_order")


@pytest.mark.realdb
def test_app_role_cannot_analyze_tenant_tables_at_will(fresh_db: Urls) -> None:
    notices: list[str] = []
    with psycopg.connect(fresh_db.app, autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(str(d.message_primary)))
        conn.execute("ANALYZE stories")
        conn.execute("ANALYZE")
        assert 'permission denied to analyze "stories", skipping it' in notices
        # The owner's function analyzes only after the caller's own load, never on request.
        for table in WORK_BREAKDOWN:
            conn.execute("SELECT loopctl_analyze_work_breakdown(%s)", [table])
        with pytest.raises(psycopg.errors.RaiseException, match="not a work-breakdown table"):
            conn.execute("SELECT loopctl_analyze_work_breakdown('api_keys')")
    for table in (*WORK_BREAKDOWN, "agents"):
        assert last_analyze(fresh_db, table) is None, table


@pytest.mark.realdb
async def test_the_analyze_function_runs_after_a_load_in_the_same_transaction(
    two_tenants_committed: tuple[Urls, Runtime],
) -> None:
    urls, runtime = two_tenants_committed
    tenant = await make_tenant(runtime)
    async with await psycopg.AsyncConnection.connect(urls.app) as conn:
        await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
        await conn.execute(
            "INSERT INTO projects (tenant_id, id, name, slug) "
            "VALUES (%s, gen_random_uuid(), 'p', 'pp')",
            [tenant.id],
        )
        async with conn.transaction():  # a savepoint, as in the rolled-back test harness
            await conn.execute(
                "INSERT INTO epics (tenant_id, id, project_id, number, title) "
                "SELECT %s, gen_random_uuid(), id, 1, 'e' FROM projects",
                [tenant.id],
            )
            await conn.execute("SELECT loopctl_analyze_work_breakdown('epics')")
        await conn.commit()
    assert last_analyze(urls, "epics") is not None


@pytest.mark.realdb
async def test_pg_stats_shows_the_app_role_no_values_of_tenant_tables(
    two_tenants_committed: tuple[Urls, Runtime],
) -> None:
    urls, runtime = two_tenants_committed
    tenant = await make_tenant(runtime)
    async with await psycopg.AsyncConnection.connect(urls.app, autocommit=True) as writer:
        await writer.execute("SELECT set_config('app.tenant_id', %s, false)", [str(tenant.id)])
        for i in range(30):
            await writer.execute(
                "INSERT INTO agents (tenant_id, id, name, agent_type, model) "
                "VALUES (%s, gen_random_uuid(), %s, 'implementer', 'secret-model')",
                [tenant.id, f"a{i}"],
            )
    with psycopg.connect(urls.owner, autocommit=True) as owner:
        owner.execute("ANALYZE agents")  # the statistics now hold the other tenant's values
    stats = "SELECT most_common_vals::text FROM pg_stats WHERE tablename = 'agents'"
    async with await psycopg.AsyncConnection.connect(urls.admin) as admin:
        seen = [r[0] for r in await (await admin.execute(stats)).fetchall()]
        assert any(v and "secret-model" in v for v in seen)  # BYPASSRLS sees them
    async with await psycopg.AsyncConnection.connect(urls.app, autocommit=True) as app:
        await app.execute("SELECT set_config('app.tenant_id', %s, false)", [str(tenant.id)])
        # pg_stats, pg_stats_ext and pg_stats_ext_exprs hide every table with row-level
        # security from roles without BYPASSRLS, even the caller's own tenant's.
        for view in ("pg_stats", "pg_stats_ext", "pg_stats_ext_exprs"):
            query = sql.SQL("SELECT count(*) FROM {} WHERE schemaname = 'public'")
            count = await (await app.execute(query.format(sql.Identifier(view)))).fetchone()
            assert count == (0,), view
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await app.execute("SELECT stavalues1 FROM pg_statistic")


@pytest.mark.realdb
async def test_what_the_app_role_still_sees_are_table_wide_totals(
    two_tenants_committed: tuple[Urls, Runtime],
) -> None:
    # Documented in docs/architecture.md ("Statistics across tenants"): the planner's row
    # estimates come from table-wide figures, so any role that can plan a query sees them.
    urls, runtime = two_tenants_committed
    tenant = await make_tenant(runtime)
    async with await psycopg.AsyncConnection.connect(urls.app, autocommit=True) as writer:
        await writer.execute("SELECT set_config('app.tenant_id', %s, false)", [str(tenant.id)])
        await writer.execute(
            "INSERT INTO agents (tenant_id, id, name, agent_type) SELECT %s, gen_random_uuid(),"
            " 'a' || g, 'implementer' FROM generate_series(1, 500) g",
            [tenant.id],
        )
    with psycopg.connect(urls.owner, autocommit=True) as owner:
        owner.execute("ANALYZE agents")
    async with await psycopg.AsyncConnection.connect(urls.app, autocommit=True) as app:
        others = await make_tenant(runtime)
        await app.execute("SELECT set_config('app.tenant_id', %s, false)", [str(others.id)])
        assert await (await app.execute("SELECT count(*) FROM agents")).fetchone() == (0,)
        reltuples = await (
            await app.execute("SELECT reltuples FROM pg_class WHERE relname = 'agents'")
        ).fetchone()
        assert reltuples is not None
        assert reltuples[0] >= 500
        # And the plan of a query that finds nothing estimates other tenants' rows.
        plan = await (await app.execute("EXPLAIN SELECT * FROM agents")).fetchone()
        assert plan is not None
        estimate = re.search(r"rows=(\d+)", str(plan[0]))
        assert estimate is not None
        assert int(estimate[1]) >= 100
