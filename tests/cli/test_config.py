"""The config file and profiles: where it is, its modes, precedence, auth login/logout."""

import json
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from loopctl.cli.exit_codes import ExitCode
from tests.cli.conftest import Live, Outcome, unused_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli")]

Run = Any


def config_file(tmp_path: Path) -> Path:
    """Where ``run`` points LOOPCTL_CONFIG (tests/cli/conftest.py)."""
    return tmp_path / "config" / "config.toml"


def ok(outcome: Outcome) -> Outcome:
    assert outcome.exit_code == 0, outcome.stderr
    return outcome


def whoami(run: Run, *args: str, env: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(ok(run("whoami", *args, env=env)).stdout)
    return found


def write_config(path: Path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def test_set_writes_0600_in_a_0700_dir_and_show_masks_keys(
    live: Live, run: Run, tmp_path: Path
) -> None:
    ok(run("config", "set", "server", live.url))
    ok(run("config", "set", "server", live.url, "--profile", "work"))
    ok(run("config", "set", "project", "shop", "--profile", "work"))
    ok(run("config", "set", "format", "csv", "--profile", "work"))
    key = live.new_key("agent")["raw_key"]
    ok(run("auth", "login", "--profile", "work", "--with-key-stdin", stdin=key + "\n"))
    path = config_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temporary left
    saved = tomllib.loads(path.read_text())
    assert saved["default_profile"] == "default"  # the first profile made
    assert saved["profiles"]["work"] == {
        "server": live.url,
        "api_key": key,
        "project": "shop",
        "format": "csv",
    }
    shown = ok(run("config", "show", "--json"))
    assert key not in shown.stdout
    assert json.loads(shown.stdout)["profiles"]["work"]["api_key"] == key[:11] + "…"
    assert ok(run("config", "get", "api_key", "--profile", "work")).stdout == key[:11] + "…\n"
    assert ok(run("config", "get", "project", "--profile", "work")).stdout == "shop\n"


def test_a_config_other_users_can_write_is_refused(live: Live, run: Run, tmp_path: Path) -> None:
    path = config_file(tmp_path)
    write_config(path, f'default_profile = "d"\n[profiles.d]\nserver = "{live.url}"\n', 0o620)
    for args in (("whoami",), ("config", "show"), ("project", "list")):
        outcome = run(*args)
        assert outcome.exit_code == ExitCode.FAILURE, (args, outcome.stderr)
        assert outcome.stderr.startswith("loopctl: unsafe_config: "), outcome.stderr
        assert "chmod 600" in outcome.stderr
    path.chmod(0o604)  # world-readable is the owner's choice; writable is not
    assert whoami(run, env={"LOOPCTL_API_KEY": live.user_key})["server"] == live.url
    if os.getuid() == 0:  # only root can give a file away
        os.chown(path, 54321, -1)
        outcome = run("config", "show")
        assert outcome.exit_code == ExitCode.FAILURE
        assert "belongs to another user (uid 54321)" in outcome.stderr


@pytest.mark.parametrize(
    "text",
    ["[profiles.x]\nserver = 1\n", '[profiles.x]\nformat = "yaml"\n', "[profiles.x\n"],
    ids=["not a string", "unknown format", "not toml"],
)
def test_a_broken_config_is_one_line(run: Run, tmp_path: Path, text: str) -> None:
    write_config(config_file(tmp_path), text)
    outcome = run("whoami", "--profile", "x")
    assert (outcome.exit_code, outcome.stderr.split(":")[1]) == (1, " bad_config")


def test_xdg_config_home_and_loopctl_config_choose_the_file(
    live: Live, run: Run, tmp_path: Path
) -> None:
    xdg = tmp_path / "xdg"
    (xdg / "loopctl").mkdir(mode=0o755, parents=True)
    env: dict[str, str | None] = {"LOOPCTL_CONFIG": None, "XDG_CONFIG_HOME": str(xdg)}
    ok(run("config", "set", "server", live.url, env=env))
    assert (xdg / "loopctl" / "config.toml").exists()
    assert stat.S_IMODE((xdg / "loopctl").stat().st_mode) == 0o700  # ours: made private
    shown = json.loads(ok(run("config", "show", env=env)).stdout)
    assert shown["path"] == str(xdg / "loopctl" / "config.toml")
    elsewhere = tmp_path / "elsewhere.toml"
    ok(run("config", "set", "format", "json", env={"LOOPCTL_CONFIG": str(elsewhere)}))
    assert tomllib.loads(elsewhere.read_text())["profiles"]["default"] == {"format": "json"}


def test_key_precedence_flag_env_profile_saved_key(live: Live, run: Run, tmp_path: Path) -> None:
    keys = {role: live.new_key(role)["raw_key"] for role in ("agent", "orchestrator", "user")}
    path = config_file(tmp_path)
    write_config(
        path,
        f'default_profile = "p"\n[profiles.p]\nserver = "{live.url}"\n'
        f'api_key = "{keys["orchestrator"]}"\n',
    )
    saved_dir = {"LOOPCTL_DATA_DIR": str(live.server.data_dir)}
    profile = whoami(run, env=saved_dir)
    assert (profile["key_source"], profile["key"]["role"]) == (
        f"profile p ({path})",
        "orchestrator",
    )
    assert (profile["server_source"], profile["profile"]) == (f"profile p ({path})", "p")
    by_env = whoami(run, env={**saved_dir, "LOOPCTL_AGENT_KEY": keys["agent"]})
    assert (by_env["key_source"], by_env["key"]["role"]) == ("LOOPCTL_AGENT_KEY", "agent")
    by_flag = whoami(
        run, "--api-key", keys["user"], env={**saved_dir, "LOOPCTL_AGENT_KEY": keys["agent"]}
    )
    assert (by_flag["key_source"], by_flag["key"]["role"]) == ("--api-key", "user")
    ok(run("config", "unset", "api_key", "--profile", "p"))
    saved = whoami(run, env=saved_dir)
    assert saved["key_source"] == str(live.server.data_dir / "local-user-key")


def test_server_precedence_flag_env_profile_local(live: Live, run: Run, tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{unused_port()}"
    write_config(config_file(tmp_path), f'[profiles.p]\nserver = "{live.url}"\n')
    key = {"LOOPCTL_API_KEY": live.user_key, "LOOPCTL_PORT": str(unused_port())}
    by_profile = whoami(run, "--profile", "p", env=key)
    assert (by_profile["server"], by_profile["profile"]) == (live.url, "p")
    by_env = whoami(run, "--profile", "p", env={**key, "LOOPCTL_SERVER": live.url})
    assert by_env["server_source"] == "LOOPCTL_SERVER"
    refused = run("whoami", "--profile", "p", env={**key, "LOOPCTL_SERVER": nowhere})
    assert refused.exit_code == ExitCode.NETWORK
    by_flag = whoami(
        run, "--profile", "p", "--server", live.url, env={**key, "LOOPCTL_SERVER": nowhere}
    )
    assert by_flag["server_source"] == "--server"
    local = run("whoami", env=key)  # no profile: the local default on LOOPCTL_PORT
    assert local.exit_code == ExitCode.NETWORK
    assert "(server from LOOPCTL_PORT)" in local.stderr


def test_a_profiles_key_goes_only_to_its_own_server(live: Live, run: Run, tmp_path: Path) -> None:
    other = f"http://127.0.0.1:{unused_port()}"
    key = live.new_key("agent")["raw_key"]
    write_config(config_file(tmp_path), f'[profiles.p]\nserver = "{other}"\napi_key = "{key}"\n')
    outcome = run("whoami", "--profile", "p", "--server", live.url)
    assert outcome.exit_code == ExitCode.AUTH
    assert f"(not used: its key is for {other})" in outcome.stderr
    assert key not in outcome.stderr


def test_profiles_are_chosen_by_flag_then_variable_then_default(
    live: Live, run: Run, tmp_path: Path
) -> None:
    agent, orch = live.new_key("agent")["raw_key"], live.new_key("orchestrator")["raw_key"]
    write_config(
        config_file(tmp_path),
        f'default_profile = "a"\n[profiles.a]\nserver = "{live.url}"\napi_key = "{agent}"\n'
        f'[profiles.b]\nserver = "{live.url}"\napi_key = "{orch}"\n',
    )
    assert whoami(run)["key"]["role"] == "agent"
    assert whoami(run, env={"LOOPCTL_PROFILE": "b"})["key"]["role"] == "orchestrator"
    assert whoami(run, "--profile", "a", env={"LOOPCTL_PROFILE": "b"})["profile"] == "a"
    missing = run("whoami", "--profile", "nope")
    assert (missing.exit_code, missing.stderr.split(":")[1]) == (ExitCode.USAGE, " no_such_profile")


def test_auth_login_checks_the_key_before_saving_it(live: Live, run: Run, tmp_path: Path) -> None:
    path = config_file(tmp_path)
    bad = run("auth", "login", "--server", live.url, "--with-key-stdin", stdin="lc_" + "x" * 43)
    assert bad.exit_code == ExitCode.AUTH
    assert "lc_" + "x" * 43 not in bad.stderr
    assert not path.exists()
    key = live.new_key("orchestrator")["raw_key"]
    done = ok(run("auth", "login", "--server", live.url, "--with-key-stdin", stdin=key))
    assert f"orchestrator key {key[:11]}…, tenant local" in done.stderr
    assert key not in done.stdout + done.stderr
    assert whoami(run)["key_source"] == f"profile default ({path})"
    assert json.loads(ok(run("auth", "whoami")).stdout)["key"]["role"] == "orchestrator"
    no_prompt = run("auth", "login", "--server", live.url)  # stdin is no terminal
    assert (no_prompt.exit_code, no_prompt.stderr.split(":")[1]) == (2, " no_terminal")


def test_auth_logout_asks_first_and_removes_only_the_key(
    live: Live, run: Run, tmp_path: Path
) -> None:
    key = live.new_key("agent")["raw_key"]
    ok(run("auth", "login", "--server", live.url, "--with-key-stdin", stdin=key))
    declined = run("auth", "logout", stdin="n\n")
    assert declined.exit_code == 1
    assert key in config_file(tmp_path).read_text()
    ok(run("auth", "logout", "--yes"))
    saved = tomllib.loads(config_file(tmp_path).read_text())
    assert saved["profiles"]["default"] == {"server": live.url}
    again = run("auth", "logout", "--yes")
    assert (again.exit_code, again.stderr.split(":")[1]) == (1, " not_logged_in")


@pytest.mark.parametrize(
    ("args", "exit_code", "code"),
    [
        (("set", "api_key", "lc_" + "k" * 43), ExitCode.USAGE, "use_auth_login"),
        (("set", "format", "yaml"), ExitCode.USAGE, "bad_format"),
        (("set", "server", "ftp://x"), ExitCode.USAGE, "bad_server_url"),
        (("set", "project", "Not A Slug"), ExitCode.USAGE, "bad_handle"),
        (("set", "colour", "red"), ExitCode.USAGE, "bad_setting"),
        (("set", "default_profile", "missing"), ExitCode.USAGE, "no_such_profile"),
        (("set", "format", "json", "--profile", "a b"), ExitCode.USAGE, "bad_profile"),
        (("get", "server"), ExitCode.FAILURE, "not_set"),
    ],
)
def test_config_refusals(
    run: Run, tmp_path: Path, args: tuple[str, ...], exit_code: ExitCode, code: str
) -> None:
    outcome = run("config", *args)
    assert outcome.exit_code == exit_code, outcome.stderr
    assert outcome.stderr.startswith(f"loopctl: {code}: "), outcome.stderr
    assert "k" * 43 not in outcome.stderr
    assert not config_file(tmp_path).exists()


def test_the_profiles_format_is_the_default_output(live: Live, run: Run) -> None:
    ok(run("config", "set", "server", live.url))
    ok(run("config", "set", "format", "csv"))
    env = {"LOOPCTL_API_KEY": live.user_key}
    assert ok(run("project", "list", env=env)).stdout.startswith("id,slug,name,status\n")
    assert "data" in json.loads(ok(run("project", "list", "--json", env=env)).stdout)


def test_completion_scripts_name_the_command(run: Run) -> None:
    for shell in ("bash", "zsh", "fish"):
        script = ok(run("completion", shell)).stdout
        assert "_LOOPCTL_COMPLETE" in script, shell
    assert run("completion", "tcsh").exit_code == ExitCode.USAGE
