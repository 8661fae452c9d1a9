"""Who may import and export which project: keys, roles, tenants, ids, archived projects."""

from typing import Any

import httpx
import pytest

from loopctl.platform.runtime import Runtime
from tests.fixtures.access import Ids, Route, RouteAccess
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, data_of, error_of, invalid
from tests.fixtures.work import make_epic, make_project
from tests.import_export.documents import export_doc, import_doc, plan


class TestAccess(RouteAccess):
    ROUTES = (
        Route("POST", "/projects/{project}/import", "orchestrator", plan(), "project_not_found"),
        Route("GET", "/projects/{project}/export", "agent", missing="project_not_found"),
    )

    async def world(self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> Ids:  # noqa: ARG002
        return {"project": str((await make_project(runtime, tenant)).id)}


async def test_an_agent_cannot_import(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    error = error_of(
        await import_doc(client, agent_key, project.id, plan()), 403, "insufficient_role"
    )
    assert error["details"] == {"required_role": "orchestrator", "role": "agent"}
    assert (await export_doc(client, user_key, project.id))["epics"] == []


async def test_an_orchestrator_imports_and_an_agent_exports(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    agent_key: Key,
    orchestrator_key: Key,
) -> None:
    project = await make_project(runtime, tenant)
    report = data_of(await import_doc(client, orchestrator_key, project.id, plan()))
    assert report["stories"]["created"] == 4
    exported = await export_doc(client, agent_key, project.id)
    assert [s["number"] for e in exported["epics"] for s in e["stories"]] == [
        "1.1",
        "1.2",
        "2.1",
        "2.2",
    ]


async def test_an_unknown_project_is_not_found(client: httpx.AsyncClient, user_key: Key) -> None:
    missing = "01a20e69-2623-751b-a85a-c01c41d08dd6"
    error_of(await import_doc(client, user_key, missing, plan()), 404, "project_not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"epics": [{"number": True, "title": "t"}]}, "body.epics[0].number"),
        ({"epics": [{"number": "2.0", "title": "t"}]}, "body.epics[0].number"),
        (
            {"epic_dependencies": [{"epic": 1, "depends_on": False}]},
            "body.epic_dependencies[0].depends_on",
        ),
        (
            {"story_dependencies": [{"story_number": "1.x", "depends_on": "1"}]},
            "body.story_dependencies[0].story_number",
        ),
        (
            {"story_dependencies": [{"story": "1", "story_number": "1", "depends_on": "2"}]},
            "body.story_dependencies[0].story_number",
        ),
        ({"export_metadata": {"exported_at": "yesterday"}}, "body.export_metadata.exported_at"),
        (
            {
                "epics": [
                    {
                        "number": 1,
                        "title": "t",
                        "stories": [
                            {"number": "1.1", "title": "s", "initial_agent_status": "done"}
                        ],
                    }
                ]
            },
            "body.epics[0].stories[0].initial_agent_status",
        ),
        ({"format": "loopctl.project.v2", "epics": []}, "body.format"),
        ({"format": "loopctl.project.v1", "epics": {}}, "body.epics"),
        ({"format": "loopctl.project.v1", "epics": [], "extra": 1}, "body.extra"),
        ({"format": "loopctl.project.v1", "project": {"slug": "x"}}, "body.project.slug"),
        ({"format": "loopctl.project.v1", "project": {"name": None}}, "body.project.name"),
    ],
)
async def test_a_bad_body_is_rejected_naming_the_field(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    user_key: Key,
    body: dict[str, Any],
    field: str,
) -> None:
    project = await make_project(runtime, tenant)
    invalid(await import_doc(client, user_key, project.id, body), field)


async def test_unknown_query_parameters_are_rejected(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    response = await import_doc(client, user_key, project.id, plan(), merge_mode="true")
    error_of(response, 422, "validation_error")


async def test_an_archived_project_is_read_only_but_exportable(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    await make_epic(runtime, tenant, project, 1)
    data_of(await client.delete(f"{API}/projects/{project.id}", headers=user_key.headers))
    for params in ({}, {"merge": "true"}, {"dry_run": "true"}):
        response = await import_doc(client, user_key, project.id, plan(), **params)
        error_of(response, 409, "project_archived")
    assert [e["number"] for e in (await export_doc(client, user_key, project.id))["epics"]] == [1]
