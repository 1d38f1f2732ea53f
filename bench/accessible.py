#!/usr/bin/env python
"""Benchmark: the accessible editions of one 区報 issue of the sample content.

Run from the repository root: ``python bench/accessible.py`` (about a minute or two; needs the
``accessible`` extra). Figures, each in a fresh sentence cache:

- audio: seconds of speech per second of computation for the whole issue (readings, synthesis
  in up to two processes, loudness, MP3): goal >= 10 x real time;
- braille: cells per second for the same issue (readings and braille, pages, BRF);
- after one changed sentence: sentences synthesised again (goal 1), and that run's seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from channels.audio.edition import issue_parts  # noqa: E402
from channels.audio.render import mp3, programme  # noqa: E402
from channels.audio.speech import SpeechCache  # noqa: E402
from channels.braille.edition import edition  # noqa: E402
from koho.bulletin import issues_of  # noqa: E402
from koho.reader import read_corpus  # noqa: E402
from koho.reading_dictionary import load_reading_dictionary  # noqa: E402
from koho.site import load_site  # noqa: E402

AUDIO_TARGET = 10.0  # seconds of audio per second of computation
CONTENT = REPO / "content"


def main() -> None:
    """Print the figures and the ratio lines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="synthesis processes (default 2)")
    args = parser.parse_args()
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    every = issues_of(corpus.articles.values(), corpus.site, datetime(9999, 1, 1, tzinfo=UTC))
    issue = max((i for i in every if i.language == "ja"), key=lambda i: len(i.articles))
    dictionary, _ = load_reading_dictionary(CONTENT)
    with tempfile.TemporaryDirectory() as folder:
        cache = SpeechCache(Path(folder), workers=args.workers)
        started = time.perf_counter()
        made = programme(issue_parts(issue, dictionary), cache)
        mp3(made.samples)
        audio_s = time.perf_counter() - started
        first = cache.synthesised
        # One sentence changed: the first body sentence of the first article gets a word more.
        article = issue.articles[0]
        html = article.html.replace("。", "。なお、詳しくはお問い合わせください。", 1)
        changed = replace(issue, articles=(replace(article, html=html), *issue.articles[1:]))
        cache.synthesised = 0
        started = time.perf_counter()
        mp3(programme(issue_parts(changed, dictionary), cache).samples)
        again_s = time.perf_counter() - started
        again = cache.synthesised
        cache.close()
    started = time.perf_counter()
    braille = edition(issue.articles, dictionary)
    braille_s = time.perf_counter() - started
    cells = sum(len(line.replace("\u2800", "")) for page in braille.pages for line in page)
    speed = made.seconds / audio_s
    print(f"issue: {issue.label}, {len(issue.articles)} articles, {first} sentences")
    print(f"audio: {made.seconds:.1f} s of speech in {audio_s:.1f} s ({args.workers} synthesis processes)")
    print(f"braille: {cells} cells ({len(braille.pages)} pages) in {braille_s:.2f} s: {cells / braille_s:.0f} cells/s")
    print(f"after one changed sentence: {again} sentence(s) synthesised again, {again_s:.1f} s")
    verdict = "ok" if speed >= AUDIO_TARGET else "MISSED"
    print(f"ratio audio/computation: {speed:.1f} x real time (target >= {AUDIO_TARGET:.0f}) {verdict}")
    print(f"ratio re-synthesised/changed sentences: {again}/1 (target 1) {'ok' if again == 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
