"""`loopctl config get|set|unset|show`: the config file's profiles (client/config.py).

A command acts on the profile ``--profile`` names, else ``LOOPCTL_PROFILE``, else the
default profile, else one called ``default`` (made the default when it is the first).
Keys are never printed, only their public prefix; ``config set api_key`` is refused, since
a key on a command line stays in the shell's history: ``loopctl auth login`` saves one.
"""

import json
import os
import sys
from typing import Annotated, Any

import typer

from loopctl.cli import handles
from loopctl.cli.errors import CliError, UsageProblem
from loopctl.cli.sources import as_cli
from loopctl.client import config
from loopctl.client.config import FALLBACK_PROFILE, FIELDS, FORMATS, Config
from loopctl.client.sources import checked_url

app = typer.Typer(help="The config file and its named profiles.", no_args_is_help=True)

SETTINGS = (*FIELDS, "default_profile")

ProfileFlag = Annotated[
    str | None,
    typer.Option(
        "--profile",
        envvar=config.PROFILE_VARIABLE,
        metavar="NAME",
        help="The profile to act on.",
        show_default="the default profile, else `default`",
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (the default when piped).")]
SettingArgument = Annotated[
    str, typer.Argument(metavar="SETTING", help=f"One of: {', '.join(SETTINGS)}.")
]


def target_profile(flag: str | None, loaded: Config) -> str:
    """The name of the profile a command acts on."""
    name = flag or os.environ.get(config.PROFILE_VARIABLE, "").strip() or loaded.default_profile
    with as_cli():
        return config.check_profile_name(name or FALLBACK_PROFILE)


def _setting(name: str) -> str:
    if name not in SETTINGS:
        raise UsageProblem("bad_setting", f"{name!r} is not a setting: {', '.join(SETTINGS)}")
    return name


def _checked_value(name: str, value: str, loaded: Config) -> str:
    with as_cli():
        if name == "server":
            return checked_url(value, "the value")
        if name == "project":
            handles.parse_project(value)
            return value.strip()
        if name == "format" and value not in FORMATS:
            raise UsageProblem("bad_format", f"format is one of {', '.join(FORMATS)}")
        if name == "default_profile":
            loaded.profile(config.check_profile_name(value))
        if name == "api_key":
            raise UsageProblem(
                "use_auth_login",
                "a key is saved by `loopctl auth login` (it reads the key from a prompt or "
                "stdin, and checks it with the server), not from the command line",
            )
    return value


def load_config() -> Config:
    with as_cli():
        return config.load()


def save_config(loaded: Config) -> None:
    try:
        config.save(loaded)
    except OSError as exc:
        raise CliError("config_not_saved", f"cannot write {loaded.path}: {exc.strerror}") from None


def shown(values: dict[str, str]) -> dict[str, str]:
    """A profile's values as printed: the key masked."""
    return {k: config.mask(v) if k == "api_key" else v for k, v in values.items()}


@app.command("show")
def show(profile: ProfileFlag = None, as_json: JsonFlag = False) -> None:
    """Show the config file's path, default profile and profiles (keys masked)."""
    loaded = load_config()
    profiles = {name: shown(values) for name, values in sorted(loaded.profiles.items())}
    if profile:
        with as_cli():
            loaded.profile(profile)
        profiles = {profile: profiles[profile]}
    found: dict[str, Any] = {
        "path": str(loaded.path),
        "default_profile": loaded.default_profile,
        "profiles": profiles,
    }
    if as_json or not sys.stdout.isatty():
        typer.echo(json.dumps(found, indent=2))
        return
    typer.echo(f"# {found['path']}")
    if loaded.default_profile:
        typer.echo(f"default_profile = {loaded.default_profile}")
    for name, values in profiles.items():
        typer.echo(f"\n[profiles.{name}]")
        for key, value in values.items():
            typer.echo(f"{key} = {value}")


@app.command("get")
def get(setting: SettingArgument, profile: ProfileFlag = None) -> None:
    """Print one setting of the profile (exit 1 if it is not set; a key only masked)."""
    name = _setting(setting)
    loaded = load_config()
    if name == "default_profile":
        value = loaded.default_profile
    else:
        value = loaded.profiles.get(target_profile(profile, loaded), {}).get(name)
    if value is None:
        raise CliError("not_set", f"{name} is not set")
    typer.echo(config.mask(value) if name == "api_key" else value)


@app.command("set")
def set_(
    setting: SettingArgument,
    value: Annotated[str, typer.Argument(metavar="VALUE")],
    profile: ProfileFlag = None,
) -> None:
    """Set one setting of the profile (made if new; the default if it is the first)."""
    name = _setting(setting)
    loaded = load_config()
    checked = _checked_value(name, value, loaded)
    if name == "default_profile":
        loaded.default_profile = checked
    else:
        chosen = target_profile(profile, loaded)
        loaded.profiles.setdefault(chosen, {})[name] = checked
        loaded.default_profile = loaded.default_profile or chosen
    save_config(loaded)


@app.command("unset")
def unset(setting: SettingArgument, profile: ProfileFlag = None) -> None:
    """Remove one setting from the profile."""
    name = _setting(setting)
    loaded = load_config()
    if name == "default_profile":
        loaded.default_profile = None
    else:
        loaded.profiles.get(target_profile(profile, loaded), {}).pop(name, None)
    save_config(loaded)
