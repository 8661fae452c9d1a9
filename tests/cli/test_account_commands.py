"""`tenant`, `keys` and `agent` commands against a live server."""

import csv
import io
import os
import pty
import select
import subprocess
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from tests.cli.conftest import Live
from tests.cli.roles import LOOPCTL, Roles

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli")]
MISSING = "00000000-0000-4000-8000-000000000000"
WAIT = 30.0


@pytest.fixture
def roles(live: Live, run: Any) -> Roles:
    return Roles(live, run)


def test_tenant_show_and_update_with_settings(roles: Roles) -> None:
    shown = roles.json("agent", "tenant", "show")
    assert shown["limits"]["max_api_keys"] > 0
    table = roles.as_("agent", "tenant", "show", "-f", "table")
    assert table.exit_code == 0
    assert "lease_ttl_seconds" in table.stdout
    changed = roles.json(
        "user",
        "tenant",
        "update",
        "--setting",
        "lease_ttl_seconds=900",
        "-s",
        "auto_reset_on_rejection=true",
    )
    assert changed["settings"]["lease_ttl_seconds"] == 900
    assert changed["settings"]["auto_reset_on_rejection"] is True
    again = roles.json("user", "tenant", "update", "--settings", '{"lease_ttl_seconds": 600}')
    assert again["settings"]["lease_ttl_seconds"] == 600
    assert roles.json("agent", "tenant", "show")["settings"]["lease_ttl_seconds"] == 600
    roles.fails("user", 7, "validation_error", "tenant", "update", "-s", "lease_ttl_seconds=5")
    roles.fails("user", 7, "validation_error", "tenant", "update", "-s", "no_such_setting=1")
    roles.fails("agent", 4, "insufficient_role", "tenant", "update", "--name", "Mine")
    roles.fails("user", 2, "nothing_to_change", "tenant", "update")
    roles.fails("user", 2, "bad_option", "tenant", "update", "-s", "lease_ttl_seconds")


def test_keys_create_list_rotate_revoke(roles: Roles) -> None:
    agent_name = f"cli-keys-{uuid4().hex[:8]}"
    created = roles.json(
        "user", "keys", "create", "--name", "ci", "--role", "agent", "--agent", agent_name
    )
    assert created["raw_key"].startswith("lc_")
    assert created["agent_name"] == agent_name
    # The new key works: it is shown once, and it is the real key.
    me = roles.run(
        "tenant",
        "show",
        env={"LOOPCTL_SERVER": roles.live.url, "LOOPCTL_API_KEY": created["raw_key"]},
    )
    assert me.exit_code == 0, me.stderr
    later = (datetime.now(UTC) + timedelta(days=30)).replace(tzinfo=None, microsecond=0)
    expiring = roles.json(
        "user", "keys", "create", "--name", "e", "--role", "user", "--expires-at", later.isoformat()
    )
    assert expiring["expires_at"].startswith(later.isoformat())  # read as UTC
    table = roles.as_("user", "keys", "create", "--name", "t", "--role", "user", "-f", "table")
    assert table.exit_code == 0
    assert "raw_key" in table.stdout
    listed = roles.as_("user", "keys", "list", "--role", "agent", "--limit", "200", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert created["id"] in [r["id"] for r in rows]
    assert "raw_key" not in listed.stdout
    assert created["raw_key"] not in listed.stdout
    # Destructive: without --yes and without a terminal, nothing happens (exit 2).
    roles.fails("user", 2, "confirmation_needed", "keys", "revoke", created["id"])
    roles.fails("user", 2, "confirmation_needed", "keys", "rotate", created["id"])
    rotated = roles.json("user", "keys", "rotate", created["id"], "--yes", "--grace-hours", "0")
    assert rotated["new_key"]["raw_key"].startswith("lc_")
    assert rotated["old_key"]["status"] == "rotated"
    new_id = rotated["new_key"]["id"]
    revoked = roles.json("user", "keys", "revoke", new_id, "--yes")
    assert revoked["status"] == "revoked"
    roles.fails("user", 5, "api_key_not_found", "keys", "revoke", MISSING, "--yes")
    roles.fails("agent", 4, "insufficient_role", "keys", "list")
    roles.fails("user", 7, "validation_error", "keys", "create", "--name", "x", "--role", "root")


def test_agents_register_list_show(roles: Roles) -> None:
    name = f"cli-agent-{uuid4().hex[:8]}"
    agent = roles.json(
        "user",
        "agent",
        "register",
        "--name",
        name,
        "--type",
        "orchestrator",
        "--model",
        "m1",
        "--metadata",
        '{"team": "a"}',
    )
    assert (agent["agent_type"], agent["metadata"]) == ("orchestrator", {"team": "a"})
    listed = roles.json("orchestrator", "agent", "list", "--type", "orchestrator", "--limit", "500")
    assert agent["id"] in [a["id"] for a in listed["data"]]
    shown = roles.as_("orchestrator", "agent", "show", agent["id"], "-f", "table")
    assert name in shown.stdout
    roles.fails("user", 6, "agent_name_taken", "agent", "register", "--name", name)
    roles.fails("orchestrator", 5, "agent_not_found", "agent", "show", MISSING)
    roles.fails("agent", 4, "insufficient_role", "agent", "list")
    roles.fails("user", 7, "validation_error", "agent", "register", "--name", "x", "--type", "boss")


def _until(fd: int, text: str) -> str:
    """What the terminal shows until ``text`` appears (or WAIT seconds pass)."""
    seen = ""
    deadline = time.monotonic() + WAIT
    while text not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            seen += os.read(fd, 4096).decode(errors="replace")
    return seen


@pytest.mark.parametrize(
    ("answer", "exit_code", "status"), [("y", 0, "revoked"), ("n", 1, "active")]
)
def test_a_person_at_a_terminal_is_asked_first(
    roles: Roles, answer: str, exit_code: int, status: str
) -> None:
    key = roles.json("user", "keys", "create", "--name", "asked", "--role", "user")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPCTL_")}
    env.update(roles.env("user"))
    main, secondary = pty.openpty()
    with subprocess.Popen(
        [LOOPCTL, "keys", "revoke", key["id"]],
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=secondary,
        env=env,
    ) as process:
        os.close(secondary)
        assert f"Revoke key {key['id']}? [y/N]" in _until(main, "[y/N]")
        os.write(main, f"{answer}\n".encode())
        assert process.wait(timeout=WAIT) == exit_code
    os.close(main)
    listed = roles.json("user", "keys", "list", "--include-revoked", "--limit", "500")
    assert {k["id"]: k["status"] for k in listed["data"]}[key["id"]] == status
