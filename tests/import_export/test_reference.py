"""The reference implementation's documents: its import payload and its export, read by
the same validation as loopctl's own documents."""

from typing import Any

import httpx

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, audit_rows, data_of, error_of, invalid
from tests.fixtures.work import make_project
from tests.import_export.documents import document, epic, export_doc, import_doc, story


def reference_payload() -> dict[str, Any]:
    """A plan as the reference's clients write it: no format, epic numbers as digit strings,
    story numbers as integers or strings, criteria as {id, description}, dependencies in
    top-level lists (both spellings of their fields), progress as initial_*."""
    return {
        "epics": [
            {
                "number": "1",
                "title": "Foundation",
                "phase": "mvp",
                "position": 0,
                "stories": [
                    {
                        "number": "1.1",
                        "title": "Schema",
                        "acceptance_criteria": [
                            {"id": "AC-1", "description": "Tables exist"},
                            {"id": 2, "description": "Migrations run"},
                        ],
                        "estimated_hours": 4,
                        "initial_agent_status": "reported_done",
                        "initial_verified_status": "verified",
                    },
                    {
                        "number": "1.2",
                        "title": "API skeleton",
                        "acceptance_criteria": None,
                        "initial_agent_status": "reported_done",
                    },
                ],
            },
            {
                "number": "2",
                "title": "Features",
                "stories": [
                    {"number": 2, "title": "Search", "metadata": None},
                    {"number": "2.1", "title": "Filters", "acceptance_criteria": []},
                ],
            },
        ],
        "story_dependencies": [
            {"story": "1.2", "depends_on": "1.1"},
            {"story_number": "2", "depends_on_story": "1.2"},
            {"story": "2.1", "depends_on": 2},
        ],
        "epic_dependencies": [{"epic_number": 2, "depends_on_epic": "1"}],
    }


def reference_export() -> dict[str, Any]:
    """What GET /projects/:id/export of the reference returns (unwrapped)."""

    def exported(number: str, title: str, agent: str, verified: str, **extra: Any) -> Any:
        return {
            "number": number,
            "title": title,
            "description": None,
            "acceptance_criteria": [{"id": "AC-1", "criterion": f"{title} works"}],
            "estimated_hours": 2.5,
            "agent_status": agent,
            "verified_status": verified,
            "assigned_agent_id": None,
            "assigned_at": None,
            "reported_done_at": None,
            "verified_at": None,
            "rejected_at": None,
            "rejection_reason": None,
            "metadata": {},
            **extra,
        }

    return {
        "export_metadata": {
            "exported_at": "2026-04-22T10:11:12.123456Z",
            "loopctl_version": "0.1.0",
            "project_id": "3f1c2a4e-9b7d-4c1e-8f00-0a1b2c3d4e5f",
            "tenant_id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
        },
        "project": {
            "name": "Shop (old server)",
            "slug": "shop",
            "description": "The shop",
            "repo_url": "https://github.com/acme/shop",
            "tech_stack": "elixir",
            "status": "active",
            "metadata": {},
        },
        "epics": [
            {
                "number": 1,
                "title": "Payments",
                "description": None,
                "phase": "mvp",
                "position": 0,
                "metadata": {},
                "stories": [
                    exported(
                        "1.1",
                        "Cards",
                        "reported_done",
                        "verified",
                        assigned_agent_id="0b5e3d1c-2a4f-4e6d-8c7b-9a0f1e2d3c4b",
                        assigned_at="2026-04-20T09:00:00.000000Z",
                        reported_done_at="2026-04-20T12:00:00.000000Z",
                        verified_at="2026-04-20T15:00:00.000000Z",
                    ),
                    exported(
                        "1.2",
                        "Refunds",
                        "implementing",
                        "rejected",
                        rejected_at="2026-04-21T08:00:00.000000Z",
                        rejection_reason="no tests",
                    ),
                ],
            },
            {
                "number": 2,
                "title": "Receipts",
                "description": "Mail them",
                "phase": None,
                "position": 1,
                "metadata": {},
                "stories": [exported("2.1", "Email", "pending", "unverified")],
            },
        ],
        "story_dependencies": [{"story": "1.2", "depends_on": "1.1"}],
        "epic_dependencies": [{"epic": 2, "depends_on": 1}],
    }


