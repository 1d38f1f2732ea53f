"""The audio edition (声の広報): speech from the braille's readings, the sentence cache,
loudness and MP3. Synthesis here uses short texts (about 0.1 s of work each)."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyopenjtalk", reason="the accessible extra: pip install -e '.[accessible]'")
pytest.importorskip("lameenc", reason="the accessible extra: pip install -e '.[accessible]'")

from channels.audio.render import PEAK, RATE, TARGET_LUFS, mp3, normalise, programme  # noqa: E402
from channels.audio.speech import SpeechCache, Voice, sentences  # noqa: E402
from koho.bulletin import BulletinIssue, issues_of  # noqa: E402
from koho.channel import PlanContext  # noqa: E402
from koho.delivery import State  # noqa: E402
from koho.reader import read_corpus  # noqa: E402
from koho.readings import read  # noqa: E402
from koho.site import load_site  # noqa: E402
from tests.clock import PINNED_NOW  # noqa: E402

CONTENT = Path(__file__).resolve().parent.parent / "content"

DICTIONARY = {"光が丘": "ヒカリガオカ", "石神井公園": "シャクジイ コウエン"}


def test_speech_reads_the_pronunciation_the_dictionary_gives() -> None:
    (title,) = sentences(1, read("石神井公園のお知らせ", DICTIONARY))
    assert title.spoken.startswith("シャクジイコーエン") and title.level == 1
    body = sentences(0, read("光が丘で会議を行います。11月15日です。", DICTIONARY))
    assert [s.text for s in body] == ["光が丘で会議を行います。", "11月15日です。"]
    assert body[0].spoken.startswith("ヒカリガオカデ") and body[1].spoken.endswith("。")
    assert body[0].mora == sum(t.mora for t in read("光が丘で会議を行います。", DICTIONARY))


def test_only_changed_sentences_are_synthesised_again(tmp_path: Path) -> None:
    parts = [sentences(0, read("光が丘で会議を行います。参加は無料です。", DICTIONARY))]
    first = SpeechCache(tmp_path, workers=1)
    made = programme(parts, first)
    assert first.synthesised == 2 and made.seconds > 1
    first.close()
    again = SpeechCache(tmp_path, workers=1)  # a later run: the cache file, not the memory
    assert programme(parts, again).samples.tobytes() == made.samples.tobytes()
    assert again.synthesised == 0
    changed = [sentences(0, read("光が丘で会議を行います。参加は有料です。", DICTIONARY))]
    programme(changed, again)
    assert again.synthesised == 1
    slower = SpeechCache(tmp_path, Voice(speed=0.9), workers=1)  # the voice is part of the key
    programme(parts[:1], slower)
    assert slower.synthesised == 2


def test_clips_say_where_each_sentence_is_heard(tmp_path: Path) -> None:
    parts = [sentences(1, read("会議", DICTIONARY)), sentences(0, read("参加は無料です。", DICTIONARY))]
    made = programme(parts, SpeechCache(tmp_path, workers=1))
    assert [c.part for c in made.clips] == [0, 1]
    assert 0 == made.clips[0].start < made.clips[0].end < made.clips[1].start < made.clips[1].end <= made.seconds
    assert made.clips[1].start - made.clips[0].end > 1.5  # the pause between articles


def test_loudness_is_normalised_without_clipping() -> None:
    import pyloudnorm

    time = np.arange(RATE * 3) / RATE
    quiet = (np.sin(2 * np.pi * 220 * time) * 800 * (1 + np.sin(2 * np.pi * 3 * time))).astype(np.int16)
    loud = normalise(quiet)
    measured = pyloudnorm.Meter(RATE).integrated_loudness(loud.astype(np.float64) / 32768)
    assert abs(measured - TARGET_LUFS) < 0.5 or np.max(np.abs(loud)) / 32768 >= PEAK - 0.01
    assert np.max(np.abs(loud)) / 32768 <= PEAK + 1e-3


def test_mp3_is_mono_mpeg_audio_of_the_right_length(tmp_path: Path) -> None:
    made = programme([sentences(0, read("参加は無料です。", DICTIONARY))], SpeechCache(tmp_path, workers=1))
    data = mp3(made.samples)
    assert data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xe3") or data[:3] == b"ID3"
    from mutagen.mp3 import MP3  # an independent parser of the frames

    info = MP3(io.BytesIO(data)).info
    assert info.channels == 1 and info.sample_rate == RATE
    assert abs(info.length - made.seconds) < 0.2


@pytest.fixture(scope="module")
def speech_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One sentence cache for the channel tests of this module: each title is said once."""
    return tmp_path_factory.mktemp("speech")


