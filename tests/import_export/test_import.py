"""Importing: fresh, merge (progress kept, idempotent, orphans), dry run, progress fields."""

from typing import Any
from uuid import UUID

import httpx

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, audit_rows, data_of, error_of, invalid
from tests.fixtures.work import make_epic, make_project, make_story, set_status
from tests.import_export.documents import document, epic, export_doc, import_doc, plan, story


def numbers(doc: dict[str, Any]) -> list[str]:
    return [s["number"] for e in doc["epics"] for s in e["stories"]]


async def story_by_number(
    client: httpx.AsyncClient, key: Key, project_id: UUID, number: str
) -> dict[str, Any]:
    response = await client.get(
        f"{API}/stories", params={"project_id": str(project_id), "limit": 500}, headers=key.headers
    )
    [found] = [s for s in data_of(response) if s["number"] == number]
    return dict(found)


async def test_a_fresh_import_creates_the_plan_with_one_audit_row_per_entity(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    before = len(await audit_rows(conn, tenant.id))
    report = data_of(await import_doc(client, user_key, project.id, plan()))
    assert report == {
        "project_id": str(project.id),
        "mode": "fresh",
        "dry_run": False,
        "project_updated": False,
        "epics": {"created": 2, "updated": 0, "unchanged": 0},
        "stories": {"created": 4, "updated": 0, "unchanged": 0},
        "dependencies": {"created": 4, "updated": 0, "unchanged": 0},
        "orphaned": {"epics": [], "stories": []},
        "changed": {
            "epics_created": [1, 2],
            "epics_updated": [],
            "stories_created": ["1.1", "1.2", "2.1", "2.2"],
            "stories_updated": [],
        },
    }
    exported = await export_doc(client, user_key, project.id)
    first = exported["epics"][0]["stories"][0]
    assert first["acceptance_criteria"] == [{"id": "AC-1", "criterion": "it works"}]
    assert first["estimated_hours"] == 2.5
    assert exported["epics"][1]["depends_on"] == [1]
    rows = (await audit_rows(conn, tenant.id))[before:]
    kinds = sorted((r.entity_type, r.action) for r in rows)
    assert kinds == sorted(
        [("epic", "created")] * 2
        + [("story", "created")] * 4
        + [("story_dependency", "created")] * 3
        + [("epic_dependency", "created")]
        + [("project", "imported")]
    )
    assert {r.project_id for r in rows} == {project.id}
    assert {r.actor_key_id for r in rows} == {user_key.id}
    created = next(r for r in rows if r.entity_type == "story" and r.after)
    assert created.after is not None
    assert created.after["project_id"] == str(project.id)


async def test_imported_edges_are_audited_as_the_dependency_api_shows_them(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    # The same entity type has one snapshot shape, whichever path created it.
    project = await make_project(runtime, tenant)
    data_of(await import_doc(client, user_key, project.id, plan()))
    shown: dict[str, dict[str, Any]] = {}
    epics = data_of(
        await client.get(f"{API}/projects/{project.id}/epics", headers=user_key.headers)
    )
    for e in epics:
        url = f"{API}/epics/{e['id']}/story_dependencies"
        shown |= {d["id"]: d for d in data_of(await client.get(url, headers=user_key.headers))}
    url = f"{API}/projects/{project.id}/epic_dependencies"
    shown |= {d["id"]: d for d in data_of(await client.get(url, headers=user_key.headers))}
    rows = [
        r
        for r in await audit_rows(conn, tenant.id)
        if r.entity_type in ("story_dependency", "epic_dependency")
    ]
    assert len(rows) == len(shown) == 4
    for row in rows:
        assert row.after is not None
        view = shown[str(row.entity_id)]
        assert {k: v for k, v in row.after.items() if k != "created_at"} == {
            k: v for k, v in view.items() if k != "created_at"
        }


async def test_stories_come_back_in_natural_number_order(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    as_integer = {"number": 3, "title": "A story numbered with a JSON integer"}
    doc = document(
        epic(2, story("2.10"), story("2.9", "2.10", "1.1"), as_integer),
        epic(1, story("1.1")),
    )
    data_of(await import_doc(client, user_key, project.id, doc))
    exported = await export_doc(client, user_key, project.id)
    assert [e["number"] for e in exported["epics"]] == [1, 2]
    assert numbers(exported) == ["1.1", "2.9", "2.10", "3"]
    assert exported["epics"][1]["stories"][0]["depends_on"] == ["1.1", "2.10"]


async def test_a_project_with_epics_needs_merge(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    await make_epic(runtime, tenant, project, 7)
    before = len(await audit_rows(conn, tenant.id))
    for params in ({}, {"dry_run": "true"}):
        response = await import_doc(client, user_key, project.id, plan(), **params)
        error = error_of(response, 409, "project_not_empty")
        assert error["details"] == {"epics": 1, "stories": 0}
    assert [e["number"] for e in (await export_doc(client, user_key, project.id))["epics"]] == [7]
    assert len(await audit_rows(conn, tenant.id)) == before


async def test_a_dry_run_reports_and_writes_nothing(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    before = len(await audit_rows(conn, tenant.id))
    doc = plan() | {"project": {"name": "Renamed"}}
    report = data_of(await import_doc(client, user_key, project.id, doc, dry_run="true"))
    assert report["dry_run"] is True
    assert report["project_updated"] is True
    assert report["stories"] == {"created": 4, "updated": 0, "unchanged": 0}
    exported = await export_doc(client, user_key, project.id)
    assert exported["epics"] == []
    assert exported["project"]["name"] == "Project"
    assert len(await audit_rows(conn, tenant.id)) == before
    # A merge dry run against existing data reports what would change.
    data_of(await import_doc(client, user_key, project.id, plan()))
    changed = plan()
    changed["epics"][0]["stories"][0]["title"] = "Changed"
    report = data_of(
        await import_doc(client, user_key, project.id, changed, merge="true", dry_run="true")
    )
    assert report["stories"] == {"created": 0, "updated": 1, "unchanged": 3}
    assert report["changed"] == {
        "epics_created": [],
        "epics_updated": [],
        "stories_created": [],
        "stories_updated": ["1.1"],
    }
    assert (await export_doc(client, user_key, project.id))["epics"][0]["stories"][0][
        "title"
    ] == "Story 1.1"


async def test_merging_the_same_document_twice_changes_nothing(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    doc = plan() | {"project": {"name": "Named", "tech_stack": "python"}}
    data_of(await import_doc(client, user_key, project.id, doc, merge="true"))
    first = await export_doc(client, user_key, project.id)
    before = len(await audit_rows(conn, tenant.id))
    report = data_of(await import_doc(client, user_key, project.id, doc, merge="true"))
    assert report["project_updated"] is False
    assert report["epics"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert report["stories"] == {"created": 0, "updated": 0, "unchanged": 4}
    assert report["dependencies"] == {"created": 0, "updated": 0, "unchanged": 4}
    assert len(await audit_rows(conn, tenant.id)) == before
    # The export itself is a document that merges as "no change".
    report = data_of(await import_doc(client, user_key, project.id, first, merge="true"))
    assert report["stories"]["updated"] == 0
    assert report["epics"]["updated"] == 0
    assert await export_doc(client, user_key, project.id) == first
    assert len(await audit_rows(conn, tenant.id)) == before


async def test_merge_updates_adds_and_keeps_progress(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    data_of(await import_doc(client, user_key, project.id, plan()))
    done = await story_by_number(client, user_key, project.id, "1.1")
    await set_status(conn, tenant, UUID(done["id"]))
    doc = plan()
    doc["epics"][0]["stories"][0]["title"] = "Renamed 1.1"
    doc["epics"][0]["stories"][0]["agent_status"] = "reported_done"  # the current value
    doc["epics"][1]["stories"].append(story("2.3", "2.2", "1.1"))
    doc["epics"].append(epic(3, story("3.1", "2.3"), depends_on=[2]))
    report = data_of(await import_doc(client, user_key, project.id, doc, merge="true"))
    assert report["epics"] == {"created": 1, "updated": 0, "unchanged": 2}
    assert report["stories"] == {"created": 2, "updated": 1, "unchanged": 3}
    assert report["dependencies"] == {"created": 4, "updated": 0, "unchanged": 4}
    after = await story_by_number(client, user_key, project.id, "1.1")
    assert after["title"] == "Renamed 1.1"
    assert (after["agent_status"], after["verified_status"]) == ("reported_done", "verified")
    assert after["id"] == done["id"]
    rows = await audit_rows(conn, tenant.id, entity_type="story", entity_id=UUID(done["id"]))
    assert rows[-1].action == "updated"
    assert rows[-1].before is not None
    assert rows[-1].before["title"] == "Story 1.1"
    assert rows[-1].after is not None
    assert rows[-1].after["title"] == "Renamed 1.1"


async def test_merge_leaves_out_fields_the_document_omits(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    full = document(
        epic(
            1,
            story("1.1", description="keep", metadata={"k": 1}, estimated_hours=3),
            phase="p1",
            position=4,
        )
    )
    data_of(await import_doc(client, user_key, project.id, full))
    sparse = document(epic(1, story("1.1")))
    report = data_of(await import_doc(client, user_key, project.id, sparse, merge="true"))
    assert report["stories"]["updated"] == 0
    assert report["epics"]["updated"] == 0
    cleared = document(epic(1, story("1.1", description=None), phase=None))
    report = data_of(await import_doc(client, user_key, project.id, cleared, merge="true"))
    assert report["stories"]["updated"] == 1
    assert report["epics"]["updated"] == 1
    exported = await export_doc(client, user_key, project.id)
    e = exported["epics"][0]
    assert (e["phase"], e["position"]) == (None, 4)
    assert e["stories"][0]["description"] is None
    assert e["stories"][0]["metadata"] == {"k": 1}
    assert e["stories"][0]["estimated_hours"] == 3


async def test_merge_reports_orphans_and_never_deletes(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    data_of(await import_doc(client, user_key, project.id, plan()))
    lone = await make_epic(runtime, tenant, project, 9)
    await make_story(runtime, tenant, lone, "9.1")
    doc = document(epic(1, story("1.1")))
    report = data_of(await import_doc(client, user_key, project.id, doc, merge="true"))
    assert report["orphaned"] == {
        "epics": [{"number": 2, "title": "Epic 2"}, {"number": 9, "title": "Epic 9"}],
        "stories": [
            {"number": "1.2", "title": "Story 1.2", "epic_number": 1},
            {"number": "2.1", "title": "Story 2.1", "epic_number": 2},
            {"number": "2.2", "title": "Story 2.2", "epic_number": 2},
            {"number": "9.1", "title": "Story 9.1", "epic_number": 9},
        ],
    }
    exported = await export_doc(client, user_key, project.id)
    assert numbers(exported) == ["1.1", "1.2", "2.1", "2.2", "9.1"]


async def test_merge_moves_a_story_to_the_epic_the_document_puts_it_in(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    data_of(await import_doc(client, user_key, project.id, plan()))
    doc = plan()
    moved = doc["epics"][1]["stories"].pop(1)  # 2.2, which depends on 2.1
    # Into epic 1 it would deadlock: 2.1 waits for all of epic 1 (epic 2 depends on it).
    doc["epics"][0]["stories"].append(moved)
    response = await import_doc(client, user_key, project.id, doc, merge="true")
    [error] = error_of(response, 422, "validation_error")["details"]["errors"]
    assert error["type"] == "cycle"
    assert error["field"] in {"body.epics[0].stories[2]", "body.epics[1].depends_on[0]"}
    assert "story 2.2" in error["message"]
    assert "epic 1" in error["message"]
    doc["epics"][0]["stories"].pop()
    doc["epics"].append(epic(3, moved))
    report = data_of(await import_doc(client, user_key, project.id, doc, merge="true"))
    assert report["stories"]["updated"] == 1
    assert report["epics"]["created"] == 1
    exported = await export_doc(client, user_key, project.id)
    assert [s["number"] for s in exported["epics"][1]["stories"]] == ["2.1"]
    assert [s["number"] for s in exported["epics"][2]["stories"]] == ["2.2"]
    assert exported["epics"][2]["stories"][0]["depends_on"] == ["2.1"]


async def test_the_project_block_changes_the_project(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    block = {
        "name": "Imported",
        "description": "From a plan",
        "repo_url": "https://example.com/org/repo",
        "tech_stack": "python",
        "mission": "Ship the plan",
        "metadata": {"team": "a"},
    }
    report = data_of(await import_doc(client, user_key, project.id, plan() | {"project": block}))
    assert report["project_updated"] is True
    assert (await export_doc(client, user_key, project.id))["project"] == block
    shown = data_of(await client.get(f"{API}/projects/{project.id}", headers=user_key.headers))
    assert shown["slug"] == project.slug
    assert (shown["name"], shown["mission"]) == ("Imported", "Ship the plan")
    # The slug and status the reference's export carries are read, never applied; null
    # clears the mission.
    again = plan() | {"project": {"slug": "elsewhere", "status": "archived", "mission": None}}
    data_of(await import_doc(client, user_key, project.id, again, merge="true"))
    shown = data_of(await client.get(f"{API}/projects/{project.id}", headers=user_key.headers))
    assert (shown["slug"], shown["status"], shown["mission"]) == (project.slug, "active", None)


async def test_progress_in_a_document_needs_a_user_key(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    user_key: Key,
    orchestrator_key: Key,
) -> None:
    project = await make_project(runtime, tenant)
    doc = document(
        epic(
            1,
            story("1.1", agent_status="reported_done", verified_status="verified"),
            story("1.2", agent_status="pending", verified_status="unverified"),
            story("1.3", agent_status="reported_done"),
        )
    )
    error = error_of(
        await import_doc(client, orchestrator_key, project.id, doc), 403, "status_import_needs_user"
    )
    assert error["details"]["fields"] == [
        "body.epics[0].stories[0].agent_status",
        "body.epics[0].stories[0].verified_status",
        "body.epics[0].stories[2].agent_status",
    ]
    assert (await export_doc(client, user_key, project.id))["epics"] == []
    data_of(await import_doc(client, user_key, project.id, doc))
    exported = await export_doc(client, user_key, project.id)
    statuses = [(s["agent_status"], s["verified_status"]) for s in exported["epics"][0]["stories"]]
    assert statuses == [
        ("reported_done", "verified"),
        ("pending", "unverified"),
        ("reported_done", "unverified"),
    ]


async def test_progress_of_existing_stories_cannot_be_changed_by_import(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    data_of(await import_doc(client, user_key, project.id, plan()))
    doc = plan()
    doc["epics"][0]["stories"][1]["verified_status"] = "verified"
    response = await import_doc(client, user_key, project.id, doc, merge="true")
    [error] = invalid(response, "body.epics[0].stories[1].verified_status")
    assert error["type"] == "status_not_importable"


async def test_claims_and_inconsistent_progress_are_not_importable(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    doc = document(
        epic(
            1,
            story("1.1", agent_status="implementing"),
            story("1.2", agent_status="pending", verified_status="verified"),
        )
    )
    invalid(
        await import_doc(client, user_key, project.id, doc),
        "body.epics[0].stories[0].agent_status",
        "body.epics[0].stories[1].verified_status",
    )
