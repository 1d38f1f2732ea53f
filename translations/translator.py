"""Articles (and 区報 issues) into another language: the contract with every channel.

A translation is an `Article` with the same ``id``, ``language`` set to the target, translated
``title``/``summary``/``body``/``html``/``change_note`` and image ``alt``/``caption``, its own
``revision`` (a hash of the source revision, the target and the translated text, so a reviewed
PO change republishes) and ``translation`` saying where it came from and whether a machine
made it. Channels plan it like any article; ledger keys carry the language.

Per segment the text comes from, in order: a human review (PO file), the translation memory,
the model. Only memory misses reach the model, all of an article's in one batch.

Whole translations are kept too (``TranslationCache``), under a fingerprint of everything that
makes them: the source revision, the glossary's terms, the review file, the installed models and
koho's own translation code. Listing pages in a language need every live translation in every
run; segmenting and looking up thousands of articles per language each time would make one
publish cost as much as the whole archive.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from koho.article import Article, TranslationNote
from koho.bulletin import BulletinIssue
from koho.content_files import ContentFileError, MissingContentFile
from koho.markup import render_markdown
from koho.parse_cache import ParseCache
from translations.engine import MissingModel, ModelPair, installed_pairs, model_pair
from translations.glossary import Glossary
from translations.memory import Memory
from translations.review import Entry, Reviews, load_reviews, read_review
from translations.segment import (
    Document,
    Segment,
    pieces_between_tokens,
    restore,
    segment_markdown,
    segment_text,
    translatable,
)

#: The eight languages of the ward's translated editions (argos codes; zh is Simplified Chinese).
LANGUAGES = ("en", "zh", "ko", "th", "pt", "es", "id", "vi")


@dataclass(frozen=True)
class Result:
    """A translated article and what it took: segments in it, sent to the model, reviewed."""

    article: Article
    segments: int
    translated: int
    reviewed: int


@dataclass(frozen=True)
class _Field:
    name: str
    document: Document
    line: int  # of the field (title) or of the document's first line (body)


class Translator:
    """Translates articles of one site: its glossary, its reviews, one translation memory.

    ``pair_for`` gives the loaded model pair (``engine.model_pair``; raises MissingModel).
    Thread-safe: flows run one task per article and language.
    """

    def __init__(
        self,
        content_dir: Path,
        glossary: Glossary,
        memory: Memory | None = None,
        pair_for: Callable[[str, str], ModelPair] = model_pair,
        cache: TranslationCache | None = None,
        read_only: bool = False,
    ):
        self.content_dir = content_dir
        #: A dry run's translator reads the memory and the cache but adds nothing to either.
        self.read_only = read_only
        self.glossary = glossary
        self.memory = memory
        self.pair_for = pair_for
        self.cache = cache

    def kept(self, article: Article, language: str) -> Article | None:
        """The translation the cache holds for exactly this article and these inputs, or None;
        never segments or translates (publish-due's check of thousands of settled articles)."""
        if self.cache is None or language == article.language:
            return None
        found = self.cache.get(article, language, self.cache.fingerprint(article, language, self))
        return found.article if found is not None else None

    def missing(self, source: str, target: str) -> str | None:
        """What to install to translate ``source`` into ``target``, or None if a model can."""
        try:
            self.pair_for(source, target)
        except MissingModel as missing:
            return str(missing)
        return None

    def close(self) -> None:
        """Close the translation cache's file (the memory shares the ledger's engine)."""
        if self.cache is not None:
            self.cache.close()

    def fields(self, article: Article, language: str) -> list[_Field]:
        """The article's translatable texts, segmented for ``language`` (glossary applied)."""
        terms = self.glossary.for_language(language)
        fields = [
            _Field("title", segment_text(article.title, language, terms), article.line_of("title")),
            _Field("summary", segment_text(article.summary, language, terms), article.line_of("summary")),
            _Field("body", segment_markdown(article.body, language, terms), article.body_line),
            _Field("change_note", segment_text(article.change_note, language, terms), article.line_of("change_note")),
        ]
        for index, image in enumerate(article.images):
            for name in ("alt", "caption"):
                fields.append(
                    _Field(
                        f"images[{index}].{name}",
                        segment_text(getattr(image, name), language, terms),
                        article.line_of("images", index, name),
                    )
                )
        return fields

    def translate(self, article: Article, language: str) -> Result:
        """``article`` in ``language`` (MissingModel when no installed package can do it)."""
        if language == article.language:
            raise ValueError(f"{article.id} is already in {language}")
        if self.cache is None:
            return self._translate(article, language)
        fingerprint = self.cache.fingerprint(article, language, self)
        kept = self.cache.get(article, language, fingerprint)
        if kept is not None:
            return kept
        result = self._translate(article, language)
        if not self.read_only:
            self.cache.put(article, language, fingerprint, result)
        return result

    def _translate(self, article: Article, language: str) -> Result:
        pair = self.pair_for(article.language, language)
        reviews = load_reviews(self.content_dir, language, article.id)
        fields = self.fields(article, language)
        segments = [s for f in fields for s in f.document.segments()]
        wanted = [s.text for s in segments if s.translatable and s.source not in reviews.reviewed]
        outputs, sent = self._machine(wanted, pair)
        texts: dict[str, list[str]] = {}
        machine = reviewed = 0
        for f in fields:
            out = []
            for segment in f.document.segments():
                if segment.source in reviews.reviewed:
                    out.append(reviews.reviewed[segment.source])
                    reviewed += 1
                elif not segment.translatable:
                    out.append(restore(segment.text, segment) or segment.source)
                else:
                    text, extra = self._restored(segment, outputs[segment.text], pair)
                    out.append(text)
                    machine += 1
                    sent += extra
            texts[f.name] = out
        rendered = {f.name: f.document.render(texts[f.name], language) for f in fields}
        return Result(self._article(article, language, rendered, machine > 0, pair), len(segments), sent, reviewed)

    def entries(self, article: Article, language: str, with_machine: bool = True) -> list[Entry]:
        """The review entries of an article (for ``koho translations export``); with the
        machine's output as a suggestion unless ``with_machine`` is False (no model)."""
        fields = self.fields(article, language)
        suggestions: dict[str, str] = {}
        if with_machine:
            pair = self.pair_for(article.language, language)
            segments = [s for f in fields for s in f.document.segments() if s.translatable]
            outputs, _ = self._machine([s.text for s in segments], pair)
            suggestions = {s.source: self._restored(s, outputs[s.text], pair)[0] for s in segments}
        entries = []
        for f in fields:
            lines = f.document.segment_lines()
            for segment, offset in zip(f.document.segments(), lines, strict=True):
                if segment.translatable:
                    where = ((article.path, f.line + (offset if f.name == "body" else 0)),)
                    entries.append(Entry(segment.source, where, suggestions.get(segment.source)))
        return entries

    def sources(self, article: Article, language: str) -> list[str]:
        """Every reviewable sentence (msgid) of the article."""
        return [s.source for f in self.fields(article, language) for s in f.document.segments() if s.translatable]

    def reviews(self, article: Article, language: str) -> Reviews:
        """The article's review file in ``language`` (empty when there is none)."""
        return load_reviews(self.content_dir, language, article.id)

    # -- the machine ---------------------------------------------------------------------------

    def _machine(self, texts: Sequence[str], pair: ModelPair) -> tuple[dict[str, str], int]:
        """Model outputs for ``texts``: from the memory, else the model (one batch). Returns the
        outputs and how many texts went to the model."""
        unique = list(dict.fromkeys(texts))
        known = self.memory.lookup(unique, pair.source, pair.target, pair.version) if self.memory else {}
        missing = [t for t in unique if t not in known]
        if missing:
            fresh = dict(zip(missing, pair.translate(missing), strict=True))
            if self.memory and not self.read_only:
                self.memory.store(fresh, pair.source, pair.target, pair.version)
            known.update(fresh)
        return known, len(missing)

    def _restored(self, segment: Segment, output: str, pair: ModelPair) -> tuple[str, int]:
        """The output with its tokens back; if the model lost a placeholder, the text between
        the tokens is translated piece by piece and joined around them (structure never lost)."""
        text = restore(output, segment)
        if text is not None:
            return text, 0
        pieces = pieces_between_tokens(segment)
        outputs, sent = self._machine([p.strip() for p in pieces if translatable(p)], pair)
        joined = []
        for index, piece in enumerate(pieces):
            stripped = piece.strip()
            joined.append(piece.replace(stripped, outputs[stripped]) if stripped in outputs else piece)
            if index < len(segment.tokens):
                joined.append(segment.tokens[index].value)
        return "".join(joined), sent

    def _article(
        self, article: Article, language: str, texts: Mapping[str, str], machine: bool, pair: ModelPair
    ) -> Article:
        images = tuple(
            replace(image, alt=texts[f"images[{i}].alt"], caption=texts[f"images[{i}].caption"])
            for i, image in enumerate(article.images)
        )
        digest = hashlib.sha256(f"{article.revision}\0{language}\0{int(machine)}".encode())
        for name in sorted(texts):
            digest.update(f"\0{name}\0{texts[name]}".encode())
        note = TranslationNote(
            source_language=article.language,
            source_revision=article.revision,
            machine=machine,
            engine=f"argostranslate {_argos_version()} {pair.version}",
        )
        return replace(
            article,
            language=language,
            title=texts["title"],
            summary=texts["summary"],
            body=texts["body"],
            html=render_markdown(texts["body"]),
            change_note=texts["change_note"],
            images=images,
            x_text=None,
            revision=digest.hexdigest()[:16],
            translation=note,
        )


# What TranslationCache keeps per article and language: the fingerprint, the translated fields
# (the names in _TRANSLATED, of several types, given back to dataclasses.replace), each image's
# (alt, caption), and the Result's segment and reviewed counts.
_Kept = tuple[str, dict[str, Any], tuple[tuple[str, str], ...], int, int]


class TranslationCache:
    """Finished translations, one per article and language, with the fingerprint of what made
    them; a different fingerprint is a miss and the entry is replaced (the file never grows
    past one entry per article and language)."""

    #: The cache's file in its directory.
    FILENAME = "translations.sqlite3"

    def __init__(self, directory: Path | None):
        self._store: ParseCache[_Kept] = ParseCache(directory, self.FILENAME)
        self._installed: list[tuple[str, str, str, str]] | None = None
        self._pair: dict[tuple[str, str], str] = {}

    def fingerprint(self, article: Article, language: str, translator: Translator) -> str:
        """A hash of what ``translator.translate(article, language)`` depends on: the source
        revision, the review file, and (once per pair and run) the glossary's terms, the
        packages that can translate the pair and the code and libraries that shape the output."""
        key = (article.language, language)
        if key not in self._pair:
            if self._installed is None:  # packages are not installed in the middle of a run
                self._installed = installed_pairs()
            # Only packages from the source or into the target (a pivot through English is one of
            # each): installing a Thai model must not make every other language's output stale.
            models = [p for p in self._installed if p[0] == article.language or p[1] == language]
            terms = sorted(translator.glossary.for_language(language).items())
            self._pair[key] = hashlib.sha256(repr((terms, models, _code_digest())).encode()).hexdigest()
        try:  # through content's boundary, like load_reviews: a linked file is never read
            reviewed = hashlib.sha256(read_review(translator.content_dir, language, article.id)).hexdigest()
        except MissingContentFile:
            reviewed = "-"
        except ContentFileError as exc:  # load_reviews reports it; the fingerprint only must differ
            reviewed = f"refused: {exc}"
        text = "\0".join((self._pair[key], article.revision, language, reviewed))
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, article: Article, language: str, fingerprint: str) -> Result | None:
        """The kept translation of ``article`` if it was made from exactly these inputs."""
        found = self._store.get(f"{article.id}\0{language}")
        if not found or found[0] != fingerprint:
            return None
        _, fields, alts, segments, reviewed = found
        # Only the translated fields are kept: everything else comes from the original as read
        # now (its publish time depends on site.yaml's time zone, its path on the checkout).
        images = tuple(
            replace(image, alt=alt, caption=caption) for image, (alt, caption) in zip(article.images, alts, strict=True)
        )
        return Result(replace(article, language=language, images=images, x_text=None, **fields), segments, 0, reviewed)

    def put(self, article: Article, language: str, fingerprint: str, result: Result) -> None:
        """Keep ``result`` (replacing the article's earlier translation into ``language``)."""
        made = result.article
        fields = {name: getattr(made, name) for name in _TRANSLATED}
        alts = tuple((image.alt, image.caption) for image in made.images)
        self._store.put(f"{article.id}\0{language}", (fingerprint, fields, alts, result.segments, result.reviewed))

    def close(self) -> None:
        """Close the file."""
        self._store.close()


