"""Listening test of the audio edition: every sample article, headless.

For each Japanese sample article: what the voice is given contains the glossary's reading of
each ward term in the article (every sentence: the readings cost little), and its opening (the
title and the first sentences: synthesising every whole article takes minutes, more than the
suite spends on audio) is not silent and lasts what its morae take to say. ``slow``.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyopenjtalk", reason="the accessible extra: pip install -e '.[accessible]'")
pytest.importorskip("lameenc", reason="the accessible extra: pip install -e '.[accessible]'")

from channels.audio.edition import article_sentences  # noqa: E402
from channels.audio.render import RATE, programme  # noqa: E402
from channels.audio.speech import SpeechCache  # noqa: E402
from koho.reader import read_corpus  # noqa: E402
from koho.reading_dictionary import load_reading_dictionary  # noqa: E402
from koho.readings import pronounce  # noqa: E402
from koho.site import load_site  # noqa: E402

pytestmark = pytest.mark.slow

CONTENT = Path(__file__).resolve().parent.parent / "content"
CORPUS = read_corpus(CONTENT, load_site(CONTENT))
ARTICLES = sorted((a for a in CORPUS.articles.values() if a.language == "ja"), key=lambda a: a.id)
#: Morae per second of the bundled voice at speed 1.0, with room either side (a newsreader says
#: about 8); pauses between sentences and after headings come on top.
MORAE_PER_SECOND = (4.0, 14.0)
#: Sentences of each article said aloud: the title and the first two of the body.
HEARD = 3


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> SpeechCache:
    return SpeechCache(tmp_path_factory.mktemp("speech"))


@pytest.mark.parametrize("article", ARTICLES, ids=[a.id for a in ARTICLES])
def test_each_sample_article_is_heard_as_the_glossary_reads_it(article, cache: SpeechCache) -> None:
    dictionary, _ = load_reading_dictionary(CONTENT)
    every = article_sentences(article, dictionary)
    said = every[:HEARD]
    made = programme([said], cache)
    # Not silent: most 50 ms frames of every sentence carry sound above -45 dBFS.
    for clip in made.clips:
        samples = made.samples[int(clip.start * RATE) : int(clip.end * RATE)].astype(np.float64) / 32768
        frames = samples[: len(samples) // 1200 * 1200].reshape(-1, 1200)
        loud = np.sqrt((frames**2).mean(axis=1)) > 10 ** (-45 / 20)
        assert loud.mean() > 0.5, clip.sentence.text
    # Plausible duration for the morae (the speech itself, without the pauses between sentences).
    speech = sum(c.end - c.start for c in made.clips)
    morae = sum(s.mora for s in said)
    low, high = MORAE_PER_SECOND
    assert morae / high <= speech <= morae / low + 0.8 * len(said), (morae, speech)
    # Every ward term in the article is said the glossary's way.
    spoken = "".join(s.spoken for s in every)
    text = unicodedata.normalize("NFKC", article.title + " " + re.sub(r"<[^>]+>", " ", article.html))
    terms = [t for t in dictionary.readings if t in text]
    for term in terms:
        assert pronounce(dictionary.readings[term].replace(" ", "")) in spoken, term
