#!/usr/bin/env python
"""Benchmark: what the archive's search index (Pagefind, channels/archive/search.py) costs.

Run from the repository root: ``python bench/search_index.py [--copies 50]``. Plans the sample
content's full archive (Japanese edition; ``--copies`` clones each article under new ids to
show how the cost grows) with and without the search bundle, and one article's incremental plan
with and without it: the baseline is the same plan without search, in the same process. Plans
only (no ledger, no store), so the figures are the index's own cost.
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
from koho.channel import PlanContext  # noqa: E402
from koho.reader import read_corpus  # noqa: E402
from koho.site import load_site  # noqa: E402

CONTENT = REPO / "content"


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=1, help="copies of each sample article")
    args = parser.parse_args()
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    moment = max(a.publish_at for a in corpus.articles.values())
    live = {}
    for n in range(args.copies):
        for article in corpus.articles.values():
            if article.is_due(moment):
                copy = article if n == 0 else dataclasses.replace(article, id=f"{article.id}-{n}")
                live[copy.id] = copy
    ctx = PlanContext(site=corpus.site, now=moment, live=live, published=frozenset(live))
    channel = ArchiveChannel("file:///tmp/koho-bench-unused", CONTENT)
    one = next(iter(live.values()))
    search = channel._search
    channel._search = lambda *a, **k: []  # type: ignore[method-assign]  # the baseline: no index
    channel.plan_all(ctx, "warm-up")  # templates compile and pages render once before timing
    without, _ = timed(lambda: channel.plan_all(ctx, "bench"))
    inc_without, _ = timed(lambda: channel.plan(one, ctx))
    channel._search = search  # type: ignore[method-assign]
    with_search, planned = timed(lambda: channel.plan_all(ctx, "bench"))
    inc_search, _ = timed(lambda: channel.plan(one, ctx))
    n = len(live)
    bundle = [d for d in planned if "pagefind/" in d.target]
    print(f"articles: {n}; search bundle files: {len(bundle)}")
    print(f"full plan without search: {without:.2f} s; with search: {with_search:.2f} s")
    print(f"search index: {with_search - without:.2f} s, {1000 * (with_search - without) / n:.2f} ms per article")
    print(f"one article's plan without search: {inc_without:.3f} s; with: {inc_search:.3f} s")
    print(f"ratio full with/without search: {with_search / without:.2f}")
    print(f"ratio incremental with/without search: {inc_search / inc_without:.2f}")


if __name__ == "__main__":
    main()
