"""The implementer's side of the story loop: next/claim-next, contract, claim, start,
heartbeat, request-review, unclaim (docs/progress.md has the states and who may do what)."""

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

import typer

from loopctl.cli.options import ApiKeyOption, DataDirOption, ServerOption, TimeoutOption
from loopctl.cli.output import FormatOption, JsonFlag, chosen, emit
from loopctl.cli.remote import client_for

StoryArgument = Annotated[UUID, typer.Argument(metavar="STORY_ID")]
LeaseOption = Annotated[
    int | None,
    typer.Option(
        "--lease-token",
        metavar="TOKEN",
        help="The claim's lease.token: a stale holder's write then fails with lease_lost.",
    ),
]


def claim_next(
    ctx: typer.Context,
    project: Annotated[
        UUID | None, typer.Option("--project", metavar="PROJECT_ID", help="Only this project.")
    ] = None,
    epic: Annotated[
        UUID | None, typer.Option("--epic", metavar="EPIC_ID", help="Only this epic.")
    ] = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Claim the best ready story (exit 5, no_ready_story, when there is none)."""
    with client_for(ctx, server, api_key, data_dir, timeout) as client:
        claimed = client.claim_next(project_id=project, epic_id=epic)
    emit(claimed, chosen(fmt, as_json))


def contract(
    ctx: typer.Context,
    story_id: StoryArgument,
    story_title: Annotated[
        str | None, typer.Option("--story-title", help="The story's title, echoed.")
    ] = None,
    ac_count: Annotated[
        int | None, typer.Option("--ac-count", help="How many acceptance criteria it has.")
    ] = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Agree to a story's contract (agent key)."""
    with client_for(ctx, server, api_key, data_dir, timeout) as client:
        done = client.contract(story_id, story_title=story_title, ac_count=ac_count)
    emit(done, chosen(fmt, as_json))


def claim(
    ctx: typer.Context,
    story_id: StoryArgument,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Take a contracted story; the answer carries the lease."""
    with client_for(ctx, server, api_key, data_dir, timeout) as client:
        done = client.claim(story_id)
    emit(done, chosen(fmt, as_json))


def _leased_step(action: str, doc: str) -> Callable[..., None]:
    """A command sending one lease-guarded transition (start, heartbeat, …)."""

    def step(
        ctx: typer.Context,
        story_id: StoryArgument,
        lease_token: LeaseOption = None,
        fmt: FormatOption = None,
        as_json: JsonFlag = False,
        server: ServerOption = None,
        api_key: ApiKeyOption = None,
        data_dir: DataDirOption = None,
        timeout: TimeoutOption = 30.0,
    ) -> None:
        with client_for(ctx, server, api_key, data_dir, timeout) as client:
            done = getattr(client, action)(story_id, lease_token=lease_token)
        emit(done, chosen(fmt, as_json))

    step.__doc__ = doc
    step.__name__ = action
    return step


start = _leased_step("start", "Start work on a claimed story.")
heartbeat = _leased_step("heartbeat", "Extend the lease by the tenant's lease TTL.")
request_review = _leased_step("request_review", "Hand the work over for review.")
unclaim = _leased_step("unclaim", "Give a claimed story back.")


def register(app: typer.Typer) -> None:
    """Add the implementer's commands to the root command."""
    app.command("next")(claim_next)
    app.command("claim-next")(claim_next)
    app.command()(contract)
    app.command()(claim)
    app.command()(start)
    app.command()(heartbeat)
    app.command("request-review")(request_review)
    app.command()(unclaim)
