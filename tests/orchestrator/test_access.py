"""The shared access matrix over the orchestrator state routes (orchestrator role and up)."""

import httpx

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.fixtures.access import Ids, Route, RouteAccess
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, audit_rows, data_of, error_of
from tests.fixtures.work import make_project

P = "project_not_found"
SAVED = {"phase": "verify", "last_verified": "2.3"}


class TestAccess(RouteAccess):
    ROUTES = (
        Route(
            "PUT",
            "/orchestrator/state/{project}",
            "orchestrator",
            {"state_key": "main", "state_data": {"phase": "next"}, "version": 1},
            P,
        ),
        Route("GET", "/orchestrator/state/{project}", "orchestrator", missing=P),
        Route("GET", "/orchestrator/state/{project}?state_key=main", "orchestrator", missing=P),
        Route("GET", "/orchestrator/state/{project}/history", "orchestrator", missing=P),
    )

    async def world(self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> Ids:
        project = await make_project(runtime, tenant)
        body = {"state_data": SAVED}
        url = f"{API}/orchestrator/state/{project.id}"
        data_of(await client.put(url, json=body, headers=tenant.user.headers))
        return {"project": str(project.id)}

    async def after_forbidden(self, client: httpx.AsyncClient, ids: Ids, reader: Key) -> None:
        # The agent cannot read it either; the state is checked through the database below.
        url = f"{API}/orchestrator/state/{ids['project']}"
        error_of(await client.get(url, headers=reader.headers), 403, "insufficient_role")

    async def after_foreign(
        self, client: httpx.AsyncClient, conn: Connection, owner: Tenant, ids: Ids
    ) -> None:
        url = f"{API}/orchestrator/state/{ids['project']}"
        state = data_of(await client.get(url, headers=owner.user.headers))
        assert (state["version"], state["state_data"]) == (1, SAVED)
        # The one save of the world, and nothing from the other tenant's call.
        assert len(await audit_rows(conn, owner.id, entity_type="orchestrator_state")) == 1
