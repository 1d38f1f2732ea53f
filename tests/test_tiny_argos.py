"""Tiny real argos packages: built offline, installed in private folders, translating for real.

argostranslate fixes its folders from XDG_* when it is first imported, and importing it pulls
stanza and torch; so everything that imports it runs in one child process with its own
folders and an audit hook that refuses any network connection. This process only builds
packages (numpy, sentencepiece, ctranslate2, onnx) and runs the pieces directly.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests import tiny_packages

REPO = Path(__file__).resolve().parents[1]

needs_argos = pytest.mark.skipif(
    importlib.util.find_spec("argostranslate") is None,
    reason="argostranslate is not installed (pip install -c constraints.txt -e '.[translate]')",
)

# (text, from, to, expected). What argostranslate does around the model, shown exactly:
# sentences are split and translated one by one, then their pieces are decoded together
# (the tag carries no leading space, so "。⟨en⟩"); lines are translated apart; sentencepiece
# collapses runs of spaces; the decoder replaces every "_" with a space, URLs included.
CASES = [
    ("練馬区のお知らせです。", "ja", "en", "⟨en⟩ 練馬区のお知らせです。"),
    ("練馬区のお知らせです。", "ja", "th", "⟨th⟩ ⟨en⟩ 練馬区のお知らせです。"),
    ("Hello.", "en", "th", "⟨th⟩ Hello."),
    (
        "詳しくは https://www.city.nerima.tokyo.jp/kurashi/index.html をご覧ください。",
        "ja",
        "en",
        "⟨en⟩ 詳しくは https://www.city.nerima.tokyo.jp/kurashi/index.html をご覧ください。",
    ),
    (
        "電話 03-3993-1111（平日9時～17時）、3.5km、2025年4月1日、ＦＡＸ０３",
        "ja",
        "en",
        "⟨en⟩ 電話 03-3993-1111（平日9時～17時）、3.5km、2025年4月1日、ＦＡＸ０３",
    ),
    (
        "様式は report_2025.pdf と https://example.jp/a_b にあります。",
        "ja",
        "en",
        "⟨en⟩ 様式は report 2025.pdf と https://example.jp/a b にあります。",
    ),
    ("一文目です。二文目です！「三文目。」", "ja", "en", "⟨en⟩ 一文目です。⟨en⟩ 二文目です！⟨en⟩ 「三文目。」"),
    ("一行目\n二行目", "ja", "en", "⟨en⟩ 一行目\n⟨en⟩ 二行目"),
    ("two  spaces   here", "en", "th", "⟨th⟩ two spaces here"),
    ("ภาษาไทย 😀 ｱｲｳ", "en", "th", "⟨th⟩ ภาษาไทย 😀 ｱｲｳ"),
    ("", "ja", "en", ""),
]

# Runs in the child: refuse the network, install, translate, report as JSON on stdout.
CHILD = r"""
import json, os, socket, sys

