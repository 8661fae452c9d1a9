"""What each tool does: one call of the backend, its answer cut to what an agent acts on.

Written once against ``backend.Backend``: the stdio server runs them on the Python client,
the server's ``/mcp`` on the domain services. Arguments arrive checked against the tool's
input schema (calls.py), so a required one is present and each has its schema's type.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from loopctl.mcp import shaping
from loopctl.mcp.backend import Backend

AGENT = frozenset({"agent"})
USER = frozenset({"user", "superadmin"})
ORCH = frozenset({"orchestrator"}) | USER
EVERYONE = AGENT | ORCH

Args = dict[str, Any]
Run = Callable[[Backend, Args], Awaitable[Any]]


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


def _page(args: Args, default: int = 20) -> dict[str, Any]:
    return {"limit": args.get("limit", default), "offset": args.get("offset", 0)}


def _given(args: Args, *names: str) -> dict[str, Any]:
    return {name: args[name] for name in names if args.get(name) is not None}


# Reads


async def list_projects_tool(b: Backend, a: Args) -> Any:
    return shaping.listing(await b.list_projects(**_page(a)), shaping.PROJECT_FIELDS)


async def get_project_tool(b: Backend, a: Args) -> Any:
    return shaping.plain(await b.get_project(a["project_id"]), drop=shaping.PROJECT_NOISE)


async def progress_tool(b: Backend, a: Args) -> Any:
    return shaping.plain(await b.project_progress(a["project_id"]))


async def list_stories_tool(b: Backend, a: Args) -> Any:
    filters = _given(a, "project_id", "epic_id", "agent_status", "verified_status")
    page = await b.list_stories(**_page(a), **filters)
    return shaping.listing(page, shaping.LIST_FIELDS)


async def ready_tool(b: Backend, a: Args) -> Any:
    page = await b.ready(**_page(a), **_given(a, "project_id", "epic_id"))
    return shaping.listing(page, (*shaping.LIST_FIELDS, "unblocks_count"))


async def blocked_tool(b: Backend, a: Args) -> Any:
    page = await b.blocked(**_page(a), **_given(a, "project_id", "epic_id"))
    return shaping.listing(page, (*shaping.LIST_FIELDS, "blocked_by"))


async def get_story_tool(b: Backend, a: Args) -> Any:
    return shaping.story(await b.get_story(a["story_id"]))


async def history_tool(b: Backend, a: Args) -> Any:
    page = await b.story_history(a["story_id"], **_page(a))
    return shaping.listing(page, shaping.HISTORY_FIELDS)


async def list_artifacts_tool(b: Backend, a: Args) -> Any:
    page = await b.list_artifacts(a["story_id"])
    return [shaping.plain(row, drop=("story_id",)) for row in page.data]


async def verifications_tool(b: Backend, a: Args) -> Any:
    page = await b.list_verifications(a["story_id"])
    return [shaping.plain(row, drop=("story_id",)) for row in page.data]


async def criteria_tool(b: Backend, a: Args) -> Any:
    page = await b.acceptance_criteria(a["story_id"])
    return [shaping.plain(row, drop=("description",)) for row in page.data]


async def changes_tool(b: Backend, a: Args) -> Any:
    filters = _given(a, "cursor", "project_id", "entity_type", "action")
    return shaping.feed(await b.changes(limit=a.get("limit", 50), **filters))


# The implementer's loop


async def claim_next_tool(b: Backend, a: Args) -> Any:
    return shaping.step(await b.claim_next(**_given(a, "project_id", "epic_id")))


async def contract_tool(b: Backend, a: Args) -> Any:
    story = await b.contract(a["story_id"], story_title=a["story_title"], ac_count=a["ac_count"])
    return shaping.step(story)


async def claim_tool(b: Backend, a: Args) -> Any:
    return shaping.step(await b.claim(a["story_id"]))


def leased(action: str) -> Run:
    async def run(b: Backend, a: Args) -> Any:
        send = getattr(b, action)
        return shaping.step(await send(a["story_id"], lease_token=a.get("lease_token")))

    return run


async def add_artifact_tool(b: Backend, a: Args) -> Any:
    made = await b.add_artifact(a["story_id"], a["artifact_type"], a["path"])
    return shaping.plain(made)


# The reviewer's and verifier's loop


async def report_tool(b: Backend, a: Args) -> Any:
    artifact = None
    if a.get("artifact_type") and a.get("artifact_path"):
        artifact = {"artifact_type": a["artifact_type"], "path": a["artifact_path"]}
    return shaping.step(await b.report(a["story_id"], artifact=artifact))


async def review_complete_tool(b: Backend, a: Args) -> Any:
    counts = _given(a, "findings_count", "fixes_count", "disproved_count", "summary")
    record = await b.review_complete(a["story_id"], a["review_type"], **counts)
    return shaping.plain(record, drop=("reviewer_agent_id",))


async def verify_tool(b: Backend, a: Args) -> Any:
    verdict = _given(a, "summary", "review_type", "result", "commit_sha")
    return shaping.step(await b.verify(a["story_id"], criteria=a.get("criteria"), **verdict))


async def reject_tool(b: Backend, a: Args) -> Any:
    verdict = _given(a, "summary", "review_type")
    story = await b.reject(a["story_id"], a["reason"], criteria=a.get("criteria"), **verdict)
    return shaping.step(story)


async def force_unclaim_tool(b: Backend, a: Args) -> Any:
    return shaping.step(await b.force_unclaim(a["story_id"]))


async def verify_all_tool(b: Backend, a: Args) -> Any:
    verdict = _given(a, "summary", "review_type")
    return shaping.plain(await b.verify_all(a["epic_id"], **verdict))


async def backfill_tool(b: Backend, a: Args) -> Any:
    evidence = _given(a, "evidence", "evidence_url", "pr_number")
    return shaping.step(await b.backfill(a["story_id"], a["reason"], **evidence))


# The orchestrator's checkpoints and events


async def save_state_tool(b: Backend, a: Args) -> Any:
    extra = _given(a, "state_key", "version", "cursor")
    saved = await b.save_state(a["project_id"], a["state_data"], **extra)
    return shaping.plain(saved, drop=(*shaping.STATE_NOISE, "state_data"))


async def load_state_tool(b: Backend, a: Args) -> Any:
    state = await b.get_state(a["project_id"], **_given(a, "state_key"))
    return shaping.plain(state, drop=shaping.STATE_NOISE)


async def state_history_tool(b: Backend, a: Args) -> Any:
    page = await b.state_history(a["project_id"], **_page(a, 5), **_given(a, "state_key"))
    return shaping.listing(page, shaping.VERSION_FIELDS)


async def record_event_tool(b: Backend, a: Args) -> Any:
    fields = _given(a, "project_id", "story_id", "summary", "data")
    entry = await b.report_event(a["event_type"], **fields)
    return shaping.plain(entry, drop=shaping.EVENT_NOISE)