def statuses(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        s["number"]: (s["agent_status"], s["verified_status"])
        for e in doc["epics"]
        for s in e["stories"]
    }


async def test_the_reference_payload_imports_with_a_user_key_as_backfilled_work(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    report = data_of(await import_doc(client, user_key, project.id, reference_payload()))
    assert (report["epics"]["created"], report["stories"]["created"]) == (2, 4)
    assert report["dependencies"]["created"] == 4
    exported = await export_doc(client, user_key, project.id)
    [first, second] = exported["epics"]
    assert (first["number"], second["number"], second["depends_on"]) == (1, 2, [1])
    stories = {s["number"]: s for e in exported["epics"] for s in e["stories"]}
    assert stories["1.1"]["acceptance_criteria"] == [
        {"id": "AC-1", "criterion": "Tables exist"},
        {"id": "2", "criterion": "Migrations run"},
    ]
    assert stories["1.2"]["acceptance_criteria"] == []
    assert stories["2"]["metadata"] == {}
    assert {n: s["depends_on"] for n, s in stories.items()} == {
        "1.1": [],
        "1.2": ["1.1"],
        "2": ["1.2"],
        "2.1": ["2"],
    }
    assert statuses(exported) == {
        "1.1": ("reported_done", "verified"),
        "1.2": ("reported_done", "unverified"),
        "2": ("pending", "unverified"),
        "2.1": ("pending", "unverified"),
    }
    # The progress is recorded as a backfill of pre-existing work, by the user key.
    backfills = [r for r in await audit_rows(conn, tenant.id) if r.action == "backfilled"]
    assert sorted((r.after or {})["verified_status"] for r in backfills) == [
        "unverified",
        "verified",
    ]
    assert {(r.actor_role, r.actor_key_id) for r in backfills} == {("user", user_key.id)}
    assert all((r.after or {})["source"] == "pre_loopctl" for r in backfills)
    rows = await audit_rows(conn, tenant.id, entity_type="project", entity_id=project.id)
    [summary] = [r for r in rows if r.action == "imported"]
    assert (summary.after or {})["backfilled_stories"] == 2


async def test_an_orchestrator_cannot_import_progress_and_the_refusal_names_the_fields(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, orchestrator_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    error = error_of(
        await import_doc(client, orchestrator_key, project.id, reference_payload()),
        403,
        "status_import_needs_user",
    )
    assert error["details"]["fields"] == [
        "body.epics[0].stories[0].initial_agent_status",
        "body.epics[0].stories[0].initial_verified_status",
        "body.epics[0].stories[1].initial_agent_status",
    ]
    assert "initial_verified_status" in error["message"]
    assert (await export_doc(client, orchestrator_key, project.id))["epics"] == []
    # Without the progress, the orchestrator's import goes through.
    payload = reference_payload()
    for e in payload["epics"]:
        for s in e["stories"]:
            s.pop("initial_agent_status", None)
            s.pop("initial_verified_status", None)
    data_of(await import_doc(client, orchestrator_key, project.id, payload))
    exported = await export_doc(client, orchestrator_key, project.id)
    assert set(statuses(exported).values()) == {("pending", "unverified")}


async def test_a_reference_export_imports_its_structure_but_not_its_progress(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, orchestrator_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    report = data_of(await import_doc(client, orchestrator_key, project.id, reference_export()))
    assert (report["stories"]["created"], report["dependencies"]["created"]) == (3, 2)
    assert report["project_updated"] is False
    exported = await export_doc(client, orchestrator_key, project.id)
    # As in the reference, an export's statuses, assignees, timestamps and project block
    # describe the server it came from and are not imported.
    assert set(statuses(exported).values()) == {("pending", "unverified")}
    assert exported["project"]["name"] == project.name
    stories = {s["number"]: s for e in exported["epics"] for s in e["stories"]}
    assert stories["1.2"]["depends_on"] == ["1.1"]
    assert exported["epics"][1]["depends_on"] == [1]
    assert stories["1.1"]["acceptance_criteria"] == [{"id": "AC-1", "criterion": "Cards works"}]
    # Merging the same export again changes nothing.
    again = data_of(
        await import_doc(client, orchestrator_key, project.id, reference_export(), merge="true")
    )
    assert (again["stories"]["updated"], again["dependencies"]["created"]) == (0, 0)


async def test_the_top_level_lists_are_checked_like_depends_on(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    doc = {
        "epics": [
            {"number": 1, "title": "One", "stories": [story("1.1"), story("1.2", "1.1")]},
            {"number": 2, "title": "Two", "stories": [story("2.1")]},
        ],
        "story_dependencies": [
            {"story": "2.1", "depends_on": "1.1"},
            {"story_number": "2.1", "depends_on_story": "9.9"},
            {"story": "1.1", "depends_on": "1.1"},
            {"story": "1.2", "depends_on": "1.1"},
        ],
        "epic_dependencies": [{"epic_number": 7, "depends_on": 1}, {"epic": 1, "depends_on": 1}],
    }
    errors = invalid(
        await import_doc(client, user_key, project.id, doc),
        "body.story_dependencies[1].depends_on_story",
        "body.story_dependencies[2]",
        "body.story_dependencies[3]",
        "body.epic_dependencies[0].epic_number",
        "body.epic_dependencies[1]",
    )
    assert [e["type"] for e in errors] == [
        "unknown_reference",
        "self_dependency",
        "duplicate",
        "unknown_reference",
        "self_dependency",
    ]
    cyclic = {
        "epics": [{"number": 1, "title": "One", "stories": [story("1.1"), story("1.2", "1.1")]}],
        "story_dependencies": [{"story": "1.1", "depends_on": "1.2"}],
    }
    [error] = invalid(
        await import_doc(client, user_key, project.id, cyclic), "body.story_dependencies[0]"
    )
    assert error["type"] == "cycle"
    assert (await export_doc(client, user_key, project.id))["epics"] == []


async def test_progress_rules_are_one_for_both_vocabularies(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    contradicting = document(
        epic(1, story("1.1", agent_status="pending", initial_agent_status="reported_done"))
    )
    [error] = invalid(
        await import_doc(client, user_key, project.id, contradicting),
        "body.epics[0].stories[0].initial_agent_status",
    )
    assert error["type"] == "status_not_importable"
    claimed = {"epics": [epic(1, story("1.1", initial_agent_status="implementing"))]}
    invalid(
        await import_doc(client, user_key, project.id, claimed),
        "body.epics[0].stories[0].initial_agent_status",
    )
    # Verified with no agent status given implies reported_done, in both vocabularies.
    ours = document(epic(1, story("1.1", verified_status="verified")))
    theirs = {"epics": [epic(2, story("2.1", initial_verified_status="verified"))]}
    data_of(await import_doc(client, user_key, project.id, ours))
    data_of(await import_doc(client, user_key, project.id, theirs, merge="true"))
    exported = await export_doc(client, user_key, project.id)
    assert statuses(exported) == {
        "1.1": ("reported_done", "verified"),
        "2.1": ("reported_done", "verified"),
    }
    # initial_* describe a story being created: on an existing story they are ignored.
    later = {"epics": [epic(1, story("1.1", initial_agent_status="pending"))]}
    report = data_of(await import_doc(client, user_key, project.id, later, merge="true"))
    assert report["stories"]["unchanged"] == 1
    assert statuses(await export_doc(client, user_key, project.id))["1.1"] == (
        "reported_done",
        "verified",
    )


async def test_epic_numbers_follow_the_epics_api_rule(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    for bad in (True, 2.0, "+2", " 2", "1_000", "2.0"):
        doc = document(epic(1), {"number": bad, "title": "Bad"})
        invalid(await import_doc(client, user_key, project.id, doc), "body.epics[1].number")
        body = {"number": bad, "title": "Bad"}
        response = await client.post(
            f"{API}/projects/{project.id}/epics", json=body, headers=user_key.headers
        )
        invalid(response, "body.number")
    data_of(
        await import_doc(client, user_key, project.id, document({"number": "12", "title": "T"}))
    )
    assert [e["number"] for e in (await export_doc(client, user_key, project.id))["epics"]] == [12]
