"""`loopctl serve`: the embedded database (or an external one), migrations, then the API."""

import asyncio
import errno
import os
import shutil
import signal
import socket
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import typer
import uvicorn

from loopctl.database.bootstrap import ensure_local_tenant, open_database, schema_problem
from loopctl.database.embedded import DataDirLock
from loopctl.database.pgcluster import ClusterError
from loopctl.platform.config import Settings
from loopctl.platform.observability import configure_logging


def _announce(raw: str, path: Path, settings: Settings) -> None:
    url = f"http://{settings.host}:{settings.port}/api/v1/tenants/me"
    typer.echo(f'loopctl: created tenant "local" and its user key (shown once; saved to {path}):')
    typer.echo(f"  {raw}")
    typer.echo(f'  try: curl -H "Authorization: Bearer {raw}" {url}')


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _note_signal(signum: int, frame: FrameType | None) -> None:
    """Stand-in handler: uvicorn restores it and re-sends the signal once it has drained."""


def port_problem(host: str, port: int) -> str | None:
    """Why uvicorn could not listen on host:port, checked before anything is started."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot listen on {host}: {exc.strerror}; check --host / LOOPCTL_HOST"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As uvicorn binds: with SO_REUSEADDR, so a port in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use by another program; "
                    "choose another with --port or LOOPCTL_PORT"
                )
            return f"cannot listen on {host}:{port}: {exc.strerror}; check --host and --port"
    return None


def _metrics_dir(settings: Settings) -> None:
    # Several workers share their metrics through files; start each run empty.
    path = settings.data_dir / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [default: 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 4000]")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where the embedded database, credentials and local key live"),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes [default: 1]")
    ] = None,
) -> None:
    """Run the server: embedded PostgreSQL unless LOOPCTL_DATABASE_URL is set, migrations, API."""
    overrides = {"host": host, "port": port, "data_dir": data_dir, "workers": workers}
    for name, value in overrides.items():
        if value is not None:
            os.environ[f"LOOPCTL_{name.upper()}"] = str(value)
    settings = Settings()
    configure_logging(settings.log_level)
    problem = port_problem(settings.host, settings.port)
    if problem is not None:
        _fail(problem)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = DataDirLock(settings.data_dir)
    try:
        lock.acquire()
    except RuntimeError as exc:
        _fail(str(exc))
    database = None
    # Until uvicorn runs, SIGTERM unwinds like Ctrl-C, so PostgreSQL is stopped on the way out.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            database = open_database(settings, migrate=True, create=True)
        except ClusterError as exc:
            _fail(str(exc))
        _prepare(database.settings)
        _run(database.settings)
    finally:
        if database is not None:
            database.stop()
        lock.release()


def _fail(message: str) -> NoReturn:
    typer.echo(f"loopctl: {message}", err=True)
    raise typer.Exit(1)


def _prepare(settings: Settings) -> None:
    problem = schema_problem(settings)
    if problem is not None:
        _fail(f"refusing to serve: {problem}")
    created = asyncio.run(ensure_local_tenant(settings))
    if created is not None:
        _announce(*created, settings)
    if settings.workers > 1:
        _metrics_dir(settings)


def _run(settings: Settings) -> None:
    # Without these, the re-sent signal would kill us before PostgreSQL is stopped.
    signal.signal(signal.SIGTERM, _note_signal)
    signal.signal(signal.SIGINT, _note_signal)
    uvicorn.run(
        "loopctl.platform.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=None,
        access_log=False,
        server_header=False,
        # Refusals of unparseable requests in the error envelope (platform/protocols.py).
        http="loopctl.platform.protocols:HttpProtocol",
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        timeout_graceful_shutdown=30,
    )
