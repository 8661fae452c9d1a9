"""The config file: named profiles of server, key, default project and output format.

``$LOOPCTL_CONFIG``, else ``$XDG_CONFIG_HOME/loopctl/config.toml``, else
``~/.config/loopctl/config.toml``::

    default_profile = "work"

    [profiles.work]
    server = "https://loopctl.example.com"
    api_key = "lc_…"
    project = "shop"
    format = "table"

It holds keys, so it is written 0600 (atomically: a temporary file renamed over it) in a
directory made 0700, and a file that another user could write is refused rather than read:
whoever can write it chooses the server the key is sent to.
"""

import json
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopctl.client.errors import ConfigurationError

CONFIG_VARIABLE = "LOOPCTL_CONFIG"
PROFILE_VARIABLE = "LOOPCTL_PROFILE"
FIELDS = ("server", "api_key", "project", "format")
FORMATS = ("json", "table", "csv")
PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
FALLBACK_PROFILE = "default"


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(CONFIG_VARIABLE, "").strip():
        return Path(env[CONFIG_VARIABLE]).expanduser()
    base = env.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "loopctl" / "config.toml"


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    server: str | None = None
    api_key: str | None = None
    project: str | None = None
    format: str | None = None

    def __repr__(self) -> str:
        # Never show the key in a traceback or a debug print.
        return f"Profile(name={self.name!r}, path={str(self.path)!r})"

    @property
    def source(self) -> str:
        return f"profile {self.name} ({self.path})"


@dataclass
class Config:
    """The whole file, as plain values (``profiles``: name -> field -> value)."""

    path: Path
    default_profile: str | None = None
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    # The default location's directory is ours: kept 0700. One LOOPCTL_CONFIG names is not.
    own_directory: bool = False

    def profile(self, name: str) -> Profile:
        values = self.profiles.get(name)
        if values is None:
            raise ConfigurationError(
                "no_such_profile", f"{self.path} has no profile {name!r} (`loopctl config show`)"
            )
        return Profile(name, self.path, **{k: values.get(k) for k in FIELDS})


def check_profile_name(name: str) -> str:
    if not PROFILE_NAME.match(name):
        raise ConfigurationError(
            "bad_profile", f"a profile name is letters, digits, '-' and '_', not {name!r}"
        )
    return name


def _refuse_unsafe(path: Path, info: os.stat_result) -> None:
    if info.st_uid not in (os.getuid(), 0):
        raise ConfigurationError(
            "unsafe_config",
            f"{path} belongs to another user (uid {info.st_uid}), who could change it; not read",
        )
    mode = info.st_mode
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigurationError(
            "unsafe_config",
            f"{path} can be written by other users (mode {stat.S_IMODE(mode):o}); "
            f"not read. Fix: chmod 600 {path}",
        )


def _checked(raw: dict[str, Any], path: Path) -> Config:
    default = raw.get("default_profile")
    profiles = raw.get("profiles", {})
    if (default is not None and not isinstance(default, str)) or not isinstance(profiles, dict):
        raise ConfigurationError(
            "bad_config", f"{path}: default_profile or [profiles] is malformed"
        )
    found: dict[str, dict[str, str]] = {}
    for name, values in profiles.items():
        if not isinstance(values, dict):
            raise ConfigurationError("bad_config", f"{path}: [profiles.{name}] is not a table")
        unknown = sorted(set(values) - set(FIELDS))
        if unknown or not all(isinstance(v, str) for v in values.values()):
            raise ConfigurationError(
                "bad_config",
                f"{path}: [profiles.{name}] takes only strings for {', '.join(FIELDS)}"
                + (f" (unknown: {', '.join(unknown)})" if unknown else ""),
            )
        if values.get("format", FORMATS[0]) not in FORMATS:
            raise ConfigurationError(
                "bad_config", f"{path}: [profiles.{name}] format is one of {', '.join(FORMATS)}"
            )
        found[name] = dict(values)
    return Config(path, default, found)


def load(env: Mapping[str, str] | None = None) -> Config:
    """The config file, or an empty config when there is none."""
    env = os.environ if env is None else env
    path = config_path(env)
    own = not env.get(CONFIG_VARIABLE, "").strip()
    try:
        with path.open("rb") as handle:
            _refuse_unsafe(path, os.fstat(handle.fileno()))
            raw = tomllib.load(handle)
    except FileNotFoundError:
        return Config(path, own_directory=own)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError("bad_config", f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigurationError("bad_config", f"cannot read {path}: {exc.strerror}") from None
    loaded = _checked(raw, path)
    loaded.own_directory = own
    return loaded


def active_profile(
    flag: str | None, env: Mapping[str, str] | None = None, config: Config | None = None
) -> Profile | None:
    """The profile in force: ``--profile``, else ``LOOPCTL_PROFILE``, else default_profile."""
    env = os.environ if env is None else env
    config = load(env) if config is None else config
    name = flag or env.get(PROFILE_VARIABLE, "").strip() or config.default_profile
    if not name:
        return None
    return config.profile(name)


def _toml_string(value: str) -> str:
    # A TOML basic string: JSON's escapes of quotes, backslashes and control characters are
    # TOML's too. Other characters stay as they are (JSON would write a character outside
    # the BMP as a surrogate pair, which TOML refuses), except DEL, which TOML must escape.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def dumps(config: Config) -> str:
    lines = ["# loopctl config: written by `loopctl config set` and `loopctl auth login`."]
    if config.default_profile:
        lines.append(f"default_profile = {_toml_string(config.default_profile)}")
    for name in sorted(config.profiles):
        lines += ["", f"[profiles.{_toml_string(name)}]"]
        values = config.profiles[name]
        lines += [f"{key} = {_toml_string(values[key])}" for key in FIELDS if key in values]
    return "\n".join(lines) + "\n"


def save(config: Config) -> None:
    """Write ``config`` 0600, atomically, in a directory made 0700 if it is new (and kept so
    at the default location)."""
    path = config.path
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if config.own_directory:
        path.parent.chmod(0o700)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".config.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(dumps(config))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def mask(key: str) -> str:
    """A key as shown anywhere: its public prefix only."""
    return key[:11] + "…" if key.startswith("lc_") and len(key) > 11 else "***"
