"""Sentences -> one programme: pauses, loudness and MP3, with where each sentence is heard.

The DAISY book and the EPUB's media overlays need each sentence's start and end in the file,
so the programme keeps them (``Clip``) as it joins the samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from channels.audio.speech import RATE, Sentence, SpeechCache

#: Silence after a sentence, by what follows (seconds): a heading is set apart, articles more.
PAUSE_SENTENCE = 0.35
PAUSE_HEADING = 0.7
PAUSE_ARTICLE = 1.5
#: Podcast loudness (Apple's and most players' target for spoken word, ITU-R BS.1770).
TARGET_LUFS = -16.0
PEAK = 10 ** (-1.0 / 20)  # at most -1 dBFS after normalising, so the MP3 does not clip
BITRATE = 64  # kbit/s, mono speech


@dataclass(frozen=True)
class Clip:
    """Where one sentence is heard in the programme, in seconds."""

    sentence: Sentence
    part: int  # which article (or section) of the programme it belongs to
    start: float
    end: float


@dataclass(frozen=True)
class Programme:
    """Samples (int16, ``RATE``) and the clips they hold."""

    samples: np.ndarray
    clips: list[Clip]

    @property
    def seconds(self) -> float:
        """The programme's length."""
        return len(self.samples) / RATE


def programme(parts: Sequence[Sequence[Sentence]], cache: SpeechCache) -> Programme:
    """The parts (articles) said one after another with pauses, loudness-normalised."""
    said = cache.samples(s.spoken for part in parts for s in part)
    pieces: list[np.ndarray] = []
    clips: list[Clip] = []
    at = 0
    for number, part in enumerate(parts):
        if number:
            pieces.append(np.zeros(int(PAUSE_ARTICLE * RATE), dtype=np.int16))
            at += int(PAUSE_ARTICLE * RATE)
        for sentence in part:
            samples = said[sentence.spoken]
            clips.append(Clip(sentence, number, at / RATE, (at + len(samples)) / RATE))
            gap = int((PAUSE_HEADING if sentence.level else PAUSE_SENTENCE) * RATE)
            pieces.extend([samples, np.zeros(gap, dtype=np.int16)])
            at += len(samples) + gap
    joined = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
    return Programme(normalise(joined), clips)


def normalise(samples: np.ndarray) -> np.ndarray:
    """``samples`` at ``TARGET_LUFS`` integrated loudness (pyloudnorm, BS.1770), peaks at most -1 dBFS."""
    import pyloudnorm

    if len(samples) < RATE // 2:  # BS.1770 gates 400 ms blocks: shorter audio has no loudness
        return samples
    floats = samples.astype(np.float64) / 32768
    measured = pyloudnorm.Meter(RATE).integrated_loudness(floats)
    if not np.isfinite(measured):  # silence
        return samples
    gain = 10 ** ((TARGET_LUFS - measured) / 20)
    peak = float(np.max(np.abs(floats))) * gain
    if peak > PEAK:
        gain *= PEAK / peak  # a plain gain, never a limiter: speech keeps its shape
    louder: np.ndarray = np.clip(np.round(floats * gain * 32768), -32768, 32767).astype(np.int16)
    return louder


def mp3(samples: np.ndarray) -> bytes:
    """Mono MP3 of int16 ``samples`` (LAME through ``lameenc``)."""
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(BITRATE)
    encoder.set_in_sample_rate(RATE)
    encoder.set_channels(1)
    encoder.set_quality(5)  # 2 (best) takes twice as long and is not heard in 64 kbit/s speech
    return bytes(encoder.encode(samples.astype("<i2").tobytes()) + encoder.flush())
