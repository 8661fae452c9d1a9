"""The tools, each with the roles that see it; names follow the reference's MCP server.

An agent key gets the implementer's tools, an orchestrator (or user) key the reviewer's,
verifier's and planner's reads. Nobody sees a tool their role cannot use, and calling a hidden
tool by name is refused the same way (server.py).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from loopctl.client import AsyncClient
from loopctl.mcp import shaping

AGENT = frozenset({"agent"})
ORCH = frozenset({"orchestrator", "user", "superadmin"})
EVERYONE = AGENT | ORCH

Run = Callable[[AsyncClient, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    schema: dict[str, Any]
    roles: frozenset[str]
    run: Run


def schema(required: tuple[str, ...], **props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required)}


STR = {"type": "string"}
INT = {"type": "integer", "minimum": 0}
ID = {"type": "string", "format": "uuid"}
LEASE = {"type": "integer", "description": "lease_token from claim (fences a stale holder)"}
PAGE = {"limit": {"type": "integer", "minimum": 1, "maximum": 50}, "offset": INT}
CRITERIA = {
    "type": "array",
    "description": "Per criterion (ids from get_story): result and evidence (command, outcome)",
    "items": schema(
        ("id", "result"), id=STR, result={"enum": ["passed", "failed", "not_checked"]}, evidence=STR
    ),
}
STORY_ONLY = schema(("story_id",), story_id=ID)
LEASED = schema(("story_id",), story_id=ID, lease_token=LEASE)


def _page(args: dict[str, Any]) -> dict[str, Any]:
    return {"limit": args.get("limit", 20), "offset": args.get("offset", 0)}


def _given(args: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: args[name] for name in names if args.get(name) is not None}


async def list_projects_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    return shaping.listing(await c.list_projects(**_page(a)), shaping.PROJECT_FIELDS)


async def list_stories_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    filters = _given(a, "project_id", "epic_id", "agent_status", "verified_status")
    page = await c.list_stories(**_page(a), **filters)
    return shaping.listing(page, shaping.LIST_FIELDS)


async def ready_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    page = await c.ready(**_page(a), **_given(a, "project_id", "epic_id"))
    return shaping.listing(page, (*shaping.LIST_FIELDS, "unblocks_count"))


async def get_story_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    return shaping.story(await c.get_story(a["story_id"]))


async def progress_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    return shaping.plain(await c.project_progress(a["project_id"]))


async def claim_next_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    return shaping.step(await c.claim_next(**_given(a, "project_id", "epic_id")))


async def contract_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    story = await c.contract(a["story_id"], story_title=a["story_title"], ac_count=a["ac_count"])
    return shaping.step(story)


async def claim_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    return shaping.step(await c.claim(a["story_id"]))


def leased(action: str) -> Run:
    async def run(c: AsyncClient, a: dict[str, Any]) -> Any:
        send = getattr(c, action)
        return shaping.step(await send(a["story_id"], lease_token=a.get("lease_token")))

    return run


async def report_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    artifact = None
    if a.get("artifact_type") and a.get("artifact_path"):
        artifact = {"artifact_type": a["artifact_type"], "path": a["artifact_path"]}
    return shaping.step(await c.report(a["story_id"], artifact=artifact))


async def review_complete_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    counts = _given(a, "findings_count", "fixes_count", "disproved_count", "summary")
    record = await c.review_complete(a["story_id"], a["review_type"], **counts)
    return shaping.plain(record, drop=("reviewer_agent_id",))


async def verify_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    verdict = _given(a, "summary", "review_type", "result", "commit_sha")
    return shaping.step(await c.verify(a["story_id"], criteria=a.get("criteria"), **verdict))


async def reject_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    verdict = _given(a, "summary", "review_type")
    story = await c.reject(a["story_id"], a["reason"], criteria=a.get("criteria"), **verdict)
    return shaping.step(story)


async def force_unclaim_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    return shaping.step(await c.force_unclaim(a["story_id"]))


async def verify_all_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    verdict = _given(a, "summary", "review_type")
    return shaping.plain(await c.verify_all(a["epic_id"], **verdict))


async def add_artifact_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    made = await c.add_artifact(a["story_id"], a["artifact_type"], a["path"])
    return shaping.plain(made)


async def list_artifacts_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    page = await c.list_artifacts(a["story_id"])
    return [shaping.plain(row, drop=("story_id",)) for row in page.data]


async def verifications_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    page = await c.list_verifications(a["story_id"])
    return [shaping.plain(row, drop=("story_id",)) for row in page.data]


async def criteria_tool(c: AsyncClient, a: dict[str, Any]) -> Any:
    page = await c.acceptance_criteria(a["story_id"])
    return [shaping.plain(row, drop=("description",)) for row in page.data]
