"""Reads an agent needs: projects, stories, ready and blocked work, history, audit, artifacts."""

from typing import Annotated
from uuid import UUID

import typer

from loopctl.cli import handles
from loopctl.cli.handles import EpicOption, OptionalProjectArgument, ProjectOption, StoryWords
from loopctl.cli.remote import client_for, emit_for, remote

PROJECT_COLUMNS = ("id", "slug", "name", "status")
STORY_COLUMNS = ("id", "number", "title", "agent_status", "verified_status", "assigned_agent_id")
WORK_COLUMNS = ("id", "project_id", "epic_number", "number", "title", "agent_status")
AUDIT_COLUMNS = ("created_at", "entity_type", "entity_id", "action", "actor_label")

projects = typer.Typer(help="Projects: list and show.", no_args_is_help=True)
stories = typer.Typer(help="Stories: list and show.", no_args_is_help=True)

LimitOption = Annotated[
    int | None, typer.Option("--limit", min=1, help="At most this many.", show_default="server's")
]
OffsetOption = Annotated[int | None, typer.Option("--offset", min=0, help="Skip this many.")]


@projects.command("list")
@remote
def project_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="Only projects with this status.")] = None,
    include_archived: Annotated[
        bool, typer.Option("--include-archived", help="Also archived projects.")
    ] = False,
    limit: LimitOption = None,
    offset: OffsetOption = None,
) -> None:
    """List the tenant's projects."""
    archived = True if include_archived else None
    with client_for(ctx) as client:
        found = client.list_projects(
            limit=limit, offset=offset, status=status, include_archived=archived
        )
    emit_for(ctx, found, PROJECT_COLUMNS)


@projects.command("show")
@remote
def project_show(
    ctx: typer.Context,
    project: OptionalProjectArgument = None,
) -> None:
    """Show one project with its counts."""
    with client_for(ctx) as client:
        found = client.get_project(handles.project_id(client, project))
    emit_for(ctx, found)


@stories.command("list")
@remote
def story_list(
    ctx: typer.Context,
    project: ProjectOption = None,
    epic: EpicOption = None,
    agent_status: Annotated[str | None, typer.Option(help="Only this agent_status.")] = None,
    verified_status: Annotated[str | None, typer.Option(help="Only this verified_status.")] = None,
    assignee: Annotated[
        UUID | None, typer.Option(metavar="AGENT_ID", help="Only stories this agent holds.")
    ] = None,
    limit: LimitOption = None,
    offset: OffsetOption = None,
) -> None:
    """List a project's stories, in plan order."""
    if project is None and epic is not None:  # --epic shop/1 names the project too
        project = handles.parse_epic(epic).project
    with client_for(ctx) as client:
        project_id = handles.project_id(client, project)
        found = client.list_stories(
            limit=limit,
            offset=offset,
            project_id=project_id,
            epic_id=handles.epic_id(client, epic, project) if epic else None,
            agent_status=agent_status,
            verified_status=verified_status,
            assignee=assignee,
        )
    emit_for(ctx, found, STORY_COLUMNS)


@stories.command("show")
@remote
def story_show(
    ctx: typer.Context,
    story: StoryWords,
) -> None:
    """Show one story: its criteria, status and lease."""
    with client_for(ctx) as client:
        found = client.get_story(handles.story_id(client, *handles.story_words(story)))
    emit_for(ctx, found)


@remote
def ready(
    ctx: typer.Context,
    project: ProjectOption = None,
    epic: EpicOption = None,
    limit: LimitOption = None,
    offset: OffsetOption = None,
) -> None:
    """Stories an agent can start now, across every active project unless narrowed."""
    with client_for(ctx) as client:
        project_id, epic_id = handles.filters(client, project, epic)
        found = client.ready(project_id=project_id, epic_id=epic_id, limit=limit, offset=offset)
    emit_for(ctx, found, WORK_COLUMNS)


@remote
def blocked(
    ctx: typer.Context,
    project: ProjectOption = None,
    epic: EpicOption = None,
    limit: LimitOption = None,
    offset: OffsetOption = None,
) -> None:
    """Stories waiting on unfinished dependencies, with what blocks them."""
    with client_for(ctx) as client:
        project_id, epic_id = handles.filters(client, project, epic)
        found = client.blocked(project_id=project_id, epic_id=epic_id, limit=limit, offset=offset)
    emit_for(ctx, found, (*WORK_COLUMNS, "blocked_by"))


@remote
def history(
    ctx: typer.Context,
    story: StoryWords,
    limit: LimitOption = None,
    offset: OffsetOption = None,
) -> None:
    """Every audit entry of one story, oldest first."""
    with client_for(ctx) as client:
        story_id = handles.story_id(client, *handles.story_words(story))
        found = client.story_history(story_id, limit=limit, offset=offset)
    emit_for(ctx, found, AUDIT_COLUMNS)


@remote
def audit(
    ctx: typer.Context,
    project: ProjectOption = None,
    entity_type: Annotated[str | None, typer.Option(help="story, epic, project, …")] = None,
    entity_id: Annotated[UUID | None, typer.Option(help="Only entries about this entity.")] = None,
    action: Annotated[str | None, typer.Option(help="created, verified, …")] = None,
    actor: Annotated[UUID | None, typer.Option(help="An agent id or an API key id.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="At or after (ISO 8601).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="At or before (ISO 8601).")] = None,
    limit: LimitOption = None,
    offset: OffsetOption = None,
) -> None:
    """Search the tenant's audit log, newest first (user key)."""
    with client_for(ctx) as client:
        found = client.search_audit(
            limit=limit,
            offset=offset,
            start=start,
            end=end,
            project_id=handles.project_id(client, project) if project else None,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            actor=actor,
        )
    emit_for(ctx, found, AUDIT_COLUMNS)
