"""SQL helpers that every migration uses, so each tenant table is protected the same way."""

from dataclasses import dataclass

from psycopg import sql

# The tenant a unit of work runs as; '' (no tenant) becomes NULL and matches no row.
# Wrapped in a scalar subquery so PostgreSQL evaluates it once per statement (an InitPlan)
# instead of once per scanned row: on a 10,000-story graph query that is most of the cost.
CURRENT_TENANT = "(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)"
# The per-row form that migrations 0001-0003 created; migration 0004 replaces it.
ROW_BY_ROW_TENANT = "nullif(current_setting('app.tenant_id', true), '')::uuid"


@dataclass(frozen=True)
class Roles:
    owner: str
    app: str
    admin: str


_roles: Roles | None = None


def configure(roles: Roles) -> None:
    global _roles
    _roles = roles


def roles() -> Roles:
    if _roles is None:
        raise RuntimeError("migration roles not configured; run migrations through loopctl")
    return _roles


def ident(name: str) -> str:
    return sql.Identifier(name).as_string(None)


def enable_tenant_rls(table: str, column: str = "tenant_id") -> str:
    """ENABLE and FORCE row-level security with the one tenant policy.

    FORCE makes the policy apply to the table owner too; only BYPASSRLS roles skip it.
    """
    t = ident(table)
    return (
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;\n"
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY;\n"
        f"CREATE POLICY tenant_isolation ON {t} "
        f"USING ({ident(column)} = {CURRENT_TENANT}) "
        f"WITH CHECK ({ident(column)} = {CURRENT_TENANT});"
    )


def set_tenant_policy(table: str, tenant: str, column: str = "tenant_id") -> str:
    """Rewrite an existing tenant policy's expression (``tenant`` is CURRENT_TENANT or the
    older ROW_BY_ROW_TENANT), keeping its name, command and roles."""
    return (
        f"ALTER POLICY tenant_isolation ON {ident(table)} "
        f"USING ({ident(column)} = {tenant}) WITH CHECK ({ident(column)} = {tenant});"
    )


def grant_app(table: str, privileges: str) -> str:
    """Grant the app role exactly ``privileges`` (e.g. "SELECT, INSERT, UPDATE (name)")."""
    return f"GRANT {privileges} ON {ident(table)} TO {ident(roles().app)};"


def grant_admin(table: str, privileges: str) -> str:
    return f"GRANT {privileges} ON {ident(table)} TO {ident(roles().admin)};"


def append_only(table: str) -> str:
    """Reject UPDATE, DELETE and TRUNCATE for every role, owner included."""
    t = ident(table)
    return (
        f"CREATE TRIGGER {ident(table + '_no_update_delete')} BEFORE UPDATE OR DELETE ON {t} "
        "FOR EACH ROW EXECUTE FUNCTION loopctl_reject_change();\n"
        f"CREATE TRIGGER {ident(table + '_no_truncate')} BEFORE TRUNCATE ON {t} "
        "FOR EACH STATEMENT EXECUTE FUNCTION loopctl_reject_change();"
    )
