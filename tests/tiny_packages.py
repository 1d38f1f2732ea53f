"""Tiny real argostranslate packages, built offline in milliseconds (ADR 0006).

Real argos models cannot be downloaded on the machines koho is tested on, so this module
makes packages that argostranslate installs and runs exactly like downloaded ones: a
sentencepiece model, a CTranslate2 Transformer, a MiniSBD sentence splitter and
`metadata.json`, zipped as `.argosmodel`. The Transformer's weights are set by hand so that
it copies its input behind a language tag:

    argostranslate.translate.translate("練馬区のお知らせです。", "ja", "en")
    == "⟨en⟩ 練馬区のお知らせです。"

which makes every output checkable, pivots visible ("⟨th⟩ ⟨en⟩ ..." for ja -> en -> th) and
lets tests see what argostranslate itself does to the text around the model (it turns `_`
into spaces; sentencepiece collapses runs of spaces).

Building needs numpy, sentencepiece, ctranslate2 and onnx, not torch and not
argostranslate. Installing needs argostranslate, which reads `XDG_*` once at import:
call `isolate_argos` before anything imports it.

`cached_package` keeps built packages in a folder across runs and processes (the test suite
uses pytest's cache folder): a build is cheap, but every process would otherwise import
CTranslate2, sentencepiece and onnx and build the same eight packages again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import math
import os
import random
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["argos_environment", "build_package", "cached_package", "install", "isolate_argos", "language_tag"]

# What a built package's bytes depend on besides this file and its arguments.
_BUILD_LIBRARIES = ("numpy", "sentencepiece", "ctranslate2", "onnx")

# How the source is read: the model copies pieces one to one, so normalising (NFKC would turn
# "！" into "!") must not happen, or outputs would no longer be the input.
_SP_OPTIONS = dict(
    model_type="unigram",
    byte_fallback=True,
    normalization_rule_name="identity",
    character_coverage=1.0,
    hard_vocab_limit=False,
    num_threads=1,
    bos_id=1,
    eos_id=2,
    unk_id=0,
    pad_id=-1,
    minloglevel=2,
)

# Characters the generated training text is drawn from, per language (anything else is
# still translated: byte_fallback spells it in UTF-8 bytes).
_ALPHABETS = {
    "ja": "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
    "練馬区報民事務所知月日年時分円防災犯政課住健康子育介護保険税祭図書館公園道路",
    "zh": "练马区的通知是月日年时分元防灾犯罪政课居民健康儿童保险税图书馆公园道路我们你他",
    "ko": "네리마구소식입니다월일년시분원방재범죄정과주민건강어린이보험세도서관공원도로",
    "th": "กขคงจฉชซญดตถทธนบปผพฟภมยรลวศษสหอฮะาิีึืุูเแโใไ่้๊๋ั็์",
    "vi": "abcdeghiklmnopqrstuvxyăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ",
    "pt": "abcdefghijlmnopqrstuvxzáâãàçéêíóôõú",
    "es": "abcdefghijlmnopqrstuvxyzáéíñóúü",
}
_LATIN = "abcdefghijklmnopqrstuvwxyz"
_NO_SPACES = {"ja", "zh", "th"}
_COMMON = "0123456789-:/.,()"

# Sentence splitter character classes (MiniSBD labels: 0 inside a token, 1 token end,
# 2 sentence end). Full-width stops end a sentence wherever they stand; ASCII stops only
# before a space or the end, so "3.5" and "index.html" stay whole.
_PAD, _OTHER, _SPACE, _WIDE_STOP, _STOP, _CLOSER = range(6)
_SBD_CLASSES = 6
_SBD_UNITS = {
    " ": _SPACE,
    **{c: _WIDE_STOP for c in "。！？．｡"},
    **{c: _STOP for c in ".!?"},
    **{c: _CLOSER for c in "」』）】〕〉》］｝\"'’”)]}"},
}


def language_tag(code: str) -> str:
    """The marker a tiny package puts before what it copies into `code`, e.g. "⟨en⟩"."""
    return f"⟨{code}⟩"


def argos_environment(root: Path, *, threads: int = 1) -> dict[str, str]:
    """Environment variables that give argostranslate its own folders under `root`.

    Data (installed packages), config and cache go to `root/data`, `root/config` and
    `root/cache`. `threads` is CTranslate2's intra-op thread count (`ARGOS_INTRA_THREADS`;
    argostranslate's default 0 means one per core): 1 suits a 2-core machine running tests.
    Use it for a subprocess, or through `isolate_argos` in this process.
    """
    return {
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_CACHE_HOME": str(root / "cache"),
        "ARGOS_INTRA_THREADS": str(threads),
        "ARGOS_INTER_THREADS": "1",
        "ARGOS_DEVICE_TYPE": "cpu",
    }


def isolate_argos(root: Path, *, threads: int = 1) -> dict[str, str]:
    """Set `argos_environment(root)` in `os.environ`, before argostranslate is imported.

    argostranslate reads these variables once, when `argostranslate.settings` is imported
    (and creates the folders then), so this refuses to run after that import.
    """
    if "argostranslate.settings" in sys.modules:
        raise RuntimeError("argostranslate is already imported: its folders are fixed")
    env = argos_environment(root, threads=threads)
    os.environ.update(env)
    return env


def install(paths: Iterable[Path]) -> None:
    """Install `.argosmodel` files with argostranslate (call `isolate_argos` first)."""
    from argostranslate import package

    for path in paths:
        package.install_from_path(Path(path))


def build_package(
    source: str,
    target: str,
    out_dir: Path,
    *,
    vocab_size: int = 800,
    max_positions: int = 512,
    package_version: str = "1.0",
    seed: int = 0,
) -> Path:
    """Build a tiny `source` -> `target` argos package in `out_dir`; return its path.

    The model copies its input (up to `max_positions` - 2 pieces) behind
    `language_tag(target)`. The sentencepiece vocabulary (`vocab_size` is a cap: the 256
    byte pieces and the language tags are part of it) is trained on text generated from
    `seed`, so the same arguments give the same package.
    """
    from ctranslate2.converters import Converter

    rng = random.Random(f"{seed}:{source}:{target}")
    tags = [language_tag(source), language_tag(target)]
    sp_model = _train_sentencepiece(_training_text(source, target, rng), tags, vocab_size)
    pieces = _pieces(sp_model)

    class CopyConverter(Converter):
        # Converter.convert validates, optimises and saves the spec this returns, the same
        # path a real checkpoint takes.
        def _load(self):
            return _copy_spec(pieces, pieces.index(language_tag(target)), max_positions)

    name = f"translate-{source}_{target}-tiny"
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"{name}.argosmodel"
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        CopyConverter().convert(str(model_dir))
        files = {f"model/{p.name}": p.read_bytes() for p in sorted(model_dir.iterdir())}
    files["sentencepiece.model"] = sp_model
    files[f"minisbd/{source}.onnx"] = _sentence_splitter(source)
    files["metadata.json"] = json.dumps(
        _metadata(source, target, package_version), ensure_ascii=False, indent=2
    ).encode()
    files["README.md"] = (f"Tiny test package: copies {source} text behind {language_tag(target)}.\n").encode()
    # argostranslate extracts the zip into its packages folder: one top folder per package.
    # Fixed timestamps, so that the same arguments give the same bytes.
    with zipfile.ZipFile(archive, "w") as zf:
        for member, data in files.items():
            info = zipfile.ZipInfo(f"{name}/{member}", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return archive


def cached_package(source: str, target: str, cache_dir: Path) -> Path:
    """`build_package(source, target, ...)` with default arguments, built once per cache.

    The package is kept in `cache_dir` under a key of this file's bytes and the versions of
    the libraries that build it, so an edit of the builder or an upgrade builds anew (and the
    same key always means the same bytes: building is deterministic). Processes that ask at
    once (pytest-xdist workers) share one build through a file lock; the package appears under
    its final name only when complete. The file keeps `build_package`'s name, which
    `koho translations install` reports.
    """
    from filelock import FileLock

    folder = Path(cache_dir) / _build_key()
    path = folder / f"translate-{source}_{target}-tiny.argosmodel"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / f"{source}_{target}.lock")):
        if not path.is_file():
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                os.replace(build_package(source, target, Path(tmp)), path)
    return path


def _build_key() -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for name in _BUILD_LIBRARIES:
        digest.update(f"\0{name}={importlib.metadata.version(name)}".encode())
    return digest.hexdigest()[:16]


def _metadata(source: str, target: str, package_version: str) -> dict:
    return {
        "package_version": package_version,
        # The first release that finds a sentence splitter in the package's minisbd/.
        "argos_version": "1.11.0",
        "from_code": source,
        "from_name": source,
        "to_code": target,
        "to_name": target,
        "type": "translate",
        "links": [],
    }


def _training_text(source: str, target: str, rng: random.Random) -> list[str]:
    """A few hundred short generated sentences in both languages, with digits and tags."""
    lines = []
    for code in (source, target):
        alphabet = _ALPHABETS.get(code, _LATIN)
        stop = "。" if code in ("ja", "zh") else "."
        joiner = "" if code in _NO_SPACES else " "
        for _ in range(120):
            words = ["".join(rng.choices(alphabet, k=rng.randint(1, 6))) for _ in range(rng.randint(3, 9))]
            words.insert(rng.randrange(len(words)), str(rng.randint(0, 99999)))
            lines.append(joiner.join(words) + stop)
        lines.append(_COMMON + " " + language_tag(code))
    return lines


def _train_sentencepiece(lines: list[str], symbols: list[str], vocab_size: int) -> bytes:
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocab_size,
        user_defined_symbols=symbols,
        **_SP_OPTIONS,
    )
    return model.getvalue()


def _pieces(sp_model: bytes) -> list[str]:
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_proto=sp_model)
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


# Extra bits set only in </s>'s code. CTranslate2's beam search stops once it holds
# beam_size finished hypotheses; were </s> one bit from a piece (bytes such as <0x05> are),
# copying that piece would offer </s> as a runner-up and fill the beam with truncated copies.
_END_BITS = 3


def _position_frequencies(max_positions: int) -> np.ndarray:
    """Angular frequencies whose cosine sum peaks only at offset 0 within `max_positions`.

    For frequencies pi*i/K (i = 1..K), sum_i cos(w_i * delta) is K at delta = 0 and 0 or -1
    at every other integer delta below 2K (a Dirichlet kernel). Two such sets with K and K+1
    peak together only at multiples of 2K(K+1), so position p's code matches position p
    itself by a margin of K over all offsets below 2K(K+1) >= max_positions.
    """
    k = 1
    while 2 * k * (k + 1) < max_positions:
        k += 1
    return np.concatenate([np.pi * np.arange(1, n + 1) / n for n in (k, k + 1)])


def _position_codes(positions: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Three-phase codes: cos(w*p - 2*pi*k/3) for k = 0, 1, 2 and every frequency w.

    The three phases of one frequency sum to 0 and their squares to 3/2, so every code has
    mean 0 and the same norm (LayerNorm only rescales it), and code(p) . code(q) is
    3/2 * sum_w cos(w * (p - q)).
    """
    angles = positions[:, None, None] * freqs[None, :, None]
    phases = 2 * np.pi * np.arange(3) / 3
    return np.cos(angles - phases).reshape(len(positions), -1)


