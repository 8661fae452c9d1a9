"""Where the server URL and the API key come from, and the name of each source.

Shared by the client (``Client.from_env``) and the CLI (cli/sources.py), so both look in the
same places in the same order.

Server: ``--server``, else ``LOOPCTL_SERVER``, else the profile's ``server`` (client/config.py),
else the local server that ``loopctl serve`` runs with the same environment
(``LOOPCTL_HOST``/``LOOPCTL_PORT``, as platform/config.py reads them). Key: ``--api-key``,
else ``LOOPCTL_API_KEY``, ``LOOPCTL_AGENT_KEY``, ``LOOPCTL_ORCH_KEY``, ``LOOPCTL_USER_KEY``
(the first one set), else the profile's ``api_key`` (only towards the profile's own server),
else, for a server on this machine, the key ``loopctl serve`` saved in
``<data dir>/local-user-key``. Project: ``LOOPCTL_PROJECT``, else the profile's ``project``.
"""

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from loopctl.client.config import Profile
from loopctl.client.errors import ConfigurationError
from loopctl.platform.config import default_data_dir

# The file `loopctl serve` saves the local user's key in (database/embedded.py writes it).
LOCAL_KEY = "local-user-key"
DEFAULT_PORT = 4000
KEY_VARIABLES = ("LOOPCTL_API_KEY", "LOOPCTL_AGENT_KEY", "LOOPCTL_ORCH_KEY", "LOOPCTL_USER_KEY")
KEY_FLAG = "--api-key"
SERVER_DEFAULT_HELP = f"http://127.0.0.1:$LOOPCTL_PORT, port {DEFAULT_PORT} if unset"
# The addresses that make serve listen on every interface.
_WILDCARDS = {"", "0.0.0.0", "::"}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class Server:
    url: str
    source: str


@dataclass(frozen=True)
class ApiKey:
    value: str
    source: str

    def __repr__(self) -> str:
        # Never let a traceback or a debug print show the key.
        return f"ApiKey(source={self.source!r})"


def _local_url(env: Mapping[str, str]) -> Server:
    raw_port = env.get("LOOPCTL_PORT", "").strip() or str(DEFAULT_PORT)
    if not raw_port.isdigit() or not 1 <= int(raw_port) <= 65535:
        raise ConfigurationError(
            "bad_environment", f"LOOPCTL_PORT must be 1-65535, not {raw_port!r}"
        )
    host = env.get("LOOPCTL_HOST", "").strip()
    # serve listening on every address is reached on loopback.
    host = "127.0.0.1" if host in _WILDCARDS else host
    if ":" in host:
        host = f"[{host}]"
    source = "LOOPCTL_PORT" if "LOOPCTL_PORT" in env else "the default local server"
    return Server(f"http://{host}:{int(raw_port)}", source)


def checked_url(url: str, source: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            "bad_server_url", f"the server URL from {source} must be http(s)://host[:port]"
        )
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ConfigurationError(
            "bad_server_url", f"the server URL from {source} has a bad port"
        ) from None
    return url.strip().rstrip("/")


def resolve_server(
    flag: str | None, env: Mapping[str, str] | None = None, profile: Profile | None = None
) -> Server:
    env = os.environ if env is None else env
    if flag:
        return Server(checked_url(flag, "--server"), "--server")
    if env.get("LOOPCTL_SERVER", "").strip():
        return Server(checked_url(env["LOOPCTL_SERVER"], "LOOPCTL_SERVER"), "LOOPCTL_SERVER")
    if profile is not None and profile.server:
        return Server(checked_url(profile.server, profile.source), profile.source)
    return _local_url(env)


def is_local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host in _LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def data_dir(flag: Path | None, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if flag is not None:
        return flag
    return Path(env["LOOPCTL_DATA_DIR"]) if env.get("LOOPCTL_DATA_DIR") else default_data_dir()


def default_project(
    env: Mapping[str, str] | None = None, profile: Profile | None = None
) -> str | None:
    """The project a handle without one means: ``LOOPCTL_PROJECT``, else the profile's."""
    env = os.environ if env is None else env
    return env.get("LOOPCTL_PROJECT", "").strip() or (profile.project if profile else None)


def _profile_key(profile: Profile, server: Server, tried: list[str]) -> ApiKey | None:
    """The profile's key, if it has one and the server is the profile's (or it names none)."""
    if not profile.api_key:
        tried.append(f"{profile.source} (no api_key)")
        return None
    if profile.server and checked_url(profile.server, profile.source) != server.url:
        tried.append(f"{profile.source} (not used: its key is for {profile.server})")
        return None
    return ApiKey(profile.api_key, profile.source)


@dataclass(frozen=True)
class KeyLookup:
    """The key found, if any, and every source looked at in order (for the error message)."""

    key: ApiKey | None
    tried: list[str]


def _given(value: str, source: str) -> str:
    if not value.strip():
        raise ConfigurationError(
            "empty_api_key",
            f"{source} is empty; give a key, or leave the option out to use the next source",
        )
    return value.strip()


def find_key(
    flag: str | None,
    server: Server,
    saved_dir: Path,
    env: Mapping[str, str] | None = None,
    profile: Profile | None = None,
) -> KeyLookup:
    env = os.environ if env is None else env
    tried = [KEY_FLAG]
    # A flag given but blank is refused, not skipped: `--key "$ORCH_KEY"` with the variable
    # unset must not quietly act as the next identity found (another role, or the local
    # server's user key). An empty variable counts as unset: MCP client configurations
    # write `${LOOPCTL_API_KEY:-}` (.mcp.json).
    if flag is not None:
        return KeyLookup(ApiKey(_given(flag, KEY_FLAG), KEY_FLAG), tried)
    for name in KEY_VARIABLES:
        tried.append(name)
        if env.get(name, "").strip():
            return KeyLookup(ApiKey(env[name].strip(), name), tried)
    if profile is not None:
        found = _profile_key(profile, server, tried)
        if found is not None:
            return KeyLookup(found, tried)
    saved = saved_dir / LOCAL_KEY
    if not is_local(server.url):
        tried.append(f"{saved} (not read: {server.url} is not on this machine)")
        return KeyLookup(None, tried)
    try:
        value = saved.read_text().strip()
    except FileNotFoundError:
        tried.append(f"{saved} (no such file)")
        return KeyLookup(None, tried)
    except OSError as exc:
        tried.append(f"{saved} ({exc.strerror or type(exc).__name__})")
        return KeyLookup(None, tried)
    if not value:
        tried.append(f"{saved} (empty)")
        return KeyLookup(None, tried)
    return KeyLookup(ApiKey(value, str(saved)), tried)