#: The fields a translation changes besides images' alt and caption (see ``Translator._article``).
_TRANSLATED = ("title", "summary", "body", "html", "change_note", "revision", "translation")


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """A hash of the code that turns an article into its translation: a koho upgrade that
    segments, restores or renders differently never serves translations made by the old code."""
    import koho.article
    import koho.markup
    from translations import engine, glossary, review, segment

    digest = hashlib.sha256()
    for module in (segment, glossary, review, engine, koho.markup, koho.article):
        digest.update(Path(inspect.getfile(module)).read_bytes())
    digest.update(Path(__file__).read_bytes())
    # The libraries that segment, decode and render (their versions, as a stand-in for their code),
    # and argostranslate's decoding settings (threads change speed, not output).
    for name in ("argostranslate", "ctranslate2", "sentencepiece", "markdown-it-py", "Markdown", "nh3", "Babel"):
        try:
            digest.update(f"{name} {metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} -\n".encode())
    digest.update(
        repr(sorted((k, v) for k, v in os.environ.items() if k.startswith("ARGOS_") and "THREADS" not in k)).encode()
    )
    return digest.hexdigest()


def _argos_version() -> str:
    try:
        return metadata.version("argostranslate")
    except metadata.PackageNotFoundError:
        return "?"


def translated_issue(issue: BulletinIssue, translations: Mapping[str, Article]) -> BulletinIssue | None:
    """The issue in another language: the translations of its articles, in the same order.

    ``translations`` maps article id -> translated Article (all in one language). None unless
    every article of the issue has a translation: an edition never mixes in Japanese.
    """
    found = [translations.get(a.id) for a in issue.articles]
    articles = tuple(a for a in found if a is not None)
    if not found or len(articles) != len(found):
        return None
    return BulletinIssue(issue.day, issue.appears_at, articles)
