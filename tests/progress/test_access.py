"""The shared access matrix over every route of the story loop.

The world holds one story in each state a route needs. The implementer's own routes
(start, heartbeat, request-review, unclaim) need the caller to hold the lease, so their
"minimum role is enough" case claims the story with the test's agent key first.
"""

from typing import Any

import httpx

from loopctl.platform.runtime import Runtime
from tests.fixtures.access import Ids, Route, RouteAccess, call
from tests.fixtures.factories import Key, Tenant, make_key
from tests.fixtures.http import API, data_of, error_of
from tests.fixtures.work import make_epic, make_project, make_story

S = "story_not_found"
BACKFILL = {"reason": "shipped before loopctl", "evidence": "git log v1.0"}
HOLDER = {"start", "start-work", "request-review", "heartbeat", "unclaim"}


class TestAccess(RouteAccess):
    ROUTES = (
        Route(
            "POST",
            "/stories/{pending}/contract",
            "agent",
            {"story_title": "Pending", "ac_count": 0},
            S,
        ),
        Route("POST", "/stories/{contracted}/claim", "agent", missing=S),
        Route("POST", "/stories/{claimed}/start", "agent", missing=S),
        Route("POST", "/stories/{claimed}/start-work", "agent", missing=S),
        Route("POST", "/stories/{claimed}/heartbeat", "agent", missing=S),
        Route("POST", "/stories/{claimed}/unclaim", "agent", missing=S),
        Route("POST", "/stories/{started}/request-review", "agent", missing=S),
        Route("POST", "/stories/{started}/report", "agent", {}, S),
        Route("POST", "/stories/{started}/report-done", "agent", {}, S),
        Route(
            "POST",
            "/stories/{reported}/review-complete",
            "orchestrator",
            {"review_type": "code"},
            S,
        ),
        Route("POST", "/stories/{reviewed}/verify", "orchestrator", {"summary": "ok"}, S),
        Route("POST", "/stories/{reported}/reject", "orchestrator", {"reason": "no tests"}, S),
        Route("POST", "/stories/{started}/force-unclaim", "orchestrator", missing=S),
        Route("GET", "/stories/{reviewed}/verifications", "orchestrator", missing=S),
        Route(
            "POST",
            "/stories/{pending}/artifacts",
            "agent",
            {"artifact_type": "pr", "path": "p/1"},
            S,
        ),
        Route("GET", "/stories/{pending}/artifacts", "agent", missing=S),
        Route("GET", "/stories/{pending}/acceptance_criteria", "agent", missing=S),
        Route("POST", "/stories/{pending}/backfill", "user", BACKFILL, S),
        # Its id is in the body: another tenant's project is tested below, not by the matrix
        # (whose malformed-id case is about paths).
        Route("POST", "/stories/claim-next", "agent", {"project_id": "{project}"}),
        Route("POST", "/stories/bulk/claim", "agent", {"story_ids": ["{contracted}"]}),
        Route(
            "POST",
            "/stories/bulk/verify",
            "orchestrator",
            {"stories": [{"story_id": "{reviewed}"}]},
        ),
        Route(
            "POST",
            "/stories/bulk/reject",
            "orchestrator",
            {"stories": [{"story_id": "{reported}", "reason": "no"}]},
        ),
        Route(
            "POST",
            "/stories/bulk/mark-complete",
            "user",
            {"stories": [{"story_id": "{pending}", **BACKFILL}]},
        ),
        Route("POST", "/epics/{epic}/verify-all", "orchestrator", {}, "epic_not_found"),
    )

    async def world(self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> Ids:
        implementer = await make_key(runtime, tenant, "agent")
        verifier = await make_key(runtime, tenant, "orchestrator")
        project = await make_project(runtime, tenant)
        epic = await make_epic(runtime, tenant, project, 1)
        ids = {"project": str(project.id), "epic": str(epic.id)}
        steps = {
            "pending": [],
            "contracted": ["contract"],
            "claimed": ["contract", "claim"],
            "started": ["contract", "claim", "start"],
            "reported": ["contract", "claim", "start", "report"],
            "reviewed": ["contract", "claim", "start", "report", "review-complete"],
        }
        for n, (name, verbs) in enumerate(steps.items(), start=1):
            title = name.capitalize()
            story = await make_story(runtime, tenant, epic, f"1.{n}", title=title)
            ids[name] = str(story.id)
            for verb in verbs:
                key = verifier if verb in ("report", "review-complete") else implementer
                body = _body(verb, title)
                url = f"{API}/stories/{story.id}/{verb}"
                response = await client.post(url, json=body, headers=key.headers)
                assert response.status_code in (200, 201), response.text
        return ids

    async def test_the_minimum_role_is_enough(
        self,
        client: httpx.AsyncClient,
        runtime: Runtime,
        tenant: Tenant,
        agent_key: Key,
        orchestrator_key: Key,
        user_key: Key,
        route: Route,
    ) -> None:
        if route.path.rsplit("/", 1)[-1] not in HOLDER:
            await super().test_the_minimum_role_is_enough(
                client, runtime, tenant, agent_key, orchestrator_key, user_key, route
            )
            return
        ids = await self.world(client, runtime, tenant)
        # The caller must hold the lease: take the contracted story as the test's agent.
        mine = ids["contracted"]
        data_of(await client.post(f"{API}/stories/{mine}/claim", headers=agent_key.headers))
        if "{started}" in route.path:
            data_of(await client.post(f"{API}/stories/{mine}/start", headers=agent_key.headers))
        ids = {**ids, "claimed": mine, "started": mine}
        response = await call(client, route, ids, agent_key.headers)
        assert response.status_code == 200, response.text


def _body(verb: str, title: str) -> dict[str, Any] | None:
    if verb == "contract":
        return {"story_title": title, "ac_count": 0}
    if verb == "review-complete":
        return {"review_type": "code"}
    return None


async def test_claim_next_in_another_tenants_project_is_not_found(
    client: httpx.AsyncClient, runtime: Runtime, other_tenant: Tenant, agent_key: Key
) -> None:
    theirs = await make_project(runtime, other_tenant)
    response = await client.post(
        f"{API}/stories/claim-next", json={"project_id": str(theirs.id)}, headers=agent_key.headers
    )
    error_of(response, 404, "project_not_found")
