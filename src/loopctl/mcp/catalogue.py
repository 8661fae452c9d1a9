"""The one tool list of both transports: name, when to use it, arguments, roles that see it.

Names follow the reference's MCP server where it has the capability (docs/mcp.md).
"""

from typing import Any

from loopctl.mcp import tools as t
from loopctl.mcp.tools import (
    AGENT,
    CRITERIA,
    EVERYONE,
    ID,
    INT,
    LEASED,
    ORCH,
    PAGE,
    STORY_ONLY,
    STR,
    USER,
    Tool,
    schema,
)

SCOPE = {"project_id": ID, "epic_id": ID}
STATUS: dict[str, dict[str, Any]] = {
    "agent_status": {
        "enum": ["pending", "contracted", "assigned", "implementing", "reported_done"]
    },
    "verified_status": {"enum": ["unverified", "verified", "rejected"]},
}
PROJECT = schema(("project_id",), project_id=ID)
STATE_KEY = {"type": "string", "description": "which checkpoint (default main)"}
FEED: dict[str, dict[str, Any]] = {
    "cursor": {"type": "string", "description": "next_cursor of your last read"},
    "project_id": ID,
    "entity_type": STR,
    "action": STR,
    "limit": {"type": "integer", "minimum": 1, "maximum": 200},
}

