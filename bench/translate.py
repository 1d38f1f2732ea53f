#!/usr/bin/env python
"""Benchmark: one 区報 issue into eight languages through koho, against plain argostranslate.

Run from the repository root: ``python bench/translate.py`` (needs the translate extra). In a
fresh temporary folder it builds and installs the tiny argos packages (ADR 0006: real
argostranslate, sentencepiece and CTranslate2, with a model that copies its input), then:

1. translates every article of the sample issue with the most articles into en, zh, ko, th,
   pt, es, id, vi through koho (segmentation, glossary, an empty translation memory, one model
   batch per article and language) and the same text through plain
   ``argostranslate.translate.translate`` per article (title, summary, body and alt texts as
   one text, one call per article and language), in the same process; prints both times and
   the ratio (target <= 1.0: segmentation must not cost more than batching saves);
2. changes one sentence of one article and translates the issue again through koho: prints
   the segments sent to the model per language (target: one each) and the time against step 1;
3. asks, as every publish does for listing pages, for every sample article's translation into
   the eight languages when all are already made: from the translation cache, against from the
   translation memory alone (segmenting again, every segment a memory hit), in a new
   translator each as a new run would open.

Model loading is excluded from both sides (a warm-up translation per language first).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scratch import scratch_folder  # noqa: E402

from tests import tiny_packages  # noqa: E402  (argostranslate itself only after isolate_argos)
from translations.translator import LANGUAGES  # noqa: E402

RATIO_TARGET = 1.0
EDIT = ("荒天の場合は中止します。", "荒天の場合は訓練を中止します。")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="repeat each side and keep the fastest")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    # One thread: the tiny models' matrices are so small that a second CTranslate2 thread costs
    # more in synchronisation than it computes (measured here: 150 segments 0.6 s with one
    # thread, 21.7 s with two, most of it system time). Real models are big enough to gain.
    parser.add_argument("--threads", type=int, default=1, help="CTranslate2 intra-op threads (ARGOS_INTRA_THREADS)")
    args = parser.parse_args()
    with scratch_folder("koho-bench-translate-", args.keep) as work:
        return run(work, args.rounds, args.threads)


def run(work: Path, rounds: int, threads: int) -> int:
    tiny_packages.isolate_argos(work / "argos", threads=threads)
    built = [tiny_packages.build_package("ja", lang, work / "packages") for lang in LANGUAGES]
    tiny_packages.install(built)

    from argostranslate import translate as argos

    from koho.bulletin import issues_of
    from koho.ledger import Ledger
    from koho.reader import read_corpus
    from koho.site import load_site
    from translations.checks import open_translator
    from translations.engine import model_pair

    content = REPO / "content"
    corpus = read_corpus(content, load_site(content), work / "cache")
    issue = max(
        issues_of(corpus.articles.values(), corpus.site, datetime(2100, 1, 1, tzinfo=UTC)),
        key=lambda i: len(i.articles),
    )
    articles = list(issue.articles)
    texts = {a.id: "\n".join([a.title, a.summary, a.body, *(i.alt for i in a.images)]) for a in articles}
    for lang in LANGUAGES:  # load every model on both sides before timing
        model_pair("ja", lang).translate(["準備。"])
        argos.translate("準備。", "ja", lang)

    def koho_pass(translator, items) -> tuple[float, Counter, int]:
        sent: Counter = Counter()
        segments = 0
        start = time.perf_counter()
        for lang in LANGUAGES:
            for article in items:
                result = translator.translate(article, lang)
                sent[lang] += result.translated
                segments += result.segments
        return time.perf_counter() - start, sent, segments

    def argos_pass() -> float:
        start = time.perf_counter()
        for lang in LANGUAGES:
            for article in articles:
                argos.translate(texts[article.id], "ja", lang)
        return time.perf_counter() - start

    koho_times, argos_times = [], []
    for round_ in range(rounds):
        ledger = Ledger(f"sqlite:///{work / f'koho-{round_}.db'}")  # an empty memory every round
        translator = open_translator(content, LANGUAGES, ledger.engine)
        seconds, first_sent, segments = koho_pass(translator, articles)
        koho_times.append(seconds)
        argos_times.append(argos_pass())
        if round_ < rounds - 1:
            ledger.close()
    koho_first, argos_first = min(koho_times), min(argos_times)

    edited_id = (
        next(a.id for a in articles if EDIT[0] in a.body)
        if any(EDIT[0] in a.body for a in articles)
        else articles[0].id
    )
    edited = [
        replace(a, body=_edit(a.body), revision=a.revision + "-edited") if a.id == edited_id else a for a in articles
    ]
    again, sent, _ = koho_pass(translator, edited)

    # 3. Every sample article in eight languages, already translated: memory only vs the cache.
    every = sorted(corpus.articles.values(), key=lambda a: a.id)
    koho_pass(open_translator(content, LANGUAGES, ledger.engine, work / "tcache"), every)  # fill both
    memory_only = min(koho_pass(open_translator(content, LANGUAGES, ledger.engine), every)[0] for _ in range(rounds))
    cached = min(
        koho_pass(open_translator(content, LANGUAGES, ledger.engine, work / "tcache"), every)[0] for _ in range(rounds)
    )
    ledger.close()

    ratio = koho_first / argos_first
    print(
        f"koho translate issue {issue.id} ({len(articles)} articles, {segments // len(LANGUAGES)} segments "
        f"per language x {len(LANGUAGES)} languages): {koho_first:.3f} s"
    )
    print(f"argostranslate.translate per article (same text, same run): {argos_first:.3f} s")
    verdict = "ok" if ratio <= RATIO_TARGET else "MISSED"
    print(f"ratio koho/argostranslate: {ratio:.2f} (target <= {RATIO_TARGET}) {verdict}")
    print(
        "after one changed sentence, segments sent to the model per language: "
        + ", ".join(f"{lang} {sent[lang]}" for lang in LANGUAGES)
        + (" (target: 1 each) ok" if set(sent.values()) == {1} else " (target: 1 each) MISSED")
    )
    print(f"re-translate after the change: {again:.3f} s, {again / koho_first:.1%} of the first koho run")
    print(
        f"every translation a publish reads ({len(every)} articles x {len(LANGUAGES)} languages, all made "
        f"before): translation cache {cached:.3f} s, memory only {memory_only:.3f} s, "
        f"ratio {cached / memory_only:.2f}"
    )
    print(
        f"  first run model calls: {sum(first_sent.values())} segments sent over {len(LANGUAGES)} languages; "
        f"threads {threads}; rounds {rounds} (fastest kept); edited article {edited_id}",
        file=sys.stderr,
    )
    return 0


def _edit(body: str) -> str:
    if EDIT[0] in body:
        return body.replace(EDIT[0], EDIT[1], 1)
    first = body.index("。")  # any article: change its first sentence
    return body[:first] + "（改）" + body[first:]


if __name__ == "__main__":
    sys.exit(main())
