"""`loopctl serve`: the embedded database (or an external one), migrations, then the API."""

import asyncio
import os
import shutil
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn

from loopctl.database.bootstrap import ensure_local_tenant, open_database, schema_problem
from loopctl.database.embedded import DataDirLock
from loopctl.platform.config import Settings
from loopctl.platform.observability import configure_logging


def _announce(raw: str, path: Path, settings: Settings) -> None:
    url = f"http://{settings.host}:{settings.port}/api/v1/tenants/me"
    typer.echo(f'loopctl: created tenant "local" and its user key (shown once; saved to {path}):')
    typer.echo(f"  {raw}")
    typer.echo(f'  try: curl -H "Authorization: Bearer {raw}" {url}')


def _note_signal(signum: int, frame: FrameType | None) -> None:
    """Stand-in handler: uvicorn restores it and re-sends the signal once it has drained."""


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
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = DataDirLock(settings.data_dir)
    try:
        lock.acquire()
    except RuntimeError as exc:
        typer.echo(f"loopctl: {exc}", err=True)
        raise typer.Exit(1) from None
    database = None
    try:
        database = open_database(settings, migrate=True)
        settings = database.settings
        problem = schema_problem(settings)
        if problem is not None:
            typer.echo(f"loopctl: refusing to serve: {problem}", err=True)
            raise typer.Exit(1)
        created = asyncio.run(ensure_local_tenant(settings))
        if created is not None:
            _announce(*created, settings)
        if settings.workers > 1:
            _metrics_dir(settings)
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
    finally:
        if database is not None:
            database.stop()
        lock.release()
