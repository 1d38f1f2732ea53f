"""The ward's glossary (``content/glossary.yaml``): how each ward term is rendered per language.

    練馬区:
      en: Nerima City
      zh: 练马区
      ...

Terms are enforced, not suggested: segmentation replaces each term by a placeholder the model
passes through, and restoring puts the configured rendering there (``translations.segment``).
Longer terms win over the shorter ones they contain (区民事務所 before 区民). Every problem is a
``ContentError`` with the file, line and field, like an article's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from koho.content_yaml import compose_content_yaml
from koho.errors import ContentError
from koho.reading_dictionary import READING_KEY

GLOSSARY_FILE = "glossary.yaml"
#: A ward's glossary is hundreds of terms in eight languages: a few hundred KiB at most.
MAX_GLOSSARY_BYTES = 1024 * 1024
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")


@dataclass(frozen=True)
class Glossary:
    """Source term -> {language: rendering}. Empty when the file does not exist."""

    terms: dict[str, dict[str, str]] = field(default_factory=dict)
    path: str = GLOSSARY_FILE
    #: Line of each term and of each rendering ((term, language) keys), for later checks.
    lines: dict[tuple[str, ...], int] = field(default_factory=dict, compare=False, repr=False)

    def for_language(self, language: str) -> dict[str, str]:
        """The terms that have a rendering in ``language``, mapped to it."""
        return {term: by_language[language] for term, by_language in self.terms.items() if language in by_language}

    def digest(self) -> str:
        """A short hash of every term and rendering (changes when the glossary does)."""
        text = "\n".join(f"{t}\t{lang}\t{r}" for t, by in sorted(self.terms.items()) for lang, r in sorted(by.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_glossary(content_dir: Path, languages: Iterable[str]) -> tuple[Glossary, list[ContentError]]:
    """Read and validate ``content_dir/glossary.yaml`` for the target ``languages``.

    Never raises for bad content: the errors come back with the (possibly partial) glossary.
    A term must have a rendering for every target language, or the model would translate it
    freely in some of them.
    """
    label = (content_dir / GLOSSARY_FILE).as_posix()
    node, read_errors = compose_content_yaml(
        content_dir, GLOSSARY_FILE, MAX_GLOSSARY_BYTES, "the glossary must be a real file inside content/"
    )
    if read_errors:
        return Glossary(path=label), read_errors
    if node is None:
        return Glossary(path=label), []
    if not isinstance(node, yaml.MappingNode):
        return Glossary(path=label), [
            ContentError(
                label,
                node.start_mark.line + 1,
                "glossary",
                "expected a mapping of terms, e.g. 練馬区: {en: Nerima City}",
            )
        ]
    wanted = list(dict.fromkeys(languages))
    errors: list[ContentError] = []
    terms: dict[str, dict[str, str]] = {}
    lines: dict[tuple[str, ...], int] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        term = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
        name = term or "term"
        if not isinstance(key_node, yaml.ScalarNode) or not term.strip():
            errors.append(ContentError(label, line, name, "a term must be non-empty text"))
            continue
        if term != term.strip() or "\n" in term:
            errors.append(ContentError(label, line, name, "a term must be one line without surrounding spaces"))
            continue
        if term in terms:
            errors.append(ContentError(label, line, name, f"{term!r} is listed twice (first on line {lines[(term,)]})"))
            continue
        lines[(term,)] = line
        if not isinstance(value_node, yaml.MappingNode):
            errors.append(
                ContentError(
                    label,
                    value_node.start_mark.line + 1,
                    name,
                    "expected renderings per language, e.g. {en: Nerima City, zh: 练马区}",
                )
            )
            continue
        if all(key.value == READING_KEY for key, _ in value_node.value):
            continue  # a reading only: for braille and speech, no rendering to enforce
        renderings: dict[str, str] = {}
        for lang_node, text_node in value_node.value:
            lang, where = str(lang_node.value), lang_node.start_mark.line + 1
            if lang == READING_KEY:  # the term's reading, for braille and speech: koho.reading_dictionary
                continue
            lines[(term, lang)] = where
            if not isinstance(lang_node, yaml.ScalarNode) or not _LANGUAGE.match(lang):
                errors.append(ContentError(label, where, f"{term}.{lang}", "not a language code such as en or zh"))
            elif lang == "ja":
                errors.append(
                    ContentError(
                        label, where, f"{term}.ja", "the term itself is the Japanese; list only target languages"
                    )
                )
            elif (
                not isinstance(text_node, yaml.ScalarNode)
                or text_node.tag != "tag:yaml.org,2002:str"
                or not text_node.value.strip()
                or "\n" in text_node.value
            ):
                errors.append(ContentError(label, where, f"{term}.{lang}", "the rendering must be one line of text"))
            else:
                renderings[lang] = text_node.value.strip()
        missing = [lang for lang in wanted if lang not in renderings and (term, lang) not in lines]
        if missing:
            errors.append(
                ContentError(
                    label,
                    line,
                    name,
                    f"no rendering for {', '.join(missing)}; add one per "
                    f"target language (KOHO_LANGUAGES), or the model translates it freely",
                )
            )
        terms[term] = renderings
    return Glossary(terms, label, lines), errors
