"""Bad documents: every problem is reported, with its path, before anything is written."""

from typing import Any

import httpx
import pytest

from loopctl.database.connections import Connection, tenant_transaction
from loopctl.import_export import service
from loopctl.import_export.errors import ImportInvalid
from loopctl.import_export.schemas import Limits, ProjectDocument
from loopctl.platform.runtime import Runtime
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import client_for, data_of, error_of, invalid, rollback_runtime
from tests.fixtures.work import make_project
from tests.import_export.documents import document, epic, export_doc, import_doc, plan, story

BAD: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "duplicate epic",
        document(epic(1, story("1.1")), epic(1, story("1.2"))),
        "body.epics[1].number",
        "duplicate",
    ),
    (
        "duplicate story across epics",
        document(epic(1, story("1.1")), epic(2, story("2.1"), story("1.1"))),
        "body.epics[1].stories[1].number",
        "duplicate",
    ),
    (
        "unknown epic",
        document(epic(1), epic(2, depends_on=[3])),
        "body.epics[1].depends_on[0]",
        "unknown_reference",
    ),
    (
        "unknown story",
        document(epic(1, story("1.1"), story("1.2", "1.1", "4.4"))),
        "body.epics[0].stories[1].depends_on[1]",
        "unknown_reference",
    ),
    (
        "epic on itself",
        document(epic(1), epic(2, depends_on=[1, 2])),
        "body.epics[1].depends_on[1]",
        "self_dependency",
    ),
    (
        "story on itself",
        document(epic(1, story("1.1", "1.1"))),
        "body.epics[0].stories[0].depends_on[0]",
        "self_dependency",
    ),
    (
        "listed twice",
        document(epic(1, story("1.1"), story("1.2", "1.1", "1.1"))),
        "body.epics[0].stories[1].depends_on[1]",
        "duplicate",
    ),
    (
        "story cycle",
        document(epic(1, story("1.1", "1.3"), story("1.2", "1.1"), story("1.3", "1.2"))),
        "body.epics[0].stories[0].depends_on[0]",
        "cycle",
    ),
    (
        "epic cycle",
        document(epic(1, depends_on=[3]), epic(2, depends_on=[1]), epic(3, depends_on=[2])),
        "body.epics[0].depends_on[0]",
        "cycle",
    ),
    (
        "story edge against an epic edge",
        document(epic(1, story("1.1", "2.1")), epic(2, story("2.1"), depends_on=[1])),
        "body.epics[0].stories[0].depends_on[0]",
        "cycle",
    ),
    (
        "duplicate criterion ids",
        document(epic(1, story("1.1", acceptance_criteria=[{"id": "A", "criterion": "x"}] * 2))),
        "body.epics[0].stories[0].acceptance_criteria",
        "duplicate",
    ),
    # Rules of the request model itself (reused from the epics and stories schemas).
    ("story number", document(epic(1, story("1.01"))), "body.epics[0].stories[0].number", ""),
    ("epic number", document(epic(0)), "body.epics[0].number", ""),
    ("depends_on number", document(epic(1, story("1.1", "x"))), "", ""),
    (
        "unknown field",
        document(epic(1, story("1.1", owner="me"))),
        "body.epics[0].stories[0].owner",
        "extra_forbidden",
    ),
    (
        "blank title",
        document(epic(1, story("1.1", title=" "))),
        "body.epics[0].stories[0].title",
        "",
    ),
    (
        "NUL in metadata",
        document(epic(1, story("1.1", metadata={"k": "a\u0000b"}))),
        "body.epics[0].stories[0].metadata",
        "",
    ),
    ("huge position", document(epic(1, position=2**40)), "body.epics[0].position", ""),
    (
        "hours",
        document(epic(1, story("1.1", estimated_hours=1.234))),
        "body.epics[0].stories[0].estimated_hours",
        "",
    ),
]


