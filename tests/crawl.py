"""A link checker for a published site, over its files (a folder or an S3 prefix, read alike).

Every reference in every page, stylesheet, feed, sitemap and robots.txt is resolved the way a
browser or crawler would: relative ones against the file, root-absolute ones (``/static/…``, the
404 page's) against the base URL's path, absolute ones under the site's base URL likewise; each
must name a file of the site (``dir/`` meaning ``dir/index.html``), and a ``#fragment`` an id in
that page. References elsewhere (other hosts, ``mailto:``) and under ``outside`` (the info-mail
pages ``koho serve`` answers) are not the site's to hold.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lxml import etree, html

#: Where HTML keeps references to other files.
HTML_REFS = "//a/@href | //link/@href | //img/@src | //script/@src | //source/@src | //iframe/@src | //form/@action"
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


@dataclass
class Report:
    """What a crawl found: broken references as ``file -> reference`` and everything checked."""

    broken: list[str] = field(default_factory=list)
    checked: int = 0
    reached: set[str] = field(default_factory=set)


def read_folder(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its POSIX path relative to it."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def read_s3(client, bucket: str, prefix: str) -> dict[str, bytes]:
    """Every object under ``prefix/`` by its key relative to the prefix."""
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            out[obj["Key"][len(prefix) + 1 :]] = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return out


def references(path: str, body: bytes) -> list[str]:
    """The references a file holds (none for files that hold none: images, EPUBs)."""
    if path.endswith(".html"):
        return [str(r) for r in html.fromstring(body).xpath(HTML_REFS)]
    if path.endswith(".css"):
        return CSS_URL.findall(body.decode("utf-8"))
    if path.endswith(".xml"):
        tree = etree.fromstring(body)
        refs = [str(r) for r in tree.xpath("//@href")]
        # Sitemap <loc>, RSS <link> and <guid isPermaLink>: text that is a URL.
        refs += [
            el.text.strip()
            for el in tree.iter()
            if isinstance(el.tag, str) and etree.QName(el).localname in ("loc", "link") and el.text and el.text.strip()
        ]
        return refs
    if path == "robots.txt":
        return [line.split(":", 1)[1].strip() for line in body.decode().splitlines() if line.startswith("Sitemap:")]
    return []


def crawl(
    files: Mapping[str, bytes], base_url: str, outside: Iterable[str] = (), rooted: Iterable[str] = ("404.html",)
) -> Report:
    """Check every reference of ``files`` (the whole site); ``rooted`` pages are served at any
    missing path, so a relative reference there is broken wherever it points."""
    report = Report()
    base_path = urlsplit(base_url).path or "/"
    outside = tuple(outside)
    ids: dict[str, set[str]] = {}

    def anchors(target: str) -> set[str]:
        if target not in ids:
            doc = html.fromstring(files[target])
            ids[target] = {str(v) for v in doc.xpath("//@id | //a/@name")}
        return ids[target]

    for path, body in files.items():
        for ref in references(path, body):
            report.checked += 1
            target = resolve(path, ref, base_url, base_path, outside)
            if target is None:
                continue
            name, fragment = target
            if path in rooted and not (ref.startswith(("/", "#")) or "://" in ref):
                report.broken.append(f"{path} -> {ref} (relative on a page served at any path)")
            elif name not in files:
                report.broken.append(f"{path} -> {ref}")
            elif fragment and name.endswith(".html") and fragment not in anchors(name):
                report.broken.append(f"{path} -> {ref} (no id {fragment!r})")
            else:
                report.reached.add(name)
    return report


def resolve(page: str, ref: str, base_url: str, base_path: str, outside: tuple[str, ...]) -> tuple[str, str] | None:
    """The site file (and fragment) ``ref`` on ``page`` names, or None when it is not the site's."""
    if ref.startswith(outside):
        return None
    if ref.startswith(base_url):
        ref = "/" + ref[len(base_url) :].lstrip("/")
        base_path_here = "/"
    elif re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", ref):
        return None  # another host, mailto:, tel:, data:
    else:
        base_path_here = base_path
    parts = urlsplit(ref)
    target = unquote(parts.path)
    if not target:
        target = page  # "#main", "?lang=en"
    elif target.startswith("/"):
        if not target.startswith(base_path_here):
            return (f"(outside the site root) {target}", parts.fragment)
        target = target[len(base_path_here) :]
    else:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page), target)) + (
            "/" if target.endswith("/") else ""
        )
        if target.startswith("../") or target == "..":
            return (f"(above the site root) {ref}", parts.fragment)
    if target in ("", ".", "./") or target.endswith("/"):
        target = target.rstrip("./").rstrip("/")
        target = f"{target}/index.html" if target else "index.html"
    return target, parts.fragment


SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}


def sitemap_files(public: Path) -> list[Path]:
    """The files the sitemap index (``sitemap.xml``) lists, in its order, read from the folder:
    a listed file must exist and no file under ``sitemaps/`` other than an empty one is left out."""
    index = etree.parse(str(public / "sitemap.xml")).getroot()
    assert etree.QName(index).localname == "sitemapindex"
    locs = index.xpath("//s:loc/text()", namespaces=SITEMAP_NS)
    files = [public / "sitemaps" / loc.rsplit("/sitemaps/", 1)[1] for loc in locs]
    assert all(f.is_file() for f in files), files
    for other in set((public / "sitemaps").glob("*.xml")) - set(files):
        assert not etree.parse(str(other)).xpath("//s:url", namespaces=SITEMAP_NS), f"{other} is not in the index"
    return files


def sitemap_urls(public: Path) -> list:
    """Every ``<url>`` element of every file the sitemap index lists."""
    return [u for f in sitemap_files(public) for u in etree.parse(str(f)).xpath("//s:url", namespaces=SITEMAP_NS)]


def sitemap_text(public: Path) -> str:
    """The text of the sitemap index and of every file it lists (for "is this URL listed")."""
    return "\n".join(f.read_text(encoding="utf-8") for f in [public / "sitemap.xml", *sitemap_files(public)])