def _copy_spec(pieces: list[str], tag_id: int, max_positions: int):
    """A TransformerSpec whose output (greedy or beam search) is tag + the source pieces.

    One layer each side; self-attention and feed-forward sublayers write nothing. Hidden
    layout: piece ids as +/-1 bits (plus `_END_BITS`) and their negation (`tok`), a
    "this is </s>" flag pair (`eos`, source only), three-phase position codes (`pos`, and
    `prev` in the decoder: the code of position p-1). Every block has mean 0 and a fixed
    norm, so each LayerNorm is an exact rescaling that its gamma undoes.

    CTranslate2 adds <s> and </s> to the source; <s> is embedded with the tag's bits. In
    the decoder's cross-attention at step p, head 1 matches the source position p by its
    position code and copies its bits: step 0 emits the tag, steps 1..n the pieces and
    step n+1 </s>. Head 2 looks at source position p-1 and, only when that is </s>, writes
    </s>'s bits four times over: beam search keeps other hypotheses alive past the end,
    and this makes each of them end at the next step instead of wandering to the length
    limit. The output projection scores every piece by agreement with the bits.
    """
    from ctranslate2.specs import transformer_spec

    f32 = np.float32
    vocab = len(pieces)
    eos_id = pieces.index("</s>")
    id_bits = max(1, math.ceil(math.log2(vocab)))
    bits = id_bits + _END_BITS
    freqs = _position_frequencies(max_positions)
    n_tok, n_pos = 2 * bits, 3 * len(freqs)
    tok = slice(0, n_tok)
    eos = slice(n_tok, n_tok + 2)
    pos = slice(eos.stop, eos.stop + n_pos)
    prev = slice(pos.stop, pos.stop + n_pos)
    d = max(prev.stop, 2 * n_pos)  # two heads: each half holds a position code
    d += -d % 16
    half = d // 2

    codes = ((np.arange(vocab)[:, None] >> np.arange(bits)) & 1) * 2.0 - 1.0
    codes[:, id_bits:] = -1.0
    codes[eos_id, id_bits:] = 1.0
    codes = np.concatenate([codes, -codes], axis=1)  # (vocab, n_tok), mean 0
    is_eos = np.where(np.arange(vocab) == eos_id, 1.0, -1.0)[:, None]
    source_emb = np.zeros((vocab, d), f32)
    source_emb[:, tok] = codes
    source_emb[pieces.index("<s>"), tok] = codes[tag_id]
    source_emb[:, eos] = np.concatenate([is_eos, -is_eos], axis=1)

    steps = np.arange(max_positions)
    source_pos = np.zeros((max_positions, d), f32)
    source_pos[:, pos] = _position_codes(steps, freqs)
    target_pos = source_pos.copy()
    target_pos[:, prev] = _position_codes(np.maximum(steps - 1, 0), freqs)

    def rms(norm2: float) -> f32:
        # What LayerNorm divides by: the mean is 0 by construction.
        return f32(math.sqrt(norm2 / d))

    def layer_norm(spec, gamma=1.0):
        spec.gamma = np.broadcast_to(np.asarray(gamma, f32), (d,)).copy()
        spec.beta = np.zeros(d, f32)

    def silent(layer):
        layer_norm(layer.self_attention.layer_norm)
        layer.self_attention.linear[0].weight = np.zeros((3 * d, d), f32)
        layer.self_attention.linear[1].weight = np.zeros((d, d), f32)
        layer_norm(layer.ffn.layer_norm)
        layer.ffn.linear_0.weight = np.zeros((8, d), f32)
        layer.ffn.linear_1.weight = np.zeros((d, 8), f32)

    spec = transformer_spec.TransformerSpec.from_config((1, 1), 2)
    enc, dec = spec.encoder, spec.decoder
    enc.embeddings[0].weight = source_emb
    dec.embeddings.weight = np.zeros((vocab, d), f32)  # only positions matter
    for side, table in ((enc, source_pos), (dec, target_pos)):
        side.scale_embeddings = False
        side.position_encodings.encodings = table
        silent(side.layer[0])
    # The encoder's output is its input: bits, flag, position code.
    layer_norm(enc.layer_norm, rms(n_tok + 2 + 1.5 * len(freqs)))

    cross = dec.layer[0].attention
    layer_norm(cross.layer_norm, rms(3 * len(freqs)))  # the decoder holds two position codes
    # Aligned query . key = 3/2 * (2K+1) against at most 3/2 * (K+1) anywhere else: scaled
    # so that, after CTranslate2's 1/sqrt(head size), the aligned position leads by 30.
    k = len(freqs) // 2
    scale = 30.0 * math.sqrt(half) / (1.5 * k)
    eye = np.eye(n_pos, dtype=f32)
    query, keys = np.zeros((d, d), f32), np.zeros((d, d), f32)
    query[:n_pos, pos] = eye * scale  # head 1: position p
    query[half : half + n_pos, prev] = eye * scale  # head 2: position p-1
    keys[:n_pos, pos] = eye
    keys[half : half + n_pos, pos] = eye
    values, value_bias = np.zeros((d, d), f32), np.zeros(d, f32)
    values[tok, tok] = np.eye(n_tok)  # head 1: the bits
    # Head 2: (flag + 1) / 2 * 4 * bits(</s>), i.e. 0 unless it looks at </s>.
    values[half : half + n_tok, eos.start] = 2.0 * codes[eos_id]
    value_bias[half : half + n_tok] = 2.0 * codes[eos_id]
    output = np.zeros((d, d), f32)
    output[tok, :n_tok] = np.eye(n_tok)
    output[tok, half : half + n_tok] = np.eye(n_tok)
    cross.linear[0].weight = query
    cross.linear[1].weight = np.concatenate([keys, values])
    cross.linear[1].bias = np.concatenate([np.zeros(d, f32), value_bias])
    cross.linear[2].weight = output

    # The final norm keeps only the bits; each differing bit costs a piece 40 logits, so
    # the copied piece wins every beam by a wide margin.
    final_gamma = np.zeros(d, f32)
    final_gamma[tok] = rms(n_tok + 3 * len(freqs))
    layer_norm(dec.layer_norm, final_gamma)
    projection = np.zeros((vocab, d), f32)
    projection[:, tok] = codes * 10.0
    dec.projection.weight = projection

    spec.config.add_source_bos = True
    spec.config.add_source_eos = True
    spec.register_source_vocabulary(pieces)
    spec.register_target_vocabulary(pieces)
    return spec


