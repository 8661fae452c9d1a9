"""Migrations run up, down and up again, and agree with the row classes the code reads."""

import dataclasses
import types
import typing
from collections.abc import Iterator
from uuid import uuid4

import psycopg
import pytest

from loopctl.agents.repository import AgentRow
from loopctl.api_keys.rows import ApiKeyRow
from loopctl.audit.repository import AuditRow
from loopctl.database import schema
from loopctl.database.provision import provision
from loopctl.epics.rows import EpicRow
from loopctl.orchestrator.repository import StateRow
from loopctl.progress.repository import ProgressRow
from loopctl.projects.rows import ProjectRow
from loopctl.stories.repository import StoryRow
from loopctl.tenants.rows import TenantRow
from tests.fixtures.database import Cluster, Urls

PROGRESS = {
    "assigned_agent_id",
    "assigned_at",
    "lease_expires_at",
    "lease_token",
    "review_requested_at",
    "reported_done_at",
    "reported_by_agent_id",
    "verified_at",
    "rejected_at",
    "rejection_reason",
    "backfill",
}
STORY_ONLY = {
    "tenant_id",
    "description",
    "estimated_hours",
    "metadata",
    "created_at",
    "number_sort",
    "assignee_type",
}

# Row class -> (table, fields computed by the query rather than stored, columns never read).
ROWS: dict[type, tuple[str, set[str], set[str]]] = {
    TenantRow: ("tenants", set(), set()),
    AgentRow: ("agents", set(), set()),
    ApiKeyRow: ("api_keys", {"agent_name", "status"}, {"key_hash", "agent_type"}),
    # The stored event JSON is the change feed's (changes/repository.py), never an entry's.
    AuditRow: ("audit_log", set(), {"event"}),
    ProjectRow: ("projects", set(), set()),
    EpicRow: ("epics", set(), set()),
    # The progress columns are the progress domain's (ProgressRow below).
    # The story's own reads show its custody; the lease token and backfill record stay with
    # the progress domain's rows.
    StoryRow: (
        "stories",
        {"epic_number"},
        {"number_sort", "assignee_type", "lease_token", "backfill"},
    ),
    ProgressRow: ("stories", set(), STORY_ONLY),
    StateRow: ("orchestrator_states", set(), set()),
}


@pytest.fixture
def empty_db(cluster: Cluster) -> Iterator[Urls]:
    name = f"m_{cluster.suffix}_{uuid4().hex[:10]}"
    provision(cluster.superuser, name, cluster.roles, cluster.passwords, reset_passwords=False)
    yield cluster.urls(name)
    cluster.drop(name)


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        functions = conn.execute(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public'"
        ).fetchone()
    assert functions is not None
    return {str(r[0]) for r in rows} | ({"<functions>"} if functions[0] else set())


@pytest.mark.realdb
def test_upgrade_downgrade_upgrade(empty_db: Urls, cluster: Cluster) -> None:
    schema.upgrade(empty_db.owner, cluster.roles)
    full = _tables(empty_db.owner)
    assert {"tenants", "api_keys", "audit_log", "<functions>"} <= full
    schema.downgrade(empty_db.owner, cluster.roles, "base")
    assert _tables(empty_db.owner) == {"alembic_version"}
    schema.upgrade(empty_db.owner, cluster.roles)
    assert _tables(empty_db.owner) == full
    with psycopg.connect(empty_db.app) as conn:
        assert schema.status_of(schema.read_revision_sync(conn)).problem() is None


def _columns(conn: psycopg.Connection[tuple[object, ...]], table: str) -> dict[str, bool]:
    rows = conn.execute(
        "SELECT column_name, is_nullable = 'YES' FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = %s",
        [table],
    ).fetchall()
    return {str(name): bool(nullable) for name, nullable in rows}


def _optional(annotation: object) -> bool:
    origin = typing.get_origin(annotation)
    return origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(annotation)


def _field_names(row_class: typing.Any) -> set[str]:
    # Row classes are frozen dataclasses, or NamedTuples where one is built per request.
    if issubclass(row_class, tuple):
        return set(row_class._fields)
    return {f.name for f in dataclasses.fields(row_class)}


@pytest.mark.parametrize("row_class", list(ROWS), ids=lambda c: c.__name__)
def test_row_classes_match_their_tables(session_db: Urls, row_class: type) -> None:
    table, computed, unread = ROWS[row_class]
    hints = typing.get_type_hints(row_class)
    fields = _field_names(row_class)
    with psycopg.connect(session_db.owner) as conn:
        columns = _columns(conn, table)
    assert fields - computed == set(columns) - unread, f"{row_class.__name__} vs {table}"
    for name in fields - computed:
        assert _optional(hints[name]) == columns[name], (
            f"{table}.{name}: nullable={columns[name]} but {row_class.__name__} says {hints[name]}"
        )
