"""`loopctl whoami` (and `auth whoami`): the key's role, agent and tenant, and where the
server, the key and the profile came from."""

from typing import Any

import typer

from loopctl.cli.output import Format
from loopctl.cli.remote import client_for, emit_for, format_for, profile, remote

KEY_FIELDS = ("id", "name", "key_prefix", "role", "status", "agent_id", "agent_name", "expires_at")
TENANT_FIELDS = ("id", "slug", "name", "status")


@remote
def whoami(ctx: typer.Context) -> None:
    """Show who the API key is: its role, its agent, its tenant, and where it was found."""
    with client_for(ctx) as client:
        tenant = client.get_tenant().model_dump(mode="json")
        key = client.get_my_api_key().model_dump(mode="json")
        chosen = profile(ctx)
        found = {
            "server": client.server.url,
            "server_source": client.server.source,
            "key_source": client.key_source,
            "profile": chosen.name if chosen else None,
            "default_project": client.default_project,
            "key": {name: key.get(name) for name in KEY_FIELDS},
            "tenant": {name: tenant.get(name) for name in TENANT_FIELDS},
        }
    if format_for(ctx) is Format.table:
        typer.echo(_text(found))
    else:
        emit_for(ctx, found)


def _text(found: dict[str, Any]) -> str:
    key, tenant = found["key"], found["tenant"]
    agent = f"{key['agent_name']} ({key['agent_id']})" if key["agent_id"] else "none (a user key)"
    return "\n".join(
        [
            f"role:    {key['role']}",
            f"agent:   {agent}",
            f"tenant:  {tenant['name']} ({tenant['slug']}, {tenant['id']})",
            f"key:     {key['key_prefix']}… {key['name']!r}, {key['status']}, "
            f"expires {key['expires_at'] or 'never'}",
            f"         from {found['key_source']}",
            f"server:  {found['server']} (from {found['server_source']})",
            f"profile: {found['profile'] or 'none'}; default project: "
            f"{found['default_project'] or 'none'}",
        ]
    )
