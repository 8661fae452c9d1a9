"""The backup file: a tar of a manifest, the server secret and a pg_dump archive.

It is written the way a key file is: a temporary file created 0600 in the target's own
directory, fsynced, then renamed over the target, so a failure never leaves a partial or
readable file. The secret is inside because restored API keys verify only under it.
"""

import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

FORMAT = "loopctl-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SECRET = "secret_key"  # noqa: S105 (a member name)
LOCAL_KEY = "local-user-key"
DUMP = "database.dump"
# Bounds for the small members, so a hostile file cannot make us read gigabytes of JSON.
_SMALL = 64 * 1024


class ArchiveError(Exception):
    """A backup file that is not one, or is damaged; the message is safe to print."""


@dataclass(frozen=True)
class Manifest:
    format: str
    format_version: int
    loopctl_version: str
    schema_revision: str
    server_version: int
    pg_dump_version: str
    created_at: str


@dataclass(frozen=True)
class Secrets:
    """What key verification needs (the server secret) and, embedded, the saved local key."""

    secret_key: str
    local_key: str | None = None


@dataclass(frozen=True)
class Backup:
    manifest: Manifest
    secrets: Secrets
    dump: Path


@contextmanager
def private_dir(near: Path) -> Iterator[Path]:
    """A 0700 scratch directory beside ``near``, removed with everything in it."""
    with tempfile.TemporaryDirectory(prefix=".loopctl-", dir=near) as name:
        yield Path(name)


def write_atomically(target: Path, fill: Callable[[IO[bytes]], None]) -> None:
    """Create ``target`` (mode 0600) with what ``fill`` writes, all or nothing."""
    directory = target.resolve().parent
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)


def write(target: Path, manifest: Manifest, secrets: Secrets, dump: Path) -> None:
    def fill(handle: IO[bytes]) -> None:
        with tarfile.open(fileobj=handle, mode="w") as tar:
            _add_bytes(tar, MANIFEST, json.dumps(asdict(manifest), indent=2).encode())
            _add_bytes(tar, SECRET, secrets.secret_key.encode())
            if secrets.local_key is not None:
                _add_bytes(tar, LOCAL_KEY, secrets.local_key.encode())
            info = tar.gettarinfo(str(dump), arcname=DUMP)
            _private(info)
            with dump.open("rb") as source:
                tar.addfile(info, source)

    write_atomically(target, fill)


def _private(info: tarfile.TarInfo) -> None:
    info.mode = 0o600
    info.uid = info.gid = 0
    info.uname = info.gname = ""


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    _private(info)
    tar.addfile(info, io.BytesIO(data))


def peek(source: Path) -> tuple[Manifest, Secrets]:
    """The manifest and secrets of a backup file, checked, without its database dump."""
    try:
        with tarfile.open(source, mode="r:") as tar:
            return _head(tar)
    except (tarfile.TarError, UnicodeDecodeError, EOFError) as exc:
        raise ArchiveError(f"{source} is not a loopctl backup ({type(exc).__name__})") from None


def read(source: Path, scratch: Path) -> Backup:
    """Check a backup file and copy its database dump into ``scratch`` (a private dir)."""
    try:
        with tarfile.open(source, mode="r:") as tar:
            manifest, secrets = _head(tar)
            extracted = tar.extractfile(_member(tar, DUMP))
            assert extracted is not None  # _member checked it is a file
            dump = scratch / DUMP
            fd = os.open(dump, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as target:
                while chunk := extracted.read(1 << 20):
                    target.write(chunk)
    except (tarfile.TarError, UnicodeDecodeError, EOFError) as exc:
        raise ArchiveError(f"{source} is not a loopctl backup ({type(exc).__name__})") from None
    return Backup(manifest, secrets, dump)


def _head(tar: tarfile.TarFile) -> tuple[Manifest, Secrets]:
    manifest = _manifest(_small(tar, MANIFEST))
    secret = _small(tar, SECRET).decode()
    local = _small(tar, LOCAL_KEY).decode() if LOCAL_KEY in tar.getnames() else None
    return manifest, Secrets(secret, local)


def _member(tar: tarfile.TarFile, name: str) -> tarfile.TarInfo:
    try:
        member = tar.getmember(name)
    except KeyError:
        raise ArchiveError(f"not a loopctl backup: {name} is missing") from None
    if not member.isfile():
        raise ArchiveError(f"not a loopctl backup: {name} is not a file")
    return member


def _small(tar: tarfile.TarFile, name: str) -> bytes:
    member = _member(tar, name)
    if member.size > _SMALL:
        raise ArchiveError(f"not a loopctl backup: {name} is too large")
    extracted = tar.extractfile(member)
    assert extracted is not None  # _member checked it is a file
    return extracted.read()


def _manifest(data: bytes) -> Manifest:
    try:
        fields = json.loads(data)
        manifest = Manifest(**fields)
    except (ValueError, TypeError):
        raise ArchiveError("not a loopctl backup: unreadable manifest") from None
    if manifest.format != FORMAT or not isinstance(manifest.format_version, int):
        raise ArchiveError("not a loopctl backup: unknown format")
    if manifest.format_version > FORMAT_VERSION:
        raise ArchiveError(
            f"the backup has format version {manifest.format_version}; this loopctl reads "
            f"up to {FORMAT_VERSION}: upgrade loopctl"
        )
    return manifest
