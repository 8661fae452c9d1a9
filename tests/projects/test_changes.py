"""PATCH and DELETE /api/v1/projects/{id}: changing, archiving and reactivating projects."""

import json
from typing import Any

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, UNKNOWN_KEY, audit_rows, bearer, data_of, error_of, invalid
from tests.fixtures.work import make_project

PROJECTS = f"{API}/projects"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", ""),
        ("GET", ""),
        ("GET", "/{id}"),
        ("PATCH", "/{id}"),
        ("DELETE", "/{id}"),
        ("GET", "/{id}/progress"),
    ],
)
async def test_an_unknown_key_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, method: str, path: str
) -> None:
    project = await make_project(runtime, tenant)
    body = {"name": "x", "slug": "x-y"} if method == "POST" else {"name": "x"}
    response = await client.request(
        method,
        PROJECTS + path.format(id=project.id),
        json=body if method in ("POST", "PATCH") else None,
        headers=bearer(UNKNOWN_KEY),
    )
    error_of(response, 401, "invalid_api_key")


async def test_update_changes_the_fields_given_and_audits_them(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
) -> None:
    project = await make_project(runtime, tenant, slug="keep-me")
    url = f"{PROJECTS}/{project.id}"
    first = data_of(
        await client.patch(
            url,
            json={
                "name": " Renamed ",
                "repo_url": "git://example.com/repo.git",
                "tech_stack": "go",
                "metadata": {"k": [1, {"x": None}]},
            },
            headers=orchestrator_key.headers,
        )
    )
    assert (first["name"], first["slug"], first["repo_url"]) == (
        "Renamed",
        "keep-me",
        "git://example.com/repo.git",
    )
    second = data_of(
        await client.patch(
            url, json={"repo_url": None, "description": "Now"}, headers=orchestrator_key.headers
        )
    )
    assert second == {
        **first,
        "repo_url": None,
        "description": "Now",
        "updated_at": second["updated_at"],
    }
    same = data_of(
        await client.patch(url, json={"tech_stack": "go"}, headers=orchestrator_key.headers)
    )
    assert same == second
    rows = await audit_rows(conn, tenant.id, entity_type="project", entity_id=project.id)
    assert [r.action for r in rows] == ["created", "updated", "updated"]
    assert {r.project_id for r in rows} == {project.id}
    assert (rows[2].before, rows[2].after) == (first, second)


async def test_only_a_user_may_change_the_status(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
) -> None:
    project = await make_project(runtime, tenant)
    response = await client.patch(
        f"{PROJECTS}/{project.id}",
        json={"status": "archived", "name": "x"},
        headers=orchestrator_key.headers,
    )
    error = error_of(response, 403, "insufficient_role")
    assert error["details"]["field"] == "body.status"
    shown = data_of(await client.get(f"{PROJECTS}/{project.id}", headers=orchestrator_key.headers))
    assert (shown["status"], shown["name"]) == ("active", "Project")
    assert len(await audit_rows(conn, tenant.id, entity_type="project")) == 1


async def test_archive_and_reactivate(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    url = f"{PROJECTS}/{project.id}"
    archived = data_of(await client.delete(url, headers=user_key.headers))
    assert archived["status"] == "archived"
    assert archived["archived_at"] is not None
    # Archiving again changes nothing.
    assert data_of(await client.delete(url, headers=user_key.headers)) == archived
    assert (
        data_of(await client.patch(url, json={"status": "archived"}, headers=user_key.headers))
        == archived
    )

    # Read-only: no field changes, even together with reactivation.
    bodies: list[dict[str, Any]] = [
        {"name": "New"},
        {"metadata": {}},
        {"status": "active", "name": "New"},
    ]
    for body in bodies:
        error_of(
            await client.patch(url, json=body, headers=user_key.headers), 409, "project_archived"
        )

    active = data_of(await client.patch(url, json={"status": "active"}, headers=user_key.headers))
    assert (active["status"], active["archived_at"], active["name"]) == ("active", None, "Project")
    again = data_of(await client.patch(url, json={"status": "archived"}, headers=user_key.headers))
    assert again["status"] == "archived"

    rows = await audit_rows(conn, tenant.id, entity_type="project", entity_id=project.id)
    assert [r.action for r in rows] == ["created", "archived", "reactivated", "archived"]
    assert {r.project_id for r in rows} == {project.id}
    assert {r.actor_role for r in rows[1:]} == {"user"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metadata": {"k\x00": 1}}, "body.metadata"),
        ({"metadata": {"k": ["\x00"]}}, "body.metadata"),
        ({"metadata": {"k": 10**19}}, "body.metadata"),
        ({"metadata": {"k": "\ud800"}}, "body.metadata"),
        ({"name": "\ud800"}, "body.name"),
        ({"name": "x" * 201}, "body.name"),
        ({"description": "\x00"}, "body.description"),
        ({"tech_stack": 5}, "body.tech_stack"),
        ({"repo_url": "https://"}, "body.repo_url"),
        ({"repo_url": "https://x.com/" + "a" * 2000}, "body.repo_url"),
        ({"repo_url": "javascript:alert(1)"}, "body.repo_url"),
        ({"repo_url": "https://[::1/x"}, "body.repo_url"),
        ({"repo_url": "git@host:"}, "body.repo_url"),
        ({"repo_url": "https://x.com/\x00"}, "body.repo_url"),
    ],
)
async def test_update_rejects_hostile_input_by_field(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    user_key: Key,
    body: dict[str, Any],
    field: str,
) -> None:
    project = await make_project(runtime, tenant)
    headers = {**user_key.headers, "content-type": "application/json"}
    response = await client.patch(
        f"{PROJECTS}/{project.id}", content=json.dumps(body).encode(), headers=headers
    )
    invalid(response, field)
    assert len(await audit_rows(conn, tenant.id, entity_type="project")) == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/shop",
        "http://localhost:3000/repo",
        "ssh://git@example.com:2222/acme/shop.git",
        "git://example.com/shop.git",
        "git@github.com:acme/shop.git",
    ],
)
async def test_repo_urls_in_the_forms_git_accepts(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, url: str
) -> None:
    project = await make_project(runtime, tenant)
    response = await client.patch(
        f"{PROJECTS}/{project.id}", json={"repo_url": f"  {url} "}, headers=user_key.headers
    )
    assert data_of(response)["repo_url"] == url