def _short_issue() -> tuple[BulletinIssue, PlanContext]:
    """The latest sample issue with two of its articles cut to a title and a sentence (fast to say)."""
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    issue = issues_of(corpus.articles.values(), corpus.site, PINNED_NOW)[-1]
    html = "<h2>お問い合わせ</h2><p>{}番目のお知らせです。</p>"
    short = tuple(replace(a, html=html.format(n)) for n, a in enumerate(issue.articles[:2], 1))
    issue = BulletinIssue(issue.day, issue.appears_at, short)
    return issue, PlanContext(corpus.site, PINNED_NOW, {a.id: a for a in short})


@pytest.mark.slow  # 10-30 s: the titles of two sample articles said, the issue's files made
def test_the_channel_writes_an_mp3_per_article_and_per_issue(tmp_path: Path, speech_cache: Path) -> None:
    from channels.audio.channel import AudioChannel

    issue, ctx = _short_issue()
    channel = AudioChannel(f"file://{tmp_path}/public", CONTENT, cache_dir=speech_cache)
    (article_row,) = channel.plan(issue.articles[0], ctx)
    assert article_row.target == f"audio/articles/{issue.articles[0].id}.mp3"
    assert (article_row.article_id, article_row.revision) == (issue.articles[0].id, issue.articles[0].revision)
    rows = channel.plan_issue(issue, ctx)
    day = issue.day.isoformat()
    assert [d.target for d in rows] == [
        f"audio/{day}/kuho-{day}.mp3",
        f"audio/{day}/kuho-{day}.daisy.zip",
        f"audio/{day}/kuho-{day}.audio.epub",
        "audio/podcast.xml",  # files of the site, keyed by their bytes
        "audio/podcast.png",
    ]
    assert {(d.article_id, d.revision, d.language) for d in rows[:3]} == {(issue.id, issue.revision, "ja")}
    assert {d.article_id for d in rows[3:]} == {"_site"}
    assert rows == channel.plan_issue(issue, ctx)  # the same plan twice, the second from the cache
    assert all(r.state == State.SENT for r in channel.deliver([article_row, *rows]))
    assert (tmp_path / "public" / rows[0].target).read_bytes() == rows[0].body()
    english = BulletinIssue(issue.day, issue.appears_at, tuple(replace(a, language="en") for a in issue.articles))
    assert channel.plan_issue(english, ctx) == [] and channel.plan(english.articles[0], ctx) == []
    # Withdrawn after it was written: its MP3 is taken down, once (a row of the withdrawn revision).
    gone = replace(issue.articles[0], status="withdrawn", revision="withdrawn-revision")
    assert channel.plan(gone, replace(ctx, published=frozenset())) == []  # never written: nothing to take down
    (removal,) = channel.plan(gone, replace(ctx, published=frozenset({gone.id})))
    assert (removal.target, removal.revision) == (article_row.target, gone.revision)
    assert [r.state for r in channel.deliver([removal])] == [State.SENT]
    assert [r.state for r in channel.deliver([removal])] == [State.SKIPPED]  # already gone
    assert not (tmp_path / "public" / article_row.target).exists()


