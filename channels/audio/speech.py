"""Readings -> speech: sentences spoken from the same tokens the braille edition spells (ADR 0034).

The synthesiser is Open JTalk's HTS engine with the voice bundled in ``pyopenjtalk-plus`` (the
``accessible`` extra; nothing is downloaded). It is given the *pronunciation* of each token
(``Token.reading``: katakana, ー for long vowels, は as ワ), never the print, so what is heard is
what the braille spells and what a volunteer reviewed: a glossary reading (シャクジイ) cannot be
re-guessed by the model at synthesis time. Punctuation becomes the pauses Open JTalk makes for
、 and 。.

Each sentence's samples are kept in a cache keyed by its spoken text and the voice settings,
so a corrected article synthesises only the sentences that changed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from koho.parse_cache import ParseCache
from koho.readings import Token

#: Samples per second of what is cached and encoded: the voice is made at 48 kHz, but speech
#: needs nothing above 12 kHz, and half the rate halves the cache and the encoder's work.
RATE = 24_000
_PAUSE = {"、": "、", ",": "、", "・": "、", ";": "、", ":": "、", "(": "、", ")": "、", "「": "、", "」": "、"}
_STOP = set("。.!?！？")


@dataclass(frozen=True)
class Voice:
    """The synthesiser's settings: part of every cache key, so changing one re-synthesises."""

    speed: float = 1.0
    half_tone: float = 0.0

    def key(self) -> str:
        """What the cache key carries of the voice: the package version and the settings."""
        return f"pyopenjtalk-plus {version('pyopenjtalk-plus')} speed={self.speed} half_tone={self.half_tone} {RATE}"


@dataclass(frozen=True)
class Sentence:
    """One sentence (or heading) to say: what it says in print, what the voice reads, its morae."""

    level: int  # the heading level of its block, 0 for body text
    text: str
    spoken: str
    mora: int


def sentences(level: int, tokens: Sequence[Token]) -> list[Sentence]:
    """A block's tokens cut into sentences at 。！？ (a heading is one sentence)."""
    out: list[Sentence] = []
    text: list[str] = []
    spoken: list[str] = []
    morae = 0

    def close() -> None:
        nonlocal morae
        said = "".join(spoken).strip("、")
        if said:
            out.append(Sentence(level, "".join(text).strip(), said if said.endswith("。") else said + "。", morae))
        text.clear()
        spoken.clear()
        morae = 0

    for token in tokens:
        text.append(token.text)
        if token.kind == "punctuation":
            if token.text in _STOP:
                spoken.append("。")
                if not level:
                    close()
            elif (mark := _PAUSE.get(token.text)) and spoken and not spoken[-1].endswith(("、", "。")):
                spoken.append(mark)
            continue
        spoken.append(token.reading)
        morae += token.mora
    close()
    return out


def _cache_key(spoken: str, voice: Voice) -> str:
    return hashlib.sha256(f"{voice.key()}\0{spoken}".encode()).hexdigest()


def _synthesise(job: tuple[str, Voice]) -> bytes:
    """One sentence's samples (16-bit, ``RATE``) from Open JTalk; runs in a worker process."""
    from scipy.signal import resample_poly

    from koho.readings import synthesiser

    spoken, voice = job
    samples, rate = synthesiser().tts(spoken, speed=voice.speed, half_tone=voice.half_tone)
    # The voice speaks at 48 kHz: a polyphase filter halves it without aliasing.
    halved = resample_poly(samples, RATE, rate)
    data: bytes = np.clip(halved, -32768, 32767).astype("<i2").tobytes()
    return data


class SpeechCache:
    """Samples of sentences already spoken, keyed by (spoken text, voice), in the state folder.

    ``synthesised`` counts the sentences this instance had to make (the bench's figure after
    one changed sentence)."""

    FILENAME = "speech.sqlite3"

    def __init__(self, directory: Path | None, voice: Voice | None = None, workers: int | None = None):
        self.voice = voice or Voice()
        self._store: ParseCache[bytes] = ParseCache(directory, self.FILENAME)
        self._memory: dict[str, bytes] = {}
        self.workers = workers if workers is not None else max(1, min(2, os.cpu_count() or 1))
        self.synthesised = 0

    def samples(self, spoken: Iterable[str]) -> dict[str, np.ndarray]:
        """Each spoken text's samples (int16 at ``RATE``): from the cache, the rest synthesised
        (in ``workers`` processes when there are many: the HTS engine holds one core per call)."""
        wanted = dict.fromkeys(spoken)
        found: dict[str, bytes] = {}
        missing: list[str] = []
        for said in wanted:
            key = _cache_key(said, self.voice)
            cached = self._memory.get(key) or self._store.get(key)
            if cached is None:
                missing.append(said)
            else:
                found[said] = cached
        if missing:
            jobs = [(said, self.voice) for said in missing]
            if self.workers > 1 and len(missing) >= 8:
                with ProcessPoolExecutor(self.workers) as pool:
                    made = list(pool.map(_synthesise, jobs, chunksize=4))
            else:
                made = [_synthesise(job) for job in jobs]
            fresh = {_cache_key(said, self.voice): data for said, data in zip(missing, made, strict=True)}
            self._store.update(fresh, ())
            self._memory.update(fresh)
            found.update(zip(missing, made, strict=True))
            self.synthesised += len(missing)
        return {said: np.frombuffer(found[said], dtype="<i2") for said in wanted}

    def close(self) -> None:
        """Close the cache file."""
        self._store.close()
