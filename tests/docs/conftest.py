"""One live `loopctl serve` for the docs pages and the skills (tests/docs)."""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fixtures.server import Server, start

# The variables the docs/ pages may assume (README.md says so); README.md itself and the
# skills get none of them: a new user has only the key `make serve` saved, and an agent
# running a skill has exactly one key.
KEY_VARIABLES = ("LOOPCTL_USER_KEY", "LOOPCTL_ORCH_KEY", "LOOPCTL_AGENT_KEY")


@dataclass
class Live:
    server: Server
    home: Path
    env: dict[str, str]

    @property
    def port(self) -> int:
        return int(self.server.url.rsplit(":", 1)[1])

    @property
    def user_key(self) -> str:
        return self.env["LOOPCTL_USER_KEY"]

    def without_keys(self) -> dict[str, str]:
        return {k: v for k, v in self.env.items() if k not in KEY_VARIABLES}


def new_key(url: str, user_key: str, role: str, agent: str) -> str:
    """A fresh key of ``role`` for the agent named ``agent`` (created if new)."""
    response = httpx.post(
        f"{url}/api/v1/api_keys",
        headers={"Authorization": f"Bearer {user_key}"},
        json={"name": f"docs {role} {agent}", "role": role, "agent_name": agent},
    )
    assert response.status_code == 201, response.text
    raw: str = response.json()["data"]["raw_key"]
    return raw


@pytest.fixture(scope="session")
def live() -> Iterator[Live]:
    # Not under pytest's tmp_path: as root, PostgreSQL runs as another user that must
    # traverse every parent, and each new pytest session on the machine takes the group
    # and other bits off /tmp/pytest-of-<user> again.
    top = Path(tempfile.mkdtemp(prefix="loopctl-docs-"))
    # As root PostgreSQL runs as loopctl-postgres, which must traverse to the data dir.
    top.chmod(0o711)
    home = top / "home"
    data = home / ".local" / "share" / "loopctl"
    server = start(data, {"HOME": str(home)})
    try:
        user = (data / "local-user-key").read_text().strip()
        venv_bin = Path(sys.executable).parent
        env = {
            "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            # Where the README finds the saved key (as root it would look in /var/lib).
            "LOOPCTL_DATA_DIR": str(data),
            "LANG": "C.UTF-8",
            "LOOPCTL_SERVER": server.url,
            "LOOPCTL_USER_KEY": user,
            "LOOPCTL_ORCH_KEY": new_key(server.url, user, "orchestrator", "docs-orchestrator"),
            "LOOPCTL_AGENT_KEY": new_key(server.url, user, "agent", "docs-implementer"),
        }
        yield Live(server, home, env)
    finally:
        server.stop()
        shutil.rmtree(top, ignore_errors=True)