attempts = []
def refuse_network(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"):
        attempts.append(event)
        raise ConnectionRefusedError(f"no network in this test ({event})")
sys.addaudithook(refuse_network)

from tests import tiny_packages
request = json.load(sys.stdin)
tiny_packages.install(request["packages"])

from argostranslate import translate
result = {
    "languages": sorted(lang.code for lang in translate.get_installed_languages()),
    "translations": [translate.translate(text, src, dst) for text, src, dst in request["cases"]],
    "attempts_while_translating": list(attempts),
}
try:
    tiny_packages.isolate_argos(request["root"])
except RuntimeError as error:
    result["isolate_after_import"] = str(error)
try:  # the control: a connection attempt (to a closed loopback port) is caught
    socket.create_connection(("127.0.0.1", 9), timeout=1)
except ConnectionRefusedError:
    pass
result["attempts_with_control"] = attempts
result["files"] = sorted(
    str(path.relative_to(request["root"])) for path in __import__("pathlib").Path(request["root"]).rglob("*")
    if path.is_file() and "packages" not in path.parts
)
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def packages(tiny_package_cache) -> dict[str, Path]:
    # From the cache: the reproducibility test below builds ja -> en afresh and compares bytes.
    return {
        f"{source}-{target}": tiny_packages.cached_package(source, target, tiny_package_cache)
        for source, target in (("ja", "en"), ("en", "th"))
    }


@pytest.fixture(scope="module")
def argos(packages, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("argos-home")
    env = {**os.environ, **tiny_packages.argos_environment(root), "PYTHONPATH": str(REPO)}
    request = {
        "root": str(root),
        "packages": [str(path) for path in packages.values()],
        "cases": [case[:3] for case in CASES],
    }
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    print(f"argostranslate child: {time.perf_counter() - start:.1f} s (imports torch)")
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_package_is_small_complete_and_reproducible(packages, tmp_path):
    path = packages["ja-en"]
    assert path.name == "translate-ja_en-tiny.argosmodel"
    assert path.stat().st_size < 1_000_000
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        metadata = json.loads(zf.read("translate-ja_en-tiny/metadata.json"))
    top = "translate-ja_en-tiny/"
    assert {
        top + "metadata.json",
        top + "sentencepiece.model",
        top + "minisbd/ja.onnx",
        top + "model/model.bin",
        top + "model/config.json",
        top + "model/shared_vocabulary.json",
    } <= names
    assert metadata | {"argos_version": None} == {
        "package_version": "1.0",
        "argos_version": None,
        "from_code": "ja",
        "from_name": "ja",
        "to_code": "en",
        "to_name": "en",
        "type": "translate",
        "links": [],
    }
    # A fresh build gives the cached bytes: same arguments, same package (and the cache can
    # never serve something the builder would not make).
    start = time.perf_counter()
    again = tiny_packages.build_package("ja", "en", tmp_path)
    print(f"tiny package build: ja->en {1000 * (time.perf_counter() - start):.0f} ms")
    assert again.read_bytes() == path.read_bytes()


def _unpacked(package: Path, into: Path) -> Path:
    with zipfile.ZipFile(package) as zf:
        zf.extractall(into)
    return into / package.stem


@pytest.mark.parametrize("compute_type", ["float32", "int8_float32"])
def test_model_copies_any_pieces_under_beam_search(packages, tmp_path, compute_type):
    """Random pieces (bytes, tags, anything but <unk>/<s>/</s>) come back exactly, up to
    max_positions - 2 of them, greedy or beam, in float32 and in the int8 that
    argostranslate's compute_type "auto" picks on a CPU."""
    import ctranslate2
    import sentencepiece

    unpacked = _unpacked(packages["ja-en"], tmp_path)
    sp = sentencepiece.SentencePieceProcessor(model_file=str(unpacked / "sentencepiece.model"))
    pieces = [sp.id_to_piece(i) for i in range(3, sp.get_piece_size())]
    translator = ctranslate2.Translator(
        str(unpacked / "model"), device="cpu", intra_threads=1, compute_type=compute_type
    )
    rng = random.Random(5)
    for length in (1, 2, 17, 60, 255, 510):
        source = rng.choices(pieces, k=length)
        for beam in (1, 4):
            result = translator.translate_batch(
                [source],
                beam_size=beam,
                max_decoding_length=600,
                length_penalty=0.2,
                num_hypotheses=beam,
            )[0]
            assert result.hypotheses[0] == ["⟨en⟩", *source], (length, beam)
            # Beam search's other hypotheses end right after the source instead of running
            # on to max_decoding_length.
            assert max(map(len, result.hypotheses)) <= length + 2
    with pytest.raises(RuntimeError, match="No position encodings"):
        translator.translate_batch([rng.choices(pieces, k=511)])


def test_sentence_splitter_runs_offline_through_minisbd(packages, tmp_path):
    # minisbd (with onnxruntime) comes with argostranslate, in the translate extra.
    SBDetect = pytest.importorskip("minisbd").SBDetect

    unpacked = _unpacked(packages["ja-en"], tmp_path)
    splitter = SBDetect(str(unpacked / "minisbd" / "ja.onnx"), use_gpu=False)
    text = (
        "練馬区のお知らせです。「参加費は無料。」申込は不要！ Version 3.5 is out. "
        "See https://www.city.nerima.tokyo.jp/index.html. OK? Yes"
    )
    assert splitter.sentences(text) == [
        "練馬区のお知らせです。",
        "「参加費は無料。」",
        "申込は不要！",
        "Version 3.5 is out.",
        "See https://www.city.nerima.tokyo.jp/index.html.",
        "OK?",
        "Yes",
    ]


@needs_argos
def test_argostranslate_translates_with_the_tiny_packages(argos):
    assert argos["languages"] == ["en", "ja", "th"]
    got = dict(zip([c[0] + f" [{c[1]}->{c[2]}]" for c in CASES], argos["translations"], strict=True))
    expected = {c[0] + f" [{c[1]}->{c[2]}]": c[3] for c in CASES}
    assert got == expected


@needs_argos
def test_argostranslate_never_reaches_for_the_network(argos):
    assert argos["attempts_while_translating"] == []
    assert argos["attempts_with_control"] == ["socket.getaddrinfo"]  # the hook does catch one
    # argostranslate downloaded and cached nothing (no splitter, no index): its folders hold
    # only the installed packages. (onnxruntime keeps a device id and a small database
    # under XDG_CACHE_HOME/Microsoft when imported.)
    assert [f for f in argos["files"] if not f.startswith("cache/Microsoft/")] == []
    assert "already imported" in argos["isolate_after_import"]


WARD_SAMPLES = {
    "en": "Nerima City News, 1 April.",
    "zh": "练马区的通知。",
    "ko": "네리마구 소식입니다.",
    "th": "ข่าวเขตเนริมะ",
    "pt": "Notícias da cidade de Nerima.",
    "es": "Noticias de la ciudad de Nerima.",
    "id": "Berita Kota Nerima.",
    "vi": "Tin tức thành phố Nerima.",
}


def test_every_ward_language_builds_and_round_trips(tmp_path, tiny_package_cache):
    import ctranslate2
    import sentencepiece

    for target, sample in WARD_SAMPLES.items():
        unpacked = _unpacked(tiny_packages.cached_package("ja", target, tiny_package_cache), tmp_path)
        sp = sentencepiece.SentencePieceProcessor(model_file=str(unpacked / "sentencepiece.model"))
        translator = ctranslate2.Translator(str(unpacked / "model"), intra_threads=1)
        pieces = sp.encode(sample, out_type=str)
        output = translator.translate_batch([pieces], beam_size=4)[0].hypotheses[0]
        assert sp.decode_pieces(output) == f"{tiny_packages.language_tag(target)} {sample}"
