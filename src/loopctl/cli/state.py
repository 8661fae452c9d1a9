"""Orchestrator checkpoints (``state save|load|history``) and ``audit event``.

A checkpoint is a JSON object an orchestrator saves per project (and ``--name``, default
main) to resume from; every save is a new version. ``save --version N`` says which version
you read: if another save came first the server refuses it (409 ``version_conflict``, exit
6) instead of losing that save; no ``--version`` creates the first one.
"""

import functools
from collections.abc import Callable
from typing import Annotated, Any

import typer

from loopctl.cli import handles
from loopctl.cli.handles import OptionalProjectArgument, ProjectOption
from loopctl.cli.inputs import json_object
from loopctl.cli.output import Format, emit
from loopctl.cli.reads import LimitOption, OffsetOption
from loopctl.cli.remote import client_for, emit_for, format_for, remote

HISTORY_COLUMNS = ("version", "saved_at", "saved_by", "cursor", "state_data")

state = typer.Typer(help="Orchestrator checkpoints: save, load, history.", no_args_is_help=True)
NameOption = Annotated[
    str | None,
    typer.Option("--name", metavar="NAME", help="Which checkpoint.", show_default="main"),
]


@state.command("save")
@remote
def state_save(
    ctx: typer.Context,
    project: OptionalProjectArgument = None,
    data: Annotated[
        str,
        typer.Option(
            "--data", "-d", metavar="JSON", help="The state: a JSON object, @FILE or - (stdin)."
        ),
    ] = "-",
    version: Annotated[
        int | None,
        typer.Option(min=0, help="The version you read (none: create the first version)."),
    ] = None,
    cursor: Annotated[
        str | None,
        typer.Option(help="The change-feed cursor to resume from, saved with the state."),
    ] = None,
    name: NameOption = None,
) -> None:
    """Save the next version of a checkpoint (orchestrator or user key)."""
    body = json_object(data, "--data")
    with client_for(ctx) as client:
        found = client.save_state(
            handles.project_id(client, project),
            body,
            state_key=name,
            version=version,
            cursor=cursor,
        )
    emit_for(ctx, found)


@state.command("load")
@remote
def state_load(
    ctx: typer.Context,
    project: OptionalProjectArgument = None,
    name: NameOption = None,
    data_only: Annotated[
        bool, typer.Option("--data-only", help="Print only the state's JSON object.")
    ] = False,
) -> None:
    """The latest version of a checkpoint (404 before the first save: exit 5)."""
    with client_for(ctx) as client:
        found = client.get_state(handles.project_id(client, project), state_key=name)
    if data_only:
        fmt = format_for(ctx)
        emit(found.state_data, Format.json if fmt is Format.table else fmt)
    else:
        emit_for(ctx, found)


@state.command("history")
@remote
def state_history(
    ctx: typer.Context,
    project: OptionalProjectArgument = None,
    name: NameOption = None,
    limit: LimitOption = None,
    offset: OffsetOption = None,
) -> None:
    """Every saved version of a checkpoint, newest first."""
    with client_for(ctx) as client:
        found = client.state_history(
            handles.project_id(client, project), state_key=name, limit=limit, offset=offset
        )
    emit_for(ctx, found, HISTORY_COLUMNS)


@remote
def audit_event(
    ctx: typer.Context,
    event_type: Annotated[
        str, typer.Argument(metavar="TYPE", help="What happened: session_started, …")
    ],
    project: ProjectOption = None,
    story: Annotated[
        str | None, typer.Option("--story", metavar="STORY", help=handles.STORY_HELP)
    ] = None,
    summary: Annotated[str | None, typer.Option(help="One line for people.")] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", "-d", metavar="JSON", help="Details: a JSON object, @FILE or -."),
    ] = None,
) -> None:
    """Record an event of your own work in the audit log (orchestrator or user key)."""
    details = json_object(data, "--data") if data is not None else None
    with client_for(ctx) as client:
        project_id = handles.project_id(client, project) if project else None
        story_id = handles.story_id(client, story, project) if story else None
        found = client.report_event(
            event_type, project_id=project_id, story_id=story_id, summary=summary, data=details
        )
    emit_for(ctx, found)


def audit_group(search: Callable[..., None]) -> typer.Typer:
    """``audit`` searches the log (``search``, cli/reads.py); ``audit event`` writes to it."""

    @functools.wraps(search)
    def search_unless_event(*args: Any, **kwargs: Any) -> None:
        ctx: typer.Context = kwargs["ctx"]
        if ctx.invoked_subcommand is None:
            search(*args, **kwargs)

    group = typer.Typer(invoke_without_command=True, no_args_is_help=False)
    group.callback(
        help="Search the tenant's audit log, newest first (user key); `audit event TYPE` "
        "records an orchestrator's event."
    )(search_unless_event)
    group.command("event")(audit_event)
    return group
