"""``changes``: the tenant's change feed, one page or followed live (``--follow``).

A page prints as the API's (``data`` and ``meta.next_cursor``); pass the cursor back with
``--cursor`` to read what follows. ``--follow`` keeps a stream open
(``GET /api/v1/changes/stream``) and prints each event as it comes: one JSON object per
line for agents, one line of text for people; it reconnects after the last event it printed.
Without ``--cursor`` or ``--since`` it starts now.
"""

import json
import sys
from collections.abc import Generator
from contextlib import closing
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from loopctl.cli import handles
from loopctl.cli.exit_codes import ExitCode
from loopctl.cli.handles import ProjectOption
from loopctl.cli.inputs import aware, note
from loopctl.cli.output import Format, emit
from loopctl.cli.remote import client_for, format_for, remote
from loopctl.client import RetryPolicy
from loopctl.client.feed_calls import ChangeEvent

FEED_COLUMNS = ("cursor", "created_at", "entity_type", "entity_id", "action", "actor_label")
# A server restart takes seconds; keep trying for about a minute before giving up.
FOLLOW_RETRY = RetryPolicy(attempts=10, initial=0.5, maximum=10.0)


def _line(event: ChangeEvent, fmt: Format) -> str:
    row = event.model_dump(mode="json")
    if fmt is Format.json:
        return json.dumps(row, separators=(",", ":"))
    if fmt is Format.csv:
        return ",".join(_csv_cell(row.get(name)) for name in FEED_COLUMNS)
    what = f"{row['entity_type']} {row['entity_id']}"
    return f"{row['created_at']}  {row['action']:<16} {what}  by {row['actor_label']}"


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _print_live(
    events: Generator[ChangeEvent, None, None], fmt: Format, max_events: int | None
) -> None:
    if fmt is Format.csv:
        typer.echo(",".join(FEED_COLUMNS))
    with closing(events):  # leaving closes the stream at once
        try:
            for printed, event in enumerate(events, 1):
                typer.echo(_line(event, fmt))  # click.echo flushes: each line leaves at once
                if max_events is not None and printed >= max_events:
                    return
        except KeyboardInterrupt:
            # Ctrl-C is how a person stops following: the documented exit, no traceback.
            raise typer.Exit(ExitCode.INTERRUPTED) from None


@remote
def changes(
    ctx: typer.Context,
    cursor: Annotated[
        str | None, typer.Option(help="Read after this cursor (a page's meta.next_cursor).")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(help="Without --cursor: from this time on (ISO 8601; UTC without an offset)."),
    ] = None,
    project: ProjectOption = None,
    entity_type: Annotated[str | None, typer.Option(help="story, epic, project, …")] = None,
    action: Annotated[str | None, typer.Option(help="created, claimed, verified, …")] = None,
    limit: Annotated[int | None, typer.Option(min=1, max=1000, help="Events in the page.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-F", help="Stay connected and print events as they come.")
    ] = False,
    max_events: Annotated[
        int | None,
        typer.Option("--max-events", min=1, help="With --follow: stop after this many."),
    ] = None,
) -> None:
    """The tenant's changes in commit order: a page, or live with --follow."""
    fmt = format_for(ctx)
    since = aware(since) if since is not None else None
    with client_for(ctx) as client:
        filters = {
            "project_id": handles.project_id(client, project) if project else None,
            "entity_type": entity_type,
            "action": action,
        }
        filters = {k: v for k, v in filters.items() if v is not None}
        if follow:
            start = since if (since or cursor) else datetime.now(UTC)
            note(f"following changes from {cursor or start} (Ctrl-C stops)")
            events = client.follow_changes(
                cursor=cursor, since=start, retry=FOLLOW_RETRY, **filters
            )
            _print_live(events, fmt, max_events)
            return
        page = client.changes(cursor=cursor, since=since, limit=limit, **filters)
    if fmt is Format.json:
        emit(page, fmt)
    else:
        emit(page.data, fmt, FEED_COLUMNS, caption=f"next cursor: {page.meta.next_cursor}")
        if fmt is Format.csv:
            print(f"# next cursor: {page.meta.next_cursor}", file=sys.stderr)
