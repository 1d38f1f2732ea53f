"""``koho server``: start, status and stop the local Prefect server that publish, publish-due and
build reuse when ``PREFECT_API_URL`` is not set (``koho/prefect_server.py``, ADR 0015)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import typer

from koho import runner
from koho.cli_app import consoles, typer_app
from koho.prefect_server import LocalServer, ServerError, ServerInfo
from koho.settings import Settings

app = typer_app("The local Prefect server koho starts once and reuses (without PREFECT_API_URL).")
out, err = consoles()


def _server() -> LocalServer:
    settings = Settings()
    return LocalServer(settings.state_dir, settings.prefect_server_timeout)


@contextmanager
def _or_exit() -> Iterator[None]:
    """A ServerError becomes one line and exit code 2."""
    try:
        yield
    except ServerError as exc:
        err.print(f"error: {exc}", style="bold red", soft_wrap=True)
        raise typer.Exit(2) from None


def _external_note() -> bool:
    url = os.environ.get("PREFECT_API_URL")
    if url:
        out.print(f"PREFECT_API_URL is set: koho's commands use {url} and start no server of their own.")
    return bool(url)


def _describe(server: LocalServer, info: ServerInfo) -> None:
    started = datetime.fromisoformat(info.started_at).astimezone()
    out.print(
        f"Prefect server: {info.url}  (UI {info.ui_url})\n"
        f"pid {info.pid}, Prefect {info.prefect_version}, started {started:%Y-%m-%d %H:%M:%S}\n"
        f"log: {server.log_path}"
    )
    place = runner.Place(server.dir)
    warm = place.recorded()
    if warm is None:
        out.print("Warm runner: none (the next publish, publish-due or build leaves one)")
    else:
        since = datetime.fromisoformat(warm["started_at"]).astimezone()
        out.print(
            f"Warm runner: pid {warm['pid']}, started {since:%Y-%m-%d %H:%M:%S}, "
            f"{warm['served']} command(s) served; log: {place.log}"
        )


@app.command()
def start() -> None:
    """Start the local Prefect server now (publish, publish-due and build start it when needed)."""
    _external_note()
    server = _server()
    with _or_exit():
        info = server.ensure()
    _describe(server, info)


@app.command()
def status() -> None:
    """Show the local Prefect server; exit code 1 when none is running."""
    external = _external_note()
    server = _server()
    info = server.running()
    if info is None:
        then = "none is needed" if external else "the next publish, publish-due or build starts one"
        out.print(f"No local Prefect server is running (state in {server.dir}); {then}.")
        raise typer.Exit(1)
    _describe(server, info)


@app.command()
def stop() -> None:
    """Stop the local Prefect server and the warm runner (flow runs stay in its database)."""
    server = _server()
    with _or_exit():
        info = server.stop()
    if info is None:
        out.print("No local Prefect server was running.")
    else:
        out.print(f"Stopped the Prefect server (pid {info.pid}, port {info.port}).")