def test_without_the_extra_audio_is_skipped_with_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import channels.audio.channel as audio_channel

    monkeypatch.setattr(audio_channel, "available", lambda: False)
    issue, ctx = _short_issue()
    channel = audio_channel.AudioChannel(f"file://{tmp_path}/public", CONTENT)
    (row,) = channel.plan_issue(issue, ctx)
    (article_row,) = channel.plan(issue.articles[0], ctx)
    assert row.revision != issue.revision and article_row.revision != issue.articles[0].revision
    receipts = channel.deliver([row, article_row])
    assert all(r.state == State.SKIPPED and "pip install -e '.[accessible]'" in (r.detail or "") for r in receipts)
    assert not (tmp_path / "public").exists() or not list((tmp_path / "public").rglob("*"))


@pytest.mark.slow  # about 17 s on a busy machine when the titles are not in the cache yet
def test_the_daisy_book_is_read_back_by_an_independent_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, speech_cache: Path
) -> None:
    import typing
    import zipfile

    import typing_extensions

    # daisy-dtb 0.0.17 imports typing.override (Python 3.12); koho runs on 3.11, which has it
    # in typing_extensions only. The reader itself needs nothing else of 3.12.
    monkeypatch.setattr(typing, "override", typing_extensions.override, raising=False)
    import chardet.universaldetector  # noqa: F401  (chardet 7 no longer imports it for daisy-dtb)
    from daisy_dtb import DaisyBook, FolderDtbSource

    from channels.audio.channel import AudioChannel

    issue, ctx = _short_issue()
    channel = AudioChannel(f"file://{tmp_path}/public", CONTENT, cache_dir=speech_cache)
    daisy = next(d for d in channel.plan_issue(issue, ctx) if d.target.endswith(".daisy.zip"))
    folder = tmp_path / "book"
    zipfile.ZipFile(io.BytesIO(daisy.body())).extractall(folder)
    read_back = DaisyBook(FolderDtbSource(f"{folder}/"))
    meta = {m.name: m.content for m in read_back.metadata}
    assert meta["dc:format"] == "Daisy 2.02" and meta["ncc:multimediaType"] == "audioNcc"
    assert int(meta["ncc:files"]) == len(list(folder.iterdir()))
    entries = read_back.toc_entries
    titles = [e.text for e in entries if e.level == 1]
    assert titles[1:] == [a.title for a in issue.articles]  # every article, in order, after the issue's name
    assert [e.text for e in entries if e.level == 2] == ["お問い合わせ"] * len(issue.articles)
    for entry in entries:  # each heading's SMIL is there and says something
        smil = entry.smil_reference.resource
        assert (folder / smil).is_file() and "clip-end" in (folder / smil).read_text(encoding="utf-8")


@pytest.mark.slow  # EPUBCheck (java) and DAISY Ace (Chromium)
def test_the_epub_with_media_overlays_passes_epubcheck_and_ace(tmp_path: Path, speech_cache: Path) -> None:
    import re
    import zipfile

    from channels.audio.channel import AudioChannel
    from tests import epubcheck
    from tests.validators import tools

    issue, ctx = _short_issue()
    channel = AudioChannel(f"file://{tmp_path}/public", CONTENT, cache_dir=speech_cache)
    row = next(d for d in channel.plan_issue(issue, ctx) if d.target.endswith("audio.epub"))
    path = tmp_path / "book.epub"
    path.write_bytes(row.body())
    with zipfile.ZipFile(path) as book:
        for name in (n for n in book.namelist() if n.endswith(".smil")):
            overlay = book.read(name).decode()
            page = book.read(name.replace(".smil", ".xhtml")).decode()
            ids = re.findall(r'<text src="[^#]+#([^"]+)"', overlay)
            assert ids and all(f'id="{i}"' in page for i in ids)  # every overlay entry names a sentence
            assert f"audio/{name.rsplit('/', 1)[-1].replace('.smil', '.mp3')}" in overlay
        assert "media:duration" in book.read("EPUB/package.opf").decode()
    assert epubcheck.check([path]) == {path: []}
    serious = [a for a in tools.ace([path])[path] if a.get("earl:impact") in ("critical", "serious")]
    assert serious == []
