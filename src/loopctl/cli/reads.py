"""Reads an agent needs: projects, stories, ready and blocked work, history, audit, artifacts."""

from typing import Annotated
from uuid import UUID

import typer

from loopctl.cli.options import ApiKeyOption, DataDirOption, ServerOption, TimeoutOption
from loopctl.cli.output import FormatOption, JsonFlag, chosen, emit
from loopctl.cli.remote import client_for

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
ProjectFilter = Annotated[
    UUID | None, typer.Option("--project", metavar="PROJECT_ID", help="Only this project.")
]
EpicFilter = Annotated[
    UUID | None, typer.Option("--epic", metavar="EPIC_ID", help="Only this epic.")
]


@projects.command("list")
def project_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="Only projects with this status.")] = None,
    include_archived: Annotated[
        bool, typer.Option("--include-archived", help="Also archived projects.")
    ] = False,
    limit: LimitOption = None,
    offset: OffsetOption = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """List the tenant's projects."""
    archived = True if include_archived else None
    with client_for(ctx, server, api_key, data_dir, timeout) as client:
        found = client.list_projects(
            limit=limit, offset=offset, status=status, include_archived=archived
        )
    emit(found, chosen(fmt, as_json), PROJECT_COLUMNS)


@projects.command("show")
def project_show(
    ctx: typer.Context,
    project_id: Annotated[UUID, typer.Argument(metavar="PROJECT_ID")],
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Show one project with its counts."""
    with client_for(ctx, server, api_key, data_dir, timeout) as client:
        found = client.get_project(project_id)
    emit(found, chosen(fmt, as_json))


@stories.command("list")
def story_list(
    ctx: typer.Context,
    project: Annotated[UUID, typer.Option("--project", metavar="PROJECT_ID", help="The project.")],
    epic: EpicFilter = None,
    agent_status: Annotated[str | None, typer.Option(help="Only this agent_status.")] = None,
    verified_status: Annotated[str | None, typer.Option(help="Only this verified_status.")] = None,
    assignee: Annotated[
        UUID | None, typer.Option(metavar="AGENT_ID", help="Only stories this agent holds.")
    ] = None,
    limit: LimitOption = None,
    offset: OffsetOption = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """List a project's stories, in plan order."""
    with client_for(ctx, server, api_key, data_dir, timeout) as client:
        found = client.list_stories(
            limit=limit,
            offset=offset,
            project_id=project,
            epic_id=epic,
            agent_status=agent_status,
            verified_status=verified_status,
            assignee=assignee,
        )
    emit(found, chosen(fmt, as_json), STORY_COLUMNS)


@stories.command("show")
def story_show(
    ctx: typer.Context,
    story_id: Annotated[UUID, typer.Argument(metavar="STORY_ID")],
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Show one story: its criteria, status and lease."""
    with client_for(ctx, server, api_key, data_dir, timeout) as client:
        found = client.get_story(story_id)
    emit(found, chosen(fmt, as_json))


def ready(
    ctx: typer.Context,
    project: ProjectFilter = None,
    epic: EpicFilter = None,
    limit: LimitOption = None,
    offset: OffsetOption = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Stories an agent can start now, across every active project unless narrowed."""
    with client_for(ctx, server, api_key, data_dir, timeout) as client:
        found = client.ready(project_id=project, epic_id=epic, limit=limit, offset=offset)
    emit(found, chosen(fmt, as_json), WORK_COLUMNS)


def blocked(
    ctx: typer.Context,
    project: ProjectFilter = None,
    epic: EpicFilter = None,
    limit: LimitOption = None,
    offset: OffsetOption = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Stories waiting on unfinished dependencies, with what blocks them."""
    with client_for(ctx, server, api_key, data_dir, timeout) as client:
        found = client.blocked(project_id=project, epic_id=epic, limit=limit, offset=offset)
    emit(found, chosen(fmt, as_json), (*WORK_COLUMNS, "blocked_by"))


def history(
    ctx: typer.Context,
    story_id: Annotated[UUID, typer.Argument(metavar="STORY_ID")],
    limit: LimitOption = None,
    offset: OffsetOption = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Every audit entry of one story, oldest first."""
    with client_for(ctx, server, api_key, data_dir, timeout) as client:
        found = client.story_history(story_id, limit=limit, offset=offset)
    emit(found, chosen(fmt, as_json), AUDIT_COLUMNS)


def audit(
    ctx: typer.Context,
    project: ProjectFilter = None,
    entity_type: Annotated[str | None, typer.Option(help="story, epic, project, …")] = None,
    entity_id: Annotated[UUID | None, typer.Option(help="Only entries about this entity.")] = None,
    action: Annotated[str | None, typer.Option(help="created, verified, …")] = None,
    actor: Annotated[UUID | None, typer.Option(help="An agent id or an API key id.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="At or after (ISO 8601).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="At or before (ISO 8601).")] = None,
    limit: LimitOption = None,
    offset: OffsetOption = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Search the tenant's audit log, newest first (user key)."""
    with client_for(ctx, server, api_key, data_dir, timeout) as client:
        found = client.search_audit(
            limit=limit,
            offset=offset,
            start=start,
            end=end,
            project_id=project,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            actor=actor,
        )
    emit(found, chosen(fmt, as_json), AUDIT_COLUMNS)
