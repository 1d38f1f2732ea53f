"""No payload executes where residents read koho's output (issue 12, "Done when").

An article carries script payloads in its title, summary, change note, image alt text and body
(in forms that pass ``koho check`` but try to slip past the sanitiser). The real ``koho
publish`` builds the site, the feeds and the e-book; the mail's HTML is rendered by the mail
channel. Headless Chromium (Debian's /usr/bin/chromium through Playwright) then opens every
sink: the article page and the home page, the mail HTML, each EPUB XHTML document as
application/xhtml+xml, and the RSS and Atom entries as a naive feed reader shows them (HTML
fields through innerHTML, text fields as text). Nothing may run: no dialog, no marker set, no
script element, no on* attribute and no javascript: URL in any DOM. If Chromium or Playwright is
missing, the test fails: a security check that skips is no check.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.test_cli import koho

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RUN = "window.__pwned=1;alert(1)"
SCRIPTY = f'<script>{RUN}</script><img src=x onerror="{RUN}"><svg/onload={RUN}>'
TITLE = f'<script>{RUN}</script><img src=x onerror="{RUN}">]]>'
ARTICLE = f"""---
title: '防災 {TITLE}'
publish_at: 2026-10-29 09:00
summary: '要約 {SCRIPTY} &lt;img src=x onerror={RUN}&gt;'
change_note: '訂正 {SCRIPTY}'
topics: [bousai]
bulletin: 2026-11-01
images:
  - src: media/sogo-bousai-kunren-2026-map.png
    alt: '地図" onerror="{RUN}" x="{SCRIPTY}'
    caption: '図 {SCRIPTY}'
---
本文です。[リンク](&#106;avascript:{RUN}) と <a href="jav&#x09;ascript:{RUN}">これ</a>。

<abbr title="x">略</abbr> <a title='"&gt;&lt;script&gt;{RUN}&lt;/script&gt;' href="https://example.com/">外</a>

`&lt;script&gt;{RUN}&lt;/script&gt;` ]]>&lt;img src=x onerror&#61;{RUN}&gt; <![CDATA[ x ]]>
"""

AUDIT = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    if (el.localName === 'script') bad.push('script element');
    for (const a of el.attributes) {
      if (a.name.toLowerCase().startsWith('on')) bad.push('attribute ' + a.name + ' on ' + el.localName);
      const scripted = /^\\s*(javascript|vbscript|data):/i.test(a.value);
      if (scripted && /href|src|action/i.test(a.name)) bad.push(a.name + '=' + a.value);
    }
  }
  if (window.__pwned) bad.push('marker set');
  return bad;
}"""


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        pytest.fail(f"playwright is required for the browser check: {exc}")
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is required for the browser check"
    with sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


def audit(browser, load) -> list[str]:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.route(
        "**/*",
        lambda route: (
            route.abort() if not route.request.url.startswith(("file:", "data:", "about:")) else route.continue_()
        ),
    )
    load(page)
    page.wait_for_timeout(300)  # let any onerror/onload fire (the browser's clock, not koho's)
    found = page.evaluate(AUDIT) + [f"dialog {m}" for m in dialogs]
    page.close()
    return found


def reader_page(fields: list[tuple[str, bool]]) -> str:
    """A naive feed reader: HTML fields through innerHTML, text fields as text."""
    data = json.dumps(fields).replace("<", "\\u003c")  # the data must not close this very script
    return (
        "<!doctype html><meta charset=utf-8><body><script>const items = "
        + data
        + ";for (const [v, html] of items){const d=document.createElement('div');"
        "if (html) d.innerHTML=v; else d.textContent=v; document.body.appendChild(d);}"
        "document.currentScript.remove();</script>"
    )


@pytest.mark.usefixtures("prefect_harness")
def test_no_payload_executes_in_any_output(workspace, browser):
    from prefect.settings import PREFECT_API_URL

    (workspace / "content" / "articles" / "payload.md").write_text(ARTICLE, encoding="utf-8")
    check = koho("check", cwd=workspace)
    assert check.returncode == 0, check.stderr
    result = koho(
        "publish", "-c", "archive", "-c", "feeds", "-c", "ebook", cwd=workspace, api_url=PREFECT_API_URL.value()
    )
    assert result.returncode == 0, result.stderr
    public = workspace / "public"
    failures: dict[str, list[str]] = {}

    for page in ("articles/payload/index.html", "index.html", "bulletin/2026-11-01/index.html"):
        path = public / page
        assert path.is_file(), page
        failures[page] = audit(browser, lambda p, path=path: p.goto(path.as_uri()))

    from channels.mail.message import Identity, render
    from koho.reader import read_corpus
    from koho.site import load_site

    content = workspace / "content"
    corpus = read_corpus(content, load_site(content))
    identity = Identity("ねりま情報メール", "info-mail@example.jp", "info-mail.example.jp", "https://example.jp/mail/")
    mail_html = render(corpus.articles["payload"], corpus.site, identity).html
    failures["mail html"] = audit(browser, lambda p: p.set_content(mail_html))

    [epub] = list(public.glob("ebooks/2026-11-01/*-ja.epub"))
    unpacked = workspace / "epub"
    with zipfile.ZipFile(epub) as book:
        book.extractall(unpacked)
    for xhtml in sorted(unpacked.rglob("*.xhtml")):
        failures[f"epub {xhtml.name}"] = audit(browser, lambda p, x=xhtml: p.goto(x.as_uri()))

    rss = ElementTree.parse(public / "feeds" / "rss.xml").getroot()
    [item] = [i for i in rss.iter("item") if "payload" in (i.findtext("link") or "")]
    fields = [
        (item.findtext("title") or "", False),
        (item.findtext("description") or "", True),
        (item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") or "", True),
    ]
    failures["rss"] = audit(browser, lambda p: p.set_content(reader_page(fields)))

    atom_ns = "{http://www.w3.org/2005/Atom}"
    atom = ElementTree.parse(public / "feeds" / "atom.xml").getroot()
    [entry] = [e for e in atom.iter(f"{atom_ns}entry") if "payload" in (e.findtext(f"{atom_ns}id") or "")]
    fields = [
        (el.text or "", el.get("type") in ("html", "xhtml"))
        for el in entry
        if el.tag in (f"{atom_ns}title", f"{atom_ns}summary", f"{atom_ns}content")
    ]
    assert len(fields) == 3
    failures["atom"] = audit(browser, lambda p: p.set_content(reader_page(fields)))

    assert {k: v for k, v in failures.items() if v} == {}
    # The payloads are shown as text, not dropped: a reader sees what the author wrote.
    assert "<script>" in (public / "articles/payload/index.html").read_text(encoding="utf-8").replace(
        "&lt;", "<"
    ).replace("&gt;", ">")
