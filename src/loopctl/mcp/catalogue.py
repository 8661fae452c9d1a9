"""The tool list: name, when to use it, arguments, and the roles that see it."""

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
    Tool,
    add_artifact_tool,
    claim_next_tool,
    claim_tool,
    contract_tool,
    criteria_tool,
    force_unclaim_tool,
    get_story_tool,
    leased,
    list_artifacts_tool,
    list_projects_tool,
    list_stories_tool,
    progress_tool,
    ready_tool,
    reject_tool,
    report_tool,
    review_complete_tool,
    schema,
    verifications_tool,
    verify_all_tool,
    verify_tool,
)

SCOPE = {"project_id": ID, "epic_id": ID}
STATUS = {"agent_status": STR, "verified_status": STR}

TOOLS = (
    Tool("list_projects", "List projects (id, slug). Start here to find a project_id.",
         schema((), **PAGE), EVERYONE, list_projects_tool),
    Tool("list_stories", "List stories of a project, filtered by status. Paged: pass "
         "next_offset as offset.", schema((), **SCOPE, **STATUS, **PAGE), EVERYONE,
         list_stories_tool),
    Tool("list_ready_stories", "Stories whose dependencies are verified and nobody holds: "
         "what can be worked on now.", schema((), **SCOPE, **PAGE), EVERYONE, ready_tool),
    Tool("get_story", "One story in full: description, acceptance criteria (with ids), "
         "dependencies. Read before working on or judging it.", STORY_ONLY, EVERYONE,
         get_story_tool),
    Tool("get_progress", "A project's counts by status: how far along it is.",
         schema(("project_id",), project_id=ID), EVERYONE, progress_tool),
    Tool("list_artifacts", "The artifacts (commits, files, PRs) recorded on a story.",
         STORY_ONLY, EVERYONE, list_artifacts_tool),
    Tool("claim_next", "Claim the best ready story in one step (no contract needed); answers "
         "the story and lease_token. Error no_ready_story: nothing to do.",
         schema((), **SCOPE), AGENT, claim_next_tool),
    Tool("contract_story", "Agree to a pending story before claim_story: echo its exact "
         "title and the number of acceptance criteria.",
         schema(("story_id", "story_title", "ac_count"), story_id=ID, story_title=STR,
                 ac_count=INT), AGENT, contract_tool),
    Tool("claim_story", "Take a contracted story; answers the lease_token to pass to "
         "later steps.", STORY_ONLY, AGENT, claim_tool),
    Tool("start_story", "Begin implementing a story you claimed.", LEASED, AGENT,
         leased("start")),
    Tool("heartbeat", "Extend your lease while you work, before lease_expires_at.", LEASED,
         AGENT, leased("heartbeat")),
    Tool("request_review", "Your last step as implementer: the work is ready for someone "
         "else to report and review. Never report your own story.", LEASED, AGENT,
         leased("request_review")),
    Tool("unclaim_story", "Give a story back (you cannot finish it).", LEASED, AGENT,
         leased("unclaim")),
    Tool("add_artifact", "Record evidence on a story: artifact_type (commit, file, pr, "
         "test_run) and path.", schema(("story_id", "artifact_type", "path"), story_id=ID,
                                         artifact_type=STR, path=STR), AGENT, add_artifact_tool),
    Tool("report_story", "Report another agent's implemented story as done (after their "
         "request_review). Refused with self_report_blocked for your own work.",
         schema(("story_id",), story_id=ID, artifact_type=STR, artifact_path=STR),
         EVERYONE, report_tool),
    Tool("review_complete", "Record your review of a reported story; every finding must be "
         "fixed or disproved. Required before verify_story.",
         schema(("story_id", "review_type"), story_id=ID, review_type=STR,
                 findings_count=INT, fixes_count=INT, disproved_count=INT, summary=STR),
         ORCH, review_complete_tool),
    Tool("verify_story", "Accept a reviewed story; give each criterion's result and evidence.",
         schema(("story_id",), story_id=ID, criteria=CRITERIA, summary=STR, review_type=STR,
                 result={"enum": ["pass", "partial"]}, commit_sha=STR), ORCH, verify_tool),
    Tool("reject_story", "Send a story back to pending with the reason it failed.",
         schema(("story_id", "reason"), story_id=ID, reason=STR, criteria=CRITERIA,
                 summary=STR, review_type=STR), ORCH, reject_tool),
    Tool("force_unclaim", "Take a story back from an agent that stalled or vanished.",
         STORY_ONLY, ORCH, force_unclaim_tool),
    Tool("verify_all_in_epic", "Verify every reported, reviewed story of an epic at once.",
         schema(("epic_id",), epic_id=ID, summary=STR, review_type=STR), ORCH, verify_all_tool),
    Tool("list_verifications", "Every verdict given on a story, newest first.", STORY_ONLY,
         ORCH, verifications_tool),
    Tool("get_acceptance_criteria", "Each criterion of a story with its latest checked "
         "result and evidence.", STORY_ONLY, ORCH, criteria_tool),
)  # fmt: skip

BY_NAME = {tool.name: tool for tool in TOOLS}


def visible(role: str) -> list[Tool]:
    """The tools a key of ``role`` sees, in catalogue order."""
    return [tool for tool in TOOLS if role in tool.roles]
