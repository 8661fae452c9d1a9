"""`loopctl whoami`: the key's role, agent and tenant, and where the key came from."""

import json
import sys
from typing import Any

import typer

from loopctl.cli.options import (
    ApiKeyOption,
    DataDirOption,
    JsonOption,
    ServerOption,
    TimeoutOption,
    connect,
)

KEY_FIELDS = ("id", "name", "key_prefix", "role", "status", "agent_id", "agent_name", "expires_at")
TENANT_FIELDS = ("id", "slug", "name", "status")


def whoami(
    ctx: typer.Context,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    timeout: TimeoutOption = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Show who the API key is: its role, its agent, its tenant, and where it was found."""
    with connect(ctx, server, api_key, data_dir, timeout) as client:
        tenant = client.request("GET", "/api/v1/tenants/me")["data"]
        key = client.request("GET", "/api/v1/api_keys/me")["data"]
        assert client.key is not None  # connect() refuses to go on without one
        found = {
            "server": client.server.url,
            "server_source": client.server.source,
            "key_source": client.key.source,
            "key": {name: key.get(name) for name in KEY_FIELDS},
            "tenant": {name: tenant.get(name) for name in TENANT_FIELDS},
        }
    if as_json or not sys.stdout.isatty():
        typer.echo(json.dumps(found, indent=2))
    else:
        typer.echo(_text(found))


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
        ]
    )
