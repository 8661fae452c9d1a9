"""Where the CLI's server URL, API key and profile come from: the client's rules
(client/sources.py, client/config.py).

A bad server URL or port, or an unknown profile, is a usage problem (exit 2); a config file
that cannot be read, or that other users could write, is a local failure (exit 1).
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from loopctl.cli.errors import CliError, UsageProblem
from loopctl.cli.exit_codes import ExitCode
from loopctl.client import config, sources
from loopctl.client.config import Profile
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
    "as_cli",
    "data_dir",
    "default_project",
    "find_key",
    "is_local",
    "profile_for",
    "resolve_server",
]

_LOCAL_FAILURES = {"unsafe_config", "bad_config"}


@contextmanager
def as_cli() -> Iterator[None]:
    """Configuration errors as CLI errors with their exit codes."""
    try:
        yield
    except ConfigurationError as exc:
        if exc.code in _LOCAL_FAILURES:
            raise CliError(exc.code, exc.message, exit_code=ExitCode.FAILURE) from None
        raise UsageProblem(exc.code, exc.message) from None


def resolve_server(
    flag: str | None, env: Mapping[str, str] | None = None, profile: Profile | None = None
) -> Server:
    with as_cli():
        return sources.resolve_server(flag, env, profile)


def profile_for(flag: str | None) -> Profile | None:
    """The profile in force (``--profile``, ``LOOPCTL_PROFILE``, default_profile), if any."""
    with as_cli():
        return config.active_profile(flag)
