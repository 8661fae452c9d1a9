"""Story routes: who may call them, and what a foreign, malformed or unknown input gets
(behaviour is in test_crud.py, bad bodies in test_validation.py)."""

from typing import ClassVar

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.epics.world import make_world
from tests.fixtures.access import Ids, Route, RouteAccess, fill
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, audit_rows, data_of, invalid

NEW = {"number": "1.2", "title": "New"}


class TestAccess(RouteAccess):
    ROUTES = (
        Route("POST", "/epics/{epic}/stories", "orchestrator", NEW, "epic_not_found"),
        Route(
            "POST",
            "/projects/{project}/stories",
            "orchestrator",
            {**NEW, "epic_number": 1},
            "project_not_found",
        ),
        Route("GET", "/epics/{epic}/stories", "agent", missing="epic_not_found"),
        Route("GET", "/stories?project_id={project}", "agent", missing="project_not_found"),
        Route("GET", "/stories/{story}", "agent", missing="story_not_found"),
        Route("PATCH", "/stories/{story}", "orchestrator", {"title": "Renamed"}, "story_not_found"),
        Route("DELETE", "/stories/{story}", "user", missing="story_not_found"),
    )
    # Unknown and read-only fields alike.
    EXTRA_FIELDS: ClassVar[dict[str, str]] = {
        "owner": "{epic}",
        "agent_status": "verified",
        "verified_status": "verified",
        "epic_id": "{epic}",
        "project_id": "{epic}",
        "id": "{epic}",
    }

    async def world(self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> Ids:  # noqa: ARG002
        return (await make_world(runtime, tenant)).ids()

    async def after_forbidden(self, client: httpx.AsyncClient, ids: Ids, reader: Key) -> None:
        shown = data_of(
            await client.get(API + fill("/stories/{story}", ids), headers=reader.headers)
        )
        assert shown["title"] == "Story 1.1"

    async def after_foreign(
        self, client: httpx.AsyncClient, conn: Connection, owner: Tenant, ids: Ids
    ) -> None:
        await self.after_forbidden(client, ids, owner.user)
        rows = await audit_rows(conn, owner.id, entity_type="story")
        assert [r.action for r in rows] == ["created"]


@pytest.mark.parametrize("query", ["project_id=not-a-uuid", "project_id=", ""])
async def test_the_project_list_needs_a_well_formed_project_id(
    client: httpx.AsyncClient, agent_key: Key, query: str
) -> None:
    response = await client.get(f"{API}/stories?{query}", headers=agent_key.headers)
    invalid(response, "query.project_id")