TOOLS = (
    Tool("list_projects", "List projects (id, slug). Start here to find a project_id.",
         schema((), **PAGE), EVERYONE, t.list_projects_tool),
    Tool("get_project", "One project: its mission, tech stack and counts.", PROJECT, EVERYONE,
         t.get_project_tool),
    Tool("get_progress", "A project's counts by status: how far along it is.", PROJECT,
         EVERYONE, t.progress_tool),
    Tool("list_stories", "List stories of a project, filtered by status. Paged: pass "
         "next_offset as offset.", schema(("project_id",), **SCOPE, **STATUS, **PAGE),
         EVERYONE, t.list_stories_tool),
    Tool("list_ready_stories", "Stories whose dependencies are verified and nobody holds: "
         "what can be worked on now.", schema((), **SCOPE, **PAGE), EVERYONE, t.ready_tool),
    Tool("list_blocked_stories", "Stories waiting on unverified dependencies, with what "
         "blocks each.", schema((), **SCOPE, **PAGE), EVERYONE, t.blocked_tool),
    Tool("get_story", "One story in full: description, acceptance criteria (with ids), "
         "dependencies. Read before working on or judging it.", STORY_ONLY, EVERYONE,
         t.get_story_tool),
    Tool("get_story_history", "Who did what to a story, oldest first.",
         schema(("story_id",), story_id=ID, **PAGE), EVERYONE, t.history_tool),
    Tool("list_artifacts", "The artifacts (commits, files, PRs) recorded on a story.",
         STORY_ONLY, EVERYONE, t.list_artifacts_tool),
    Tool("get_acceptance_criteria", "Each criterion of a story with its latest checked "
         "result and evidence.", STORY_ONLY, EVERYONE, t.criteria_tool),
    Tool("get_changes", "What changed since your last read, oldest first. Pass next_cursor "
         "back as cursor; save it with your state to resume.", schema((), **FEED), EVERYONE,
         t.changes_tool),
    Tool("claim_next", "Claim the best ready story in one step (no contract needed); answers "
         "the story and lease_token. Error no_ready_story: nothing to do.",
         schema((), **SCOPE), AGENT, t.claim_next_tool),
    Tool("contract_story", "Agree to a pending story before claim_story: echo its exact "
         "title and the number of acceptance criteria.",
         schema(("story_id", "story_title", "ac_count"), story_id=ID, story_title=STR,
                 ac_count=INT), AGENT, t.contract_tool),
    Tool("claim_story", "Take a contracted story; answers the lease_token to pass to "
         "later steps.", STORY_ONLY, AGENT, t.claim_tool),
    Tool("start_story", "Begin implementing a story you claimed.", LEASED, AGENT,
         t.leased("start")),
    Tool("heartbeat", "Extend your lease while you work, before lease_expires_at.", LEASED,
         AGENT, t.leased("heartbeat")),
    Tool("request_review", "Your last step as implementer: the work is ready for someone "
         "else to report and review. Never report your own story.", LEASED, AGENT,
         t.leased("request_review")),
    Tool("unclaim_story", "Give a story back (you cannot finish it).", LEASED, AGENT,
         t.leased("unclaim")),
    Tool("add_artifact", "Record evidence on a story: artifact_type (commit, file, pr, "
         "test_run) and path.", schema(("story_id", "artifact_type", "path"), story_id=ID,
                                         artifact_type=STR, path=STR), AGENT,
         t.add_artifact_tool),
    Tool("report_story", "Report another agent's implemented story as done (after their "
         "request_review). Refused with self_report_blocked for your own work.",
         schema(("story_id",), story_id=ID, artifact_type=STR, artifact_path=STR),
         EVERYONE, t.report_tool),
    Tool("review_complete", "Record your review of a reported story; every finding must be "
         "fixed or disproved. Required before verify_story.",
         schema(("story_id", "review_type"), story_id=ID, review_type=STR,
                 findings_count=INT, fixes_count=INT, disproved_count=INT, summary=STR),
         ORCH, t.review_complete_tool),
    Tool("verify_story", "Accept a reviewed story; give each criterion's result and evidence.",
         schema(("story_id",), story_id=ID, criteria=CRITERIA, summary=STR, review_type=STR,
                 result={"enum": ["pass", "partial"]}, commit_sha=STR), ORCH, t.verify_tool),
    Tool("reject_story", "Send a story back to pending with the reason it failed.",
         schema(("story_id", "reason"), story_id=ID, reason=STR, criteria=CRITERIA,
                 summary=STR, review_type=STR), ORCH, t.reject_tool),
    Tool("force_unclaim", "Take a story back from an agent that stalled or vanished.",
         STORY_ONLY, ORCH, t.force_unclaim_tool),
    Tool("verify_all_in_epic", "Verify every reported, reviewed story of an epic at once.",
         schema(("epic_id",), epic_id=ID, summary=STR, review_type=STR), ORCH,
         t.verify_all_tool),
    Tool("list_verifications", "Every verdict given on a story, newest first.", STORY_ONLY,
         ORCH, t.verifications_tool),
    Tool("save_state", "Checkpoint your orchestration state (any JSON object) and feed "
         "cursor. Pass the version you loaded; version_conflict means someone saved since.",
         schema(("project_id", "state_data"), project_id=ID, state_data={"type": "object"},
                 state_key=STATE_KEY, version=INT, cursor=STR), ORCH, t.save_state_tool),
    Tool("load_state", "Your latest checkpoint, to resume after a restart (then read "
         "get_changes from its cursor).", schema(("project_id",), project_id=ID,
                                                  state_key=STATE_KEY), ORCH, t.load_state_tool),
    Tool("list_state_history", "Earlier versions of a checkpoint, newest first.",
         schema(("project_id",), project_id=ID, state_key=STATE_KEY, **PAGE), ORCH,
         t.state_history_tool),
    Tool("record_event", "Log an event of your own work in the audit trail (event_type e.g. "
         "session_started, rule_violation).",
         schema(("event_type",), event_type=STR, project_id=ID, story_id=ID, summary=STR,
                 data={"type": "object"}), ORCH, t.record_event_tool),
    Tool("backfill_story", "Record work done before loopctl as done and verified "
         "(recorded as a backfill, never as agent-verified).",
         schema(("story_id", "reason"), story_id=ID, reason=STR, evidence=STR,
                 evidence_url=STR, pr_number={"type": "integer", "minimum": 1}), USER,
         t.backfill_tool),
)  # fmt: skip

BY_NAME = {tool.name: tool for tool in TOOLS}


def visible(role: str) -> list[Tool]:
    """The tools a key of ``role`` sees, in catalogue order."""
    return [tool for tool in TOOLS if role in tool.roles]
