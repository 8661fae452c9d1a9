"""The tenant, its API keys and its agents: ``tenant``, ``keys`` and ``agent`` commands."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

import typer

from loopctl.cli.errors import UsageProblem
from loopctl.cli.inputs import YesOption, aware, confirm, json_object, note, pairs
from loopctl.cli.output import Format
from loopctl.cli.reads import LimitOption, OffsetOption
from loopctl.cli.remote import client_for, emit_for, format_for, remote

KEY_COLUMNS = ("id", "name", "role", "key_prefix", "agent_name", "status", "expires_at")
AGENT_COLUMNS = ("id", "name", "agent_type", "model", "provider", "last_seen_at")
ONCE = "Store this key now: it is not shown again."

tenant = typer.Typer(help="Your tenant: show it, change its name, email or settings.")
keys = typer.Typer(help="API keys: create, list, revoke, rotate (user key).")
agents = typer.Typer(help="Agents: register, list, show.")

KeyId = Annotated[UUID, typer.Argument(metavar="KEY_ID", help="The key's id (keys list).")]
Expiry = Annotated[
    datetime | None,
    typer.Option(
        "--expires-at",
        metavar="TIME",
        help="When the key stops working (ISO 8601; UTC without an offset).",
    ),
]


@tenant.command("show")
@remote
def tenant_show(ctx: typer.Context) -> None:
    """Show the key's tenant: its settings and limits."""
    with client_for(ctx) as client:
        found = client.get_tenant()
    emit_for(ctx, found)


@tenant.command("update")
@remote
def tenant_update(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    email: Annotated[str | None, typer.Option(help="A new contact email ('' clears it).")] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--setting",
            "-s",
            metavar="NAME=VALUE",
            help="Change one setting (repeatable); VALUE is read as JSON where it parses "
            "(true, 3600), else as text.",
        ),
    ] = None,
    settings: Annotated[
        str | None,
        typer.Option(metavar="JSON", help="Settings as a JSON object, @FILE or - (stdin)."),
    ] = None,
) -> None:
    """Change the tenant's name, email or settings (user key); only what you give changes."""
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = name
    if email is not None:
        changes["email"] = email or None
    given = {**(json_object(settings, "--settings") if settings else {})}
    given.update(pairs(setting or [], "--setting"))
    if given:
        changes["settings"] = given
    if not changes:
        raise UsageProblem("nothing_to_change", "give --name, --email, --setting or --settings")
    with client_for(ctx) as client:
        found = client.update_tenant(**changes)
    emit_for(ctx, found)


@keys.command("create")
@remote
def key_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="What the key is for.")],
    role: Annotated[str, typer.Option(help="user, orchestrator or agent (not above yours).")],
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            metavar="NAME|ID",
            help="Agent and orchestrator keys: the agent the key acts as (a name is created "
            "if new).",
        ),
    ] = None,
    expires_at: Expiry = None,
) -> None:
    """Create a key. The key itself is printed this once: store it."""
    bound: dict[str, object] = {}
    if agent is not None:
        try:
            bound["agent_id"] = UUID(agent)
        except ValueError:
            bound["agent_name"] = agent
    if expires_at is not None:
        bound["expires_at"] = aware(expires_at).isoformat()
    with client_for(ctx) as client:
        created = client.create_api_key(name, role, **bound)
    emit_for(ctx, created)
    if format_for(ctx) is not Format.json:
        note(ONCE)


@keys.command("list")
@remote
def key_list(
    ctx: typer.Context,
    role: Annotated[str | None, typer.Option(help="Only keys of this role.")] = None,
    include_revoked: Annotated[
        bool, typer.Option("--include-revoked", help="Also revoked keys.")
    ] = False,
    limit: LimitOption = None,
    offset: OffsetOption = None,
) -> None:
    """List the tenant's keys (never the keys themselves: their prefixes)."""
    revoked = True if include_revoked else None
    with client_for(ctx) as client:
        found = client.list_api_keys(limit=limit, offset=offset, role=role, include_revoked=revoked)
    emit_for(ctx, found, KEY_COLUMNS)


@keys.command("revoke")
@remote
def key_revoke(ctx: typer.Context, key_id: KeyId, yes: YesOption = False) -> None:
    """Revoke a key: it stops working at once."""
    confirm(f"Revoke key {key_id}?", yes)
    with client_for(ctx) as client:
        found = client.revoke_api_key(key_id)
    emit_for(ctx, found)


@keys.command("rotate")
@remote
def key_rotate(
    ctx: typer.Context,
    key_id: KeyId,
    grace_hours: Annotated[
        int | None,
        typer.Option(
            "--grace-hours",
            min=0,
            max=168,
            help="How long the old key keeps working.",
            show_default="the tenant's setting",
        ),
    ] = None,
    expires_at: Expiry = None,
    yes: YesOption = False,
) -> None:
    """Replace a key with a new one (printed this once); the old one works for the grace period."""
    confirm(f"Rotate key {key_id}?", yes)
    extra: dict[str, object] = {}
    if grace_hours is not None:
        extra["grace_period_hours"] = grace_hours
    if expires_at is not None:
        extra["expires_at"] = aware(expires_at).isoformat()
    with client_for(ctx) as client:
        rotated = client.rotate_api_key(key_id, **extra)
    if format_for(ctx) is Format.json:
        emit_for(ctx, rotated)
        return
    emit_for(ctx, rotated.new_key)
    note(
        f"{ONCE} The old key ({rotated.old_key.key_prefix}…) works until "
        f"{rotated.old_key.expires_at}."
    )


@agents.command("register")
@remote
def agent_register(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Unique in the tenant.")],
    agent_type: Annotated[
        str, typer.Option("--type", help="implementer or orchestrator.")
    ] = "implementer",
    model: Annotated[str | None, typer.Option(help="The model it runs.")] = None,
    provider: Annotated[str | None, typer.Option(help="The model's provider.")] = None,
    metadata: Annotated[
        str | None, typer.Option(metavar="JSON", help="A JSON object, @FILE or -.")
    ] = None,
) -> None:
    """Register an agent; keys are then bound to it (keys create --agent)."""
    extra: dict[str, object] = {"agent_type": agent_type, "model": model, "provider": provider}
    if metadata is not None:
        extra["metadata"] = json_object(metadata, "--metadata")
    with client_for(ctx) as client:
        found = client.register_agent(name, **extra)
    emit_for(ctx, found)


@agents.command("list")
@remote
def agent_list(
    ctx: typer.Context,
    agent_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    limit: LimitOption = None,
    offset: OffsetOption = None,
) -> None:
    """List the tenant's agents."""
    with client_for(ctx) as client:
        found = client.list_agents(limit=limit, offset=offset, agent_type=agent_type)
    emit_for(ctx, found, AGENT_COLUMNS)


@agents.command("show")
@remote
def agent_show(
    ctx: typer.Context, agent_id: Annotated[UUID, typer.Argument(metavar="AGENT_ID")]
) -> None:
    """Show one agent."""
    with client_for(ctx) as client:
        found = client.get_agent(agent_id)
    emit_for(ctx, found)
