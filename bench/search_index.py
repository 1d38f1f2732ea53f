#!/usr/bin/env python
"""Benchmark: what the archive's search index (Pagefind, channels/archive/search.py) costs a run.

Run from the repository root: ``python bench/search_index.py [--copies 40] [--years 5] [--run 5]``.
The sample content's Japanese edition, each article cloned ``--copies`` times under new ids and
spread over ``--years`` years, so the edition has a realistic archive behind the new articles.

Baseline, in the same process: what every plan paid before ADR 0026 was revised, Pagefind over
the edition's whole live archive, once per plan; a run publishing ``--run`` articles paid it
that many times. Now: one ``plan_finish`` per run, which indexes the year of the run's articles
(their edition's newest), once. Plans only (no ledger, no store): the figures are the index's.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from channels.archive import ArchiveChannel  # noqa: E402
from channels.archive.pages import Editions  # noqa: E402
from channels.archive.search import search_bundle  # noqa: E402
from koho.channel import PlanContext  # noqa: E402
from koho.reader import read_corpus  # noqa: E402
from koho.site import load_site  # noqa: E402

CONTENT = REPO / "content"


def timed(fn, repeat: int = 2):
    """The best of ``repeat`` timings (the machine is shared: the best is the code's own) and the result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=40, help="copies of each sample article")
    parser.add_argument("--years", type=int, default=5, help="years the copies are spread over")
    parser.add_argument("--run", type=int, default=5, help="articles a run publishes")
    args = parser.parse_args()
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    moment = max(a.publish_at for a in corpus.articles.values())
    originals = [a for a in corpus.articles.values() if a.is_due(moment)]
    live = {}
    for n in range(args.copies):
        for article in originals:
            year = article.publish_at.year - n % args.years
            copy = dataclasses.replace(
                article, id=f"{article.id}-{n}", publish_at=article.publish_at.replace(year=year)
            )
            live[copy.id] = copy
    ctx = PlanContext(site=corpus.site, now=moment, live=live, published=frozenset(live))
    channel = ArchiveChannel("file:///tmp/koho-bench-unused", CONTENT)
    run = [a for a in live.values() if a.publish_at.year == moment.year][: args.run]

    editions = Editions(ctx.site, ctx.live, ctx.updated)
    renderer = channel._renderer(editions, ctx)
    index = editions.index(ctx.site.language)
    documents = {index.page_of(a): renderer.render(index.page_of(a)) for a in index.articles}  # rendered once
    per_plan, _ = timed(lambda: search_bundle(documents, ctx.site.language))
    finish_one, _ = timed(lambda: channel.plan_finish(run[:1], ctx))
    finish_run, planned = timed(lambda: channel.plan_finish(run, ctx))
    this_year = len(index.by_year[moment.year])

    print(f"edition: {len(index.articles)} articles over {len(index.by_year)} years ({this_year} in {moment.year})")
    print(f"baseline, per plan: Pagefind over the whole edition: {per_plan:.2f} s")
    print(f"baseline, a run of {len(run)} articles: {len(run)} plans x {per_plan:.2f} s = {len(run) * per_plan:.2f} s")
    print(f"now, a run of 1 article: plan_finish once (its year, its edition's search page): {finish_one:.2f} s")
    print(f"now, a run of {len(run)} articles: plan_finish once: {finish_run:.2f} s, {len(planned)} files offered")
    print(f"ratio run of 1, now/baseline: {finish_one / per_plan:.2f}")
    print(f"ratio run of {len(run)}, now/baseline: {finish_run / (len(run) * per_plan):.2f}")


if __name__ == "__main__":
    main()