@pytest.mark.parametrize(("doc", "field", "type_"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
async def test_a_bad_document_is_rejected_with_the_path_and_nothing_is_written(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    user_key: Key,
    doc: dict[str, Any],
    field: str,
    type_: str,
) -> None:
    project = await make_project(runtime, tenant)
    response = await import_doc(client, user_key, project.id, doc)
    field = field or "body.epics[0].stories[0].depends_on[0]"
    errors = invalid(response, field)
    if type_:
        assert next(e for e in errors if e["field"] == field)["type"] == type_
    assert (await export_doc(client, user_key, project.id))["epics"] == []


async def test_a_cycle_through_existing_edges_is_found_in_merge(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    data_of(await import_doc(client, user_key, project.id, plan()))
    # 1.1 waiting for 2.2 closes 1.1 <- 1.2 <- 2.1 <- 2.2 (and epic 2 waits for epic 1).
    doc = document(epic(1, story("1.1", "2.2")))
    response = await import_doc(client, user_key, project.id, doc, merge="true")
    [error] = invalid(response, "body.epics[0].stories[0].depends_on[0]")
    assert error["type"] == "cycle"
    assert error["message"].startswith("dependency cycle: ")
    exported = await export_doc(client, user_key, project.id)
    assert exported["epics"][0]["stories"][0]["depends_on"] == []


async def test_every_problem_is_reported_up_to_a_cap(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    doc = document(epic(1, *[story(f"1.{i}", "9.9") for i in range(1, 151)]))
    error = error_of(await import_doc(client, user_key, project.id, doc), 422, "validation_error")
    errors = error["details"]["errors"]
    assert len(errors) == 100
    assert error["details"]["truncated"] is True
    assert error["details"]["total_errors"] == 150
    assert errors[0]["field"] == "body.epics[0].stories[0].depends_on[0]"
    assert errors[99]["field"] == "body.epics[0].stories[99].depends_on[0]"


async def test_more_epics_than_the_limit_are_rejected(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    doc = document(*[epic(n) for n in range(1, 1002)])
    invalid(await import_doc(client, user_key, project.id, doc), "body.epics")
    data_of(await import_doc(client, user_key, project.id, document(*doc["epics"][:1000])))


@pytest.mark.parametrize(
    ("limits", "what"),
    [
        (Limits(epics=1), "2 epics"),
        (Limits(stories=3), "4 stories"),
        (Limits(story_dependencies=2), "3 story dependencies"),
    ],
)
async def test_the_service_enforces_its_limits(
    runtime: Runtime,
    tenant: Tenant,
    limits: Limits,
    what: str,
) -> None:
    project = await make_project(runtime, tenant)
    doc = ProjectDocument.model_validate(plan())
    with pytest.raises(ImportInvalid) as raised:
        async with tenant_transaction(runtime.connections, tenant.id) as tx:
            await service.import_document(tx, tenant.principal(), project.id, doc, limits=limits)
    assert raised.value.details is not None
    [error] = raised.value.details["errors"]
    assert error["field"] == "body.epics"
    assert what in error["message"]
    assert error["type"] == "too_many"


async def test_the_import_body_limit_is_its_own(
    session_db: Urls,
    cluster: Cluster,
    conn: Connection,
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
) -> None:
    """Imports take bigger bodies than other routes, up to LOOPCTL_MAX_IMPORT_BYTES."""
    project = await make_project(runtime, tenant)
    small = rollback_runtime(session_db, cluster, conn, max_import_bytes=4096)
    big = document(epic(1, *[story(f"1.{i}", description="d" * 100) for i in range(1, 60)]))
    async with client_for(small) as limited:
        error_of(await import_doc(limited, tenant.user, project.id, big), 413, "payload_too_large")
        data_of(await import_doc(limited, tenant.user, project.id, plan()))
    # 2 MiB: over the general body limit (1 MiB), within the import limit (10 MiB).
    other = await make_project(runtime, tenant)
    large = document(epic(1, *[story(f"1.{i}", description="d" * 45_000) for i in range(1, 48)]))
    report = data_of(await import_doc(client, tenant.user, other.id, large))
    assert report["stories"]["created"] == 47