def _sentence_splitter(lang: str) -> bytes:
    """A MiniSBD-format ONNX model that splits sentences by character-class trigrams.

    argostranslate's MiniSBDSentencizer loads the first `minisbd/*.onnx` in a package (so
    nothing is downloaded) and calls it with `units` (character ids, [batch, time]) and
    `features` ([batch, time, n]); it takes the argmax of the first output [batch, time, 3].
    The graph maps each character to a class, pads the sequence on both sides and looks the
    label up in a table indexed by (previous, current, next) class.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    units = ["<PAD>", "<UNK>", *_SBD_UNITS]
    unit_class = np.array([_PAD, _OTHER, *_SBD_UNITS.values()], np.int64)
    table = np.zeros((_SBD_CLASSES**3, 3), np.float32)
    for prev in range(_SBD_CLASSES):
        for cur in range(_SBD_CLASSES):
            for nxt in range(_SBD_CLASSES):
                label = _sentence_label(prev, cur, nxt)
                table[(prev * _SBD_CLASSES + cur) * _SBD_CLASSES + nxt, label] = 1.0

    def const(name, array):
        return numpy_helper.from_array(np.asarray(array), name)

    nodes = [
        helper.make_node("Gather", ["unit_class", "units"], ["cls"]),
        helper.make_node("Pad", ["cls", "pads", "pad_class"], ["padded"]),
        helper.make_node("Slice", ["padded", "zero", "minus2", "axis1"], ["prev"]),
        helper.make_node("Slice", ["padded", "one", "minus1", "axis1"], ["cur"]),
        helper.make_node("Slice", ["padded", "two", "end", "axis1"], ["next"]),
        helper.make_node("Mul", ["prev", "classes2"], ["prev_w"]),
        helper.make_node("Mul", ["cur", "classes"], ["cur_w"]),
        helper.make_node("Add", ["prev_w", "cur_w"], ["pc"]),
        helper.make_node("Add", ["pc", "next"], ["index"]),
        helper.make_node("Gather", ["table", "index"], ["logits"]),
    ]
    initializers = [
        const("unit_class", unit_class),
        const("pads", np.array([0, 1, 0, 1], np.int64)),
        const("pad_class", np.array(_PAD, np.int64)),
        const("zero", np.array([0], np.int64)),
        const("one", np.array([1], np.int64)),
        const("two", np.array([2], np.int64)),
        const("minus1", np.array([-1], np.int64)),
        const("minus2", np.array([-2], np.int64)),
        const("end", np.array([np.iinfo(np.int64).max], np.int64)),
        const("axis1", np.array([1], np.int64)),
        const("classes", np.array(_SBD_CLASSES, np.int64)),
        const("classes2", np.array(_SBD_CLASSES**2, np.int64)),
        const("table", table),
    ]
    graph = helper.make_graph(
        nodes,
        f"tiny-sbd-{lang}",
        [
            helper.make_tensor_value_info("units", TensorProto.INT64, ["batch", "time"]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "time", "features"]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "time", 3])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by any onnxruntime MiniSBD accepts (>= 1.10)
    vocab = {
        "lang": lang,
        "idx": 0,
        "cutoff": 0,
        "lower": False,
        "_unit2id": {u: i for i, u in enumerate(units)},
        "_id2unit": units,
    }
    config = {"skip_newline": False, "max_seqlen": 1000, "batch_size": 32, "feat_funcs": []}
    helper.set_model_props(
        model,
        {"lang_code": lang, "config": json.dumps(config), "vocab": json.dumps(vocab)},
    )
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _sentence_label(prev: int, cur: int, nxt: int) -> int:
    """MiniSBD label of a character from its class and its neighbours' classes."""
    ends = (_WIDE_STOP, _STOP)
    if cur == _WIDE_STOP:
        return 1 if nxt in (*ends, _CLOSER) else 2
    if cur == _STOP:
        return 2 if nxt in (_SPACE, _PAD) else 1
    if cur == _CLOSER and prev in (*ends, _CLOSER):
        # 「…。」 and "… ." end after the closing mark, unless another one follows.
        return 1 if nxt in (*ends, _CLOSER) else 2
    return 1
