"""The Pelican baseline: the same articles in Pelican's format, built in one subprocess run.

Pelican is a mature static generator on the same Markdown library, so its full build is the
yardstick for koho's. Its settings are kept minimal and comparable (see PELICAN_CONF).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from corpus import SUBJECT_LABEL, Spec

PELICAN_CONF = """\
# Minimal, comparable Pelican settings written by bench/pelican_baseline.py.
AUTHOR = ""
SITENAME = "ねりま区報 アーカイブ"
SITEURL = ""
PATH = "content"
TIMEZONE = "Asia/Tokyo"
DEFAULT_LANG = "ja"
RELATIVE_URLS = True
THEME = "notmyidea"  # the default theme
# Pretty article URLs like koho's (one folder per article).
ARTICLE_URL = "articles/{slug}/"
ARTICLE_SAVE_AS = "articles/{slug}/index.html"
# Caching off: every run is a cold full build, like koho's.
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
# Feeds comparable to koho's: site-wide and per category (topic), Atom and RSS, newest 30.
FEED_MAX_ITEMS = 30
FEED_ALL_ATOM = "feeds/atom.xml"
FEED_ALL_RSS = "feeds/rss.xml"
CATEGORY_FEED_ATOM = "feeds/topics/{slug}/atom.xml"
CATEGORY_FEED_RSS = "feeds/topics/{slug}/rss.xml"
TRANSLATION_FEED_ATOM = None
TRANSLATION_FEED_RSS = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TAG_FEED_ATOM = None
TAG_FEED_RSS = None
# Listings paginated like koho's: the home page shows the newest {home} (koho's latest_count),
# a topic (category or tag) page {topic} (koho's TOPIC_PAGE_MAX); koho writes no further pages.
DEFAULT_PAGINATION = {home}
PAGINATED_TEMPLATES = {"index": None, "tag": {topic}, "category": {topic}, "author": None}
"""


#: Runs ``pelican`` like its console script, then reports the peak RSS of the Pelican process
#: itself. VmHWM, not getrusage: after fork/exec, ru_maxrss (self and children) still carries the
#: high-water mark of the (large) benchmark process the child was forked from.
PELICAN_WRAPPER = """\
import atexit, sys
def _hwm():
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    sys.stderr.write('BENCH_VMHWM_KB=' + line.split()[1] + '\\n')
    except OSError:
        pass
atexit.register(_hwm)
sys.argv = ['pelican'] + sys.argv[1:]
from pelican import main
import resource
def _cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
_started = _cpu()
atexit.register(lambda: sys.stderr.write('BENCH_CPU_S=%.3f\\n' % (_cpu() - _started)))
main()
"""


def pelican_markdown(spec: Spec) -> str:
    """The same article in Pelican's Markdown metadata format."""
    labels = [SUBJECT_LABEL[t] for t in spec.topics]
    meta = [
        f"Title: {spec.title}",
        f"Date: {spec.publish_at.isoformat()}",
        f"Category: {labels[0]}",
        f"Tags: {', '.join(labels)}",
        f"Summary: {spec.summary}",
        f"Slug: {spec.id}",
    ]
    if spec.status == "draft":
        meta.append("Status: draft")
    return "\n".join(meta) + "\n\n" + spec.body


def pelican_build(specs: list[Spec], root: Path, home: int = 20, topic: int = 50) -> dict:
    """Write Pelican's content (not timed), then time one ``pelican`` run in a subprocess.

    A subprocess, so Pelican's imports and memory do not mix with koho's in the benchmark process.
    ``home`` and ``topic`` paginate Pelican's listings as koho's are cut (``PELICAN_CONF``).
    Returns seconds (the compared figure), wall, internal, cpu (Pelican's CPU seconds after its
    import, like koho's), articles, files, bytes and rss (MB).
    """
    site = root / "pelican"
    articles = site / "content"
    articles.mkdir(parents=True)
    for spec in specs:
        folder = articles / str(spec.publish_at.year)
        folder.mkdir(exist_ok=True)
        (folder / f"{spec.id}.md").write_text(pelican_markdown(spec), encoding="utf-8")
    (site / "pelicanconf.py").write_text(
        PELICAN_CONF.replace("{home}", str(home)).replace("{topic}", str(topic)), encoding="utf-8"
    )
    env = dict(os.environ, COLUMNS="400", TERM="dumb", NO_COLOR="1")
    command = [sys.executable, "-c", PELICAN_WRAPPER, "content", "-o", "out", "-s", "pelicanconf.py"]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=site, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"pelican failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    output = " ".join((proc.stdout + proc.stderr).split())
    match = re.search(r"Done: Processed (\d+) articles?.*? in ([\d.]+) seconds", output)
    written = [p for p in (site / "out").rglob("*") if p.is_file()]
    cpu = re.search(r"BENCH_CPU_S=([\d.]+)", proc.stderr)
    hwm = re.search(r"BENCH_VMHWM_KB=(\d+)", proc.stderr)
    internal = float(match.group(2)) if match else None
    # ``seconds`` is the figure compared with koho's: Pelican's own time, which leaves out
    # interpreter start and imports as koho's does; the wall-clock time only if it printed none.
    return {
        "seconds": internal or wall,
        "wall": wall,
        "internal": internal,
        "articles": int(match.group(1)) if match else None,
        "files": len(written),
        "bytes": sum(p.stat().st_size for p in written),
        "cpu": float(cpu.group(1)) if cpu else None,
        "rss": int(hwm.group(1)) / 1024 if hwm else None,
    }


def pelican_available() -> bool:
    """Whether Pelican and Markdown are installed (the ``bench`` extra)."""
    try:
        import markdown  # noqa: F401
        import pelican  # noqa: F401
    except ImportError:
        return False
    return True
