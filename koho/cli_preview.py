"""``koho preview [PATH]``: what every enabled channel would send for the article being edited.

Planned by the channels through the run driver in a dry run (``flows/preview.py``): nothing is
recorded, written or sent, and no Prefect is started. Served on 127.0.0.1 and reloaded when
the file is saved (``koho/preview_server.py``), or written as static files with ``--out`` for a
pull request's CI artifact (ADR 0031).
"""

from __future__ import annotations

import importlib
import os
import sys
import webbrowser
from collections.abc import Callable
from pathlib import Path

import typer

from koho.cli_app import consoles
from koho.cli_words import _
from koho.preview_server import PreviewServer, Rendered
from koho.settings import Settings

out, err = consoles()

PathArg = typer.Argument(None, help="The article file (default: the one saved last).")
OutOpt = typer.Option(None, "--out", help="Write index.html and its files here instead.")
PortOpt = typer.Option(0, help="TCP port on 127.0.0.1 (default: a free one).")
NoBrowserOpt = typer.Option(False, "--no-browser", help="Do not open a browser.")


def preview(
    path: Path | None = PathArg,
    out_dir: Path | None = OutOpt,
    port: int = PortOpt,
    no_browser: bool = NoBrowserOpt,
) -> None:
    """Show what every enabled channel would send for one article; nothing is recorded or sent."""
    settings = Settings()
    preview_mod = importlib.import_module("flows.preview")  # the outer layer, by name (ADR 0002)
    target = path or preview_mod.latest_article(settings.content_dir)
    if target is None or not target.is_file():
        err.print(_("error: no article file {path}").format(path=target or "content/articles"), markup=False)
        raise typer.Exit(2)
    render = _renderer(settings, target)
    if out_dir is not None:
        write(render(), out_dir)
        out.print(_("Preview written: {path}").format(path=out_dir / "index.html"), markup=False)
        return
    server = PreviewServer(render, [target, settings.content_dir / "site.yaml"], port)
    server.current()  # plan once before the address is shown: the first page answers at once
    out.print(
        _("Preview of {path} on {url} (Ctrl+C stops)").format(path=target, url=server.url), markup=False, soft_wrap=True
    )
    if not no_browser and _has_browser():
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


def _renderer(settings: Settings, target: Path) -> Callable[[], Rendered]:
    """Plan the article (``flows.preview.gather``) and return its page and files."""
    gather = importlib.import_module("flows.preview").gather
    page = importlib.import_module("flows.preview_page").page

    def render() -> Rendered:
        made = gather(settings, target)
        return Rendered(lambda lang, switch, version: page(made, lang, switch, version), made.files)

    return render


def write(rendered: Rendered, folder: Path) -> None:
    """The preview as static files: ``index.html`` (Japanese), ``en.html`` and what they link."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(rendered.page("ja", "en.html", None), encoding="utf-8")
    (folder / "en.html").write_text(rendered.page("en", "index.html", None), encoding="utf-8")
    for name, data in rendered.files.items():
        dest = folder / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)


def _has_browser() -> bool:
    """A graphical browser to open: on Linux only with a display (webbrowser would otherwise
    start a text browser in this terminal, or nothing)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True
