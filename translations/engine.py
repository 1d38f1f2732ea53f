"""The machine: installed argostranslate packages, one loaded model per language pair per process.

argostranslate's own `translate()` splits text into lines and sentences and calls the model
once per line. koho has already cut the text into sentences (``translations.segment``), so it
asks argostranslate which packages make a pair (its pivot through English included), then
sends all segments of a batch through each package's tokenizer and CTranslate2 model in one
`translate_batch` call per hop, with argostranslate's own decoding options. That is what makes
translating a whole article cheaper than argostranslate's per-line calls.

argostranslate is imported only when a model is needed: it pulls stanza and torch (seconds and
hundreds of MB), and it fixes its folders (XDG_*) at import, so a process that wants private
folders (the test suite, ``bench/translate.py``) sets them before the first translation. Whether
a model is installed at all is read first from the packages' ``metadata.json`` files
(``installed_pairs``), so a ward with no models never pays for the import to learn that.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

__all__ = [
    "INSTALL_HINT",
    "MissingModel",
    "ModelPair",
    "install_files",
    "installed_pairs",
    "model_pair",
    "package_name",
]

INSTALL_HINT = "koho translations install FILE.argosmodel"
_PIVOT = "en"
_pairs: dict[tuple[str, str], ModelPair] = {}
_lock = threading.Lock()


def package_name(source: str, target: str) -> str:
    """The argos package that translates ``source`` into ``target``: translate-ja_en."""
    return f"translate-{source}_{target}"


class MissingModel(Exception):
    """No installed package (direct, or through English) translates ``source`` into ``target``.

    ``packages`` names exactly what to install; the message says how.
    """

    def __init__(self, source: str, target: str, packages: Sequence[str], reason: str = ""):
        self.source, self.target, self.packages = source, target, tuple(packages)
        what = " and ".join(self.packages)
        super().__init__(
            reason or f"no {source}→{target} translation model is installed: install {what} ({INSTALL_HINT})"
        )


# argostranslate and ctranslate2 ship no types: these protocols say what koho uses of them, so a
# hop is checked where it is used rather than being Any throughout.
class _Tokenizer(Protocol):
    """argostranslate.tokenizer.Tokenizer (SentencePiece or BPE)."""

    def encode(self, sentence: str) -> list[str]: ...

    def decode(self, tokens: list[str]) -> str: ...


class _TranslationResult(Protocol):
    """ctranslate2.TranslationResult: the best hypotheses, each a list of tokens."""

    @property
    def hypotheses(self) -> list[list[str]]: ...


class _Translator(Protocol):
    """ctranslate2.Translator: the one call koho makes."""

    def translate_batch(
        self, source: list[list[str]], target_prefix: list[list[str]] | None = ..., **options: Any
    ) -> list[_TranslationResult]: ...


class _Package(Protocol):
    """argostranslate.package.Package: what a hop is made from."""

    from_code: str
    to_code: str
    package_path: Path
    package_version: str
    tokenizer: _Tokenizer


@dataclass(frozen=True)
class _Hop:
    name: str  # translate-ja_en
    version: str
    translator: _Translator
    tokenizer: _Tokenizer
    target_prefix: str


class ModelPair:
    """The packages that translate ``source`` into ``target``, loaded once per process."""

    def __init__(self, source: str, target: str, hops: Sequence[_Hop]):
        self.source, self.target, self.hops = source, target, tuple(hops)

    @property
    def version(self) -> str:
        """The models used, e.g. "translate-ja_en 1.0 > translate-en_th 1.0" (the memory's key)."""
        return " > ".join(f"{hop.name} {hop.version}" for hop in self.hops)

    def translate(self, texts: Sequence[str]) -> list[str]:
        """Translate every text (one sentence each), in one model call per hop."""
        from argostranslate import settings

        outputs = list(texts)
        for hop in self.hops:
            if not outputs:
                break
            tokens = [hop.tokenizer.encode(text) for text in outputs]
            prefix = [[hop.target_prefix]] * len(tokens) if hop.target_prefix else None
            # The options argostranslate's apply_packaged_translation uses, so output is the same.
            results = hop.translator.translate_batch(
                tokens,
                target_prefix=prefix,
                replace_unknowns=True,
                max_batch_size=settings.batch_size,
                batch_type="tokens",
                beam_size=max(1, settings.beam_size),
                num_hypotheses=1,
                length_penalty=0.2,
            )
            outputs = [_decoded(hop, result.hypotheses[0]) for result in results]
        return outputs


def _decoded(hop: _Hop, pieces: list[str]) -> str:
    value = hop.tokenizer.decode(pieces)
    if hop.target_prefix and value.startswith(hop.target_prefix):
        value = value[len(hop.target_prefix) :]
    return value[1:] if value.startswith(" ") else value  # the tokenizer's leading space


def model_pair(source: str, target: str) -> ModelPair:
    """The loaded pair (loading it on first use); MissingModel names what to install."""
    key = (source, target)
    with _lock:
        if key not in _pairs:
            _pairs[key] = _load(source, target)
        return _pairs[key]


def _argos() -> ModuleType | None:
    """argostranslate's ``translate`` module, or None where the package is not installed."""
    try:
        # import_module rather than `from ... import`: the untyped import would make this Any.
        return importlib.import_module("argostranslate.translate")
    except ImportError:
        return None


def _load(source: str, target: str) -> ModelPair:
    listed = _listed_packages()
    if listed is not None and not _reachable(source, target, listed):
        # The cheap look says no route exists: say what to install without importing torch.
        codes = {code for pair in listed for code in pair}
        raise MissingModel(source, target, _missing_packages(source, target, codes, listed))
    translate = _argos()
    if translate is None:
        raise MissingModel(
            source,
            target,
            [package_name(source, target)],
            "argostranslate is not installed: pip install -c constraints.txt -e '.[translate]'",
        )
    languages = {language.code: language for language in translate.get_installed_languages()}
    found = None
    if source in languages and target in languages:
        found = languages[source].get_translation(languages[target])
    if found is None:
        pairs = {(p.from_code, p.to_code) for p in _installed_translate_packages()}
        raise MissingModel(source, target, _missing_packages(source, target, set(languages), pairs))
    return ModelPair(source, target, [_hop(pkg) for pkg in _packages_of(found)])


def _missing_packages(source: str, target: str, codes: set[str], pairs: set[tuple[str, str]]) -> list[str]:
    """What to install: the hop(s) of the route through English that are not there."""
    if _PIVOT in (source, target):
        return [package_name(source, target)]

    def reaches(a: str, b: str) -> bool:
        return a in codes and b in codes and _reachable(a, b, pairs)

    missing = [package_name(a, b) for a, b in ((source, _PIVOT), (_PIVOT, target)) if not reaches(a, b)]
    return missing or [package_name(source, target)]


def _reachable(source: str, target: str, pairs: set[tuple[str, str]]) -> bool:
    """Whether installed packages chain from ``source`` to ``target``: argostranslate composes
    translations through any number of intermediate languages (``get_installed_languages``)."""
    seen, frontier = {source}, [source]
    while frontier:
        here = frontier.pop()
        for a, b in pairs:
            if a == here and b not in seen:
                if b == target:
                    return True
                seen.add(b)
                frontier.append(b)
    return source == target


def _package_dirs() -> list[Path] | None:
    """The folders argostranslate will read packages from, as its ``settings`` module finds
    them, or None where that cannot be told without importing it (a settings.json, a snap,
    another model provider): then the import decides, as before."""
    home = Path.home()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "argos-translate" / "settings.json"
    if "SNAP" in os.environ or "ARGOS_MODEL_PROVIDER" in os.environ or config.exists():
        return None
    data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") / "argos-translate"
    return [Path(os.environ.get("ARGOS_PACKAGES_DIR") or data / "packages")]


def _listed_packages() -> set[tuple[str, str]] | None:
    """(from, to) of every installed translate package, read from the packages' metadata.json
    files (a directory listing and a few small reads, no import); None when unknowable."""
    found = _package_metadata()
    return None if found is None else {(m["from_code"], m["to_code"]) for m in found}


def _package_metadata() -> list[dict[str, str]] | None:
    dirs = _package_dirs()
    if dirs is None:
        return None
    found = []
    for folder in dirs:
        if not folder.is_dir():
            continue
        for package in sorted(folder.iterdir()):
            try:
                meta = json.loads((package / "metadata.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # not a package (argostranslate skips such folders too)
            if meta.get("type", "translate") == "translate" and meta.get("from_code") and meta.get("to_code"):
                found.append(meta)
    return found


def _installed_translate_packages() -> list[_Package]:
    from argostranslate import package

    return [p for p in package.get_installed_packages() if p.type == "translate"]


def _packages_of(translation: Any) -> list[_Package]:
    """The installed packages behind an argostranslate translation, in order (pivots flattened).

    ``translation`` is an argostranslate ``ITranslation`` (an untyped library, so Any): its kind
    is told by the attributes each subclass has, as argostranslate itself offers no other way."""
    if hasattr(translation, "underlying"):  # CachedTranslation
        return _packages_of(translation.underlying)
    if hasattr(translation, "t1"):  # CompositeTranslation: through a pivot language
        return _packages_of(translation.t1) + _packages_of(translation.t2)
    if hasattr(translation, "pkg"):  # PackageTranslation
        return [translation.pkg]
    raise MissingModel(
        translation.from_lang.code,
        translation.to_lang.code,
        [package_name(translation.from_lang.code, translation.to_lang.code)],
        f"{translation!r} is not an installed argos package",
    )


def _hop(pkg: _Package) -> _Hop:
    import ctranslate2
    from argostranslate import settings

    translator = ctranslate2.Translator(
        str(Path(pkg.package_path) / "model"),
        device=settings.device,
        inter_threads=settings.inter_threads,
        intra_threads=threads(),
        compute_type=settings.compute_type,
    )
    return _Hop(
        package_name(pkg.from_code, pkg.to_code),
        str(pkg.package_version),
        translator,
        pkg.tokenizer,
        getattr(pkg, "target_prefix", "") or "",
    )


def threads() -> int:
    """CTranslate2 threads per model: ARGOS_INTRA_THREADS, else every core (2 on the ward's workers).

    argostranslate's default 0 lets CTranslate2 pick 4, more than a 2-core machine has.
    """
    configured = int(os.environ.get("ARGOS_INTRA_THREADS") or 0)
    return configured or os.cpu_count() or 1


def installed_pairs() -> list[tuple[str, str, str, str]]:
    """(source, target, package name, version) of every installed translation package.

    Read from the packages' metadata.json without importing argostranslate where its folders
    are plain (``_package_dirs``)."""
    listed = _package_metadata()
    if listed is not None:
        return sorted(
            (
                m["from_code"],
                m["to_code"],
                package_name(m["from_code"], m["to_code"]),
                str(m.get("package_version", "")),
            )
            for m in listed
        )
    if _argos() is None:
        return []
    return sorted(
        (p.from_code, p.to_code, package_name(p.from_code, p.to_code), str(p.package_version))
        for p in _installed_translate_packages()
    )


def preload() -> None:
    """Import argostranslate ahead of the first translation when a model is installed (the warm
    runner's start), and not otherwise: the import costs seconds and torch's memory."""
    if installed_pairs():
        _argos()


def install_files(paths: Iterable[Path]) -> list[str]:
    """Install `.argosmodel` files; return their package names. Loaded pairs are dropped, so the
    next translation uses the new models."""
    from argostranslate import package

    names = []
    for path in paths:
        package.install_from_path(Path(path))
        names.append(Path(path).stem)
    _forget()
    return names


def _forget() -> None:
    """Drop loaded pairs and argostranslate's own caches after packages changed.

    argostranslate keeps one translation object per package across `get_installed_languages`
    calls, still linked to the languages of the first call, so a pivot through a package
    installed later would not be found without clearing both.
    """
    from argostranslate import translate

    with _lock:
        _pairs.clear()
        translate.installed_translates.clear()
        translate.get_installed_languages.cache_clear()


def install_from_index(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """Download and install packages from the argos index (needs the internet)."""
    from argostranslate import package, settings

    package.update_package_index()  # logs and returns when offline
    if not Path(settings.local_package_index).is_file():
        raise ConnectionError(
            f"cannot download the argos package index (offline?); fetch the .argosmodel "
            f"files elsewhere and run {INSTALL_HINT}"
        )
    available = package.get_available_packages()
    names = []
    for source, target in pairs:
        match = next((p for p in available if p.from_code == source and p.to_code == target), None)
        if match is None:
            continue
        package.install_from_path(match.download())
        names.append(package_name(source, target))
    _forget()
    return names
