"""`loopctl whoami`: the key's role, agent and tenant, and where the server and key came from."""

import json
import os
import pty
import subprocess
from pathlib import Path
from typing import Any

import pytest

from loopctl.cli.exit_codes import ExitCode
from loopctl.cli.sources import KEY_VARIABLES
from tests.cli.conftest import Live, unused_port
from tests.fixtures.server import LOOPCTL

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli")]

Run = Any


def whoami(run: Run, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    outcome = run("whoami", *args, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stderr == ""
    found: dict[str, Any] = json.loads(outcome.stdout)
    return found


def test_an_agent_key_shows_its_role_agent_tenant_and_source(live: Live, run: Run) -> None:
    created = live.new_key("agent")
    found = whoami(run, "--server", live.url, env={"LOOPCTL_AGENT_KEY": created["raw_key"]})
    assert found["key"] == {
        "id": created["id"],
        "name": created["name"],
        "key_prefix": created["key_prefix"],
        "role": "agent",
        "status": "active",
        "agent_id": created["agent_id"],
        "agent_name": created["agent_name"],
        "expires_at": None,
    }
    assert (found["tenant"]["slug"], found["tenant"]["status"]) == ("local", "active")
    assert (found["key_source"], found["server"], found["server_source"]) == (
        "LOOPCTL_AGENT_KEY",
        live.url,
        "--server",
    )
    assert created["raw_key"] not in json.dumps(found)


def test_the_flag_wins_then_the_variables_in_their_documented_order(live: Live, run: Run) -> None:
    keys = {role: live.new_key(role) for role in ("user", "orchestrator", "agent")}
    every = {
        "LOOPCTL_API_KEY": keys["user"]["raw_key"],
        "LOOPCTL_AGENT_KEY": keys["agent"]["raw_key"],
        "LOOPCTL_ORCH_KEY": keys["orchestrator"]["raw_key"],
        "LOOPCTL_USER_KEY": keys["user"]["raw_key"],
    }
    flag = keys["orchestrator"]["raw_key"]
    by_flag = whoami(run, "--server", live.url, "--api-key", flag, env=every)
    assert (by_flag["key_source"], by_flag["key"]["role"]) == ("--api-key", "orchestrator")
    first = whoami(run, "--server", live.url, env=every)
    assert (first["key_source"], first["key"]["role"]) == ("LOOPCTL_API_KEY", "user")
    # An empty variable counts as unset (MCP configurations write ${LOOPCTL_API_KEY:-}).
    next_one = whoami(run, "--server", live.url, env={**every, "LOOPCTL_API_KEY": ""})
    assert (next_one["key_source"], next_one["key"]["role"]) == ("LOOPCTL_AGENT_KEY", "agent")


def test_the_local_servers_saved_key_is_the_last_resort(live: Live, run: Run) -> None:
    data_dir = str(live.server.data_dir)
    by_flag = whoami(run, "--server", live.url, "--data-dir", data_dir)
    assert by_flag["key_source"] == str(live.server.data_dir / "local-user-key")
    assert (by_flag["key"]["role"], by_flag["key"]["agent_id"]) == ("user", None)
    by_env = whoami(run, "--server", live.url, env={"LOOPCTL_DATA_DIR": data_dir})
    assert by_env["key"]["id"] == by_flag["key"]["id"]


def test_no_key_says_every_source_it_tried_and_exits_3(run: Run, tmp_path: Path) -> None:
    # Nothing listens there: the answer comes before any request.
    outcome = run("whoami", "--server", f"http://127.0.0.1:{unused_port()}")
    assert outcome.exit_code == ExitCode.AUTH
    assert outcome.lines == [
        "loopctl: no_api_key: no API key found; tried --api-key, "
        + ", ".join(KEY_VARIABLES)
        + f", {tmp_path / 'local-user-key'} (no such file)"
    ]


def test_the_saved_key_is_not_sent_to_another_machine(live: Live, run: Run) -> None:
    data_dir = str(live.server.data_dir)
    outcome = run("whoami", "--server", "http://192.0.2.1:4000", "--data-dir", data_dir)
    assert outcome.exit_code == ExitCode.AUTH
    assert outcome.lines[0].endswith(
        f"{live.server.data_dir / 'local-user-key'} (not read: http://192.0.2.1:4000 is not "
        "on this machine)"
    )


def test_loopctl_port_is_honoured_and_loopctl_server_wins_over_it(live: Live, run: Run) -> None:
    key = live.new_key("agent")["raw_key"]
    found = whoami(run, env={"LOOPCTL_PORT": str(live.port), "LOOPCTL_AGENT_KEY": key})
    assert (found["server"], found["server_source"]) == (live.url, "LOOPCTL_PORT")
    elsewhere = str(unused_port())
    by_server = whoami(
        run, env={"LOOPCTL_PORT": elsewhere, "LOOPCTL_SERVER": live.url, "LOOPCTL_AGENT_KEY": key}
    )
    assert by_server["server_source"] == "LOOPCTL_SERVER"
    by_flag = whoami(
        run,
        "--server",
        live.url,
        env={"LOOPCTL_SERVER": f"http://127.0.0.1:{elsewhere}", "LOOPCTL_AGENT_KEY": key},
    )
    assert by_flag["server_source"] == "--server"


def test_api_reads_a_body_from_a_file_and_from_stdin(live: Live, run: Run, tmp_path: Path) -> None:
    env = {"LOOPCTL_USER_KEY": live.new_key("user")["raw_key"], "LOOPCTL_SERVER": live.url}
    body = tmp_path / "agent.json"
    body.write_text('{"name": "from-file", "agent_type": "implementer"}')
    from_file = run("api", "agents/register", "-d", f"@{body}", env=env)
    assert from_file.exit_code == 0, from_file.stderr
    assert json.loads(from_file.stdout)["data"]["name"] == "from-file"
    from_stdin = run(
        "api",
        "agents/register",
        "-d",
        "-",
        env=env,
        stdin='{"name": "from-stdin", "agent_type": "orchestrator"}',
    )
    assert json.loads(from_stdin.stdout)["data"]["agent_type"] == "orchestrator"
    listed = run("api", "/api/v1/agents?limit=500", env=env)
    names = {a["name"] for a in json.loads(listed.stdout)["data"]}
    assert {"from-file", "from-stdin"} <= names


def test_on_a_terminal_whoami_prints_lines_for_a_human(live: Live, tmp_path: Path) -> None:
    created = live.new_key("orchestrator")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPCTL_")}
    env.update(
        LOOPCTL_SERVER=live.url, LOOPCTL_ORCH_KEY=created["raw_key"], LOOPCTL_DATA_DIR=str(tmp_path)
    )
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [LOOPCTL, "whoami"], env=env, stdout=follower, stderr=subprocess.PIPE, timeout=60
        )
        os.close(follower)
        follower = -1
        text = _read_all(leader)
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert done.returncode == 0, done.stderr
    lines = text.splitlines()
    assert lines[0] == "role:    orchestrator"
    assert lines[1] == f"agent:   {created['agent_name']} ({created['agent_id']})"
    assert lines[2].startswith("tenant:  Local (local, ")
    assert f"{created['key_prefix']}… 'cli orchestrator', active, expires never" in lines[3]
    assert lines[4].strip() == "from LOOPCTL_ORCH_KEY"
    assert lines[5] == f"server:  {live.url} (from LOOPCTL_SERVER)"
    assert created["raw_key"] not in text


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_a_key_flag_given_empty_is_refused_not_replaced_by_another_identity(
    live: Live, run: Run
) -> None:
    data_dir = str(live.server.data_dir)  # its saved user key would otherwise be used
    agent = live.new_key("agent")["raw_key"]
    cases: list[tuple[tuple[str, ...], dict[str, str]]] = [
        (("--api-key", ""), {"LOOPCTL_DATA_DIR": data_dir}),
        (("--key", "  "), {"LOOPCTL_AGENT_KEY": agent}),
    ]
    for args, env in cases:
        outcome = run("whoami", "--server", live.url, *args, env=env)
        assert outcome.exit_code == 2, outcome.stdout
        assert outcome.stdout == ""
        assert outcome.stderr.startswith("loopctl: empty_api_key: "), outcome.stderr
