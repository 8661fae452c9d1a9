"""Where the CLI's server URL and API key come from: the client's rules (client/sources.py).

The CLI reports a bad server URL or port as a usage problem (exit 2).
"""

from collections.abc import Mapping

from loopctl.cli.errors import UsageProblem
from loopctl.client import sources
from loopctl.client.errors import ConfigurationError
from loopctl.client.sources import (
    KEY_FLAG,
    KEY_VARIABLES,
    SERVER_DEFAULT_HELP,
    ApiKey,
    KeyLookup,
    Server,
    data_dir,
    default_project,
    find_key,
    is_local,
)

__all__ = [
    "KEY_FLAG",
    "KEY_VARIABLES",
    "SERVER_DEFAULT_HELP",
    "ApiKey",
    "KeyLookup",
    "Server",
    "data_dir",
    "default_project",
    "find_key",
    "is_local",
    "resolve_server",
]


def resolve_server(flag: str | None, env: Mapping[str, str] | None = None) -> Server:
    try:
        return sources.resolve_server(flag, env)
    except ConfigurationError as exc:
        raise UsageProblem(exc.code, exc.message) from None
