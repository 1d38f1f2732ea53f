"""The readings of ward terms: the ``reading:`` field of entries in ``content/glossary.yaml``.

    石神井公園:
      reading: シャクジイコウエン
      en: Shakujii Park

A reading is the term's kana as a person would write it above the kanji (furigana), in
katakana; long vowels may be written with ー. A blank between parts (シャクジイ コウエン) says
where braille spaces a compound (切れ続き); speech reads the parts as one. It wins over Open
JTalk's guess for speech and braille alike (``koho.readings``). Errors name the file, the line and the field
(``石神井公園.reading``), like the glossary's other errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from koho.content_yaml import compose_content_yaml
from koho.errors import ContentError

GLOSSARY_FILE = "glossary.yaml"
READING_KEY = "reading"
MAX_GLOSSARY_BYTES = 1024 * 1024
#: Katakana (with the small kana, ヴ and the long-vowel mark), parts one blank apart, nothing else.
_KATAKANA = re.compile(r"^[ァ-ヴー]+(?: [ァ-ヴー]+)*$")


@dataclass(frozen=True)
class ReadingDictionary:
    """Term -> katakana reading (the glossary's), and word -> reading (a volunteer's review of
    the model's guesses, ``koho.reading_review``). Empty when there are none."""

    readings: dict[str, str] = field(default_factory=dict)
    reviewed: dict[str, str] = field(default_factory=dict)

    def digest(self) -> str:
        """A short hash of every entry (a cache of readings is keyed by it)."""
        import hashlib

        entries = [*sorted(self.readings.items()), ("", ""), *sorted(self.reviewed.items())]
        text = "\n".join(f"{t}\t{r}" for t, r in entries)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_reading_dictionary(content_dir: Path) -> tuple[ReadingDictionary, list[ContentError]]:
    """Read the ``reading:`` fields of ``content_dir/glossary.yaml`` and the reviewed readings of
    ``content/readings/*.po``; never raises for bad content.

    Only the readings are checked here: the renderings are the translations' (translations.glossary).
    """
    from koho.reading_review import load_reviewed

    reviewed, review_errors = load_reviewed(content_dir)
    dictionary, errors = _glossary_readings(content_dir)
    return ReadingDictionary(dictionary, reviewed), errors + review_errors


def _glossary_readings(content_dir: Path) -> tuple[dict[str, str], list[ContentError]]:
    """The ``reading:`` fields of the glossary, and their errors."""
    label = (content_dir / GLOSSARY_FILE).as_posix()
    node, errors = compose_content_yaml(
        content_dir, GLOSSARY_FILE, MAX_GLOSSARY_BYTES, "the glossary must be a real file inside content/"
    )
    if not isinstance(node, yaml.MappingNode):
        return {}, errors  # its shape is reported by the glossary's own check
    readings: dict[str, str] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or not isinstance(value_node, yaml.MappingNode):
            continue
        term = str(key_node.value).strip()
        for name_node, text_node in value_node.value:
            if name_node.value != READING_KEY:
                continue
            where = name_node.start_mark.line + 1
            text = " ".join(str(text_node.value).replace("\u3000", " ").split())
            if not isinstance(text_node, yaml.ScalarNode) or text_node.tag != "tag:yaml.org,2002:str":
                errors.append(ContentError(label, where, f"{term}.reading", "the reading must be one line of katakana"))
            elif not _KATAKANA.match(text):
                errors.append(
                    ContentError(
                        label,
                        where,
                        f"{term}.reading",
                        f"{text!r} is not katakana; write the reading as furigana in katakana, e.g. ネリマ",
                    )
                )
            else:
                readings[term] = text
    return readings, errors
