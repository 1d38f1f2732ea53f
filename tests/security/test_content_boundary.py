"""Content may publish only regular image files inside content/media (issue 12, the HIGH item).

A symlink anywhere under content/ that points outside, a hard link, a non-image file inside
content/ or a remote URL must be refused by ``koho check`` (path:line: field), and nothing may
reach public/ or the e-book.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from koho.cli import app
from koho.delivery import Delivery
from koho.media import MediaError, read_media
from koho.reader import read_corpus
from koho.site import load_site
from tests.conftest import CONTENT
from tests.security.conftest import SECRET

runner = CliRunner()
PNG = (CONTENT / "media" / "sogo-bousai-kunren-2026-map.png").read_bytes()


def article(src: str) -> str:
    return f"""---
title: 地図のお知らせ
publish_at: 2026-11-01 09:00
topics: [bousai]
images:
  - src: {src}
    alt: 地図
---
本文です。
"""


def errors_for(content: Path, src: str) -> list[str]:
    (content / "articles" / "a.md").write_text(article(src), encoding="utf-8")
    corpus = read_corpus(content, load_site(content))
    assert "a" not in corpus.articles
    return [str(e) for e in corpus.errors]


def only(errors: list[str]) -> str:
    assert len(errors) == 1, errors
    assert ":6: images[0].src: " in errors[0], errors  # path, line and field
    return errors[0]


def test_symlink_in_media_to_a_file_outside_is_refused(content):
    os.symlink(content.parent / "secret.txt", content / "media" / "environ.png")
    assert "link" in only(errors_for(content, "media/environ.png"))


def test_symlink_to_proc_environ_is_refused(content):
    os.symlink("/proc/self/environ", content / "media" / "env.png")
    assert "link" in only(errors_for(content, "media/env.png"))


def test_symlinked_folder_in_media_is_refused(content):
    outside = content.parent / "outside"
    outside.mkdir()
    (outside / "map.png").write_bytes(PNG)  # even a real image: the folder leads outside
    os.symlink(outside, content / "media" / "linked")
    assert "link" in only(errors_for(content, "media/linked/map.png"))


def test_symlinked_media_folder_itself_is_refused(content):
    shutil.rmtree(content / "media")
    outside = content.parent / "outside"
    outside.mkdir()
    (outside / "map.png").write_bytes(PNG)
    os.symlink(outside, content / "media")
    assert "link" in only(errors_for(content, "media/map.png"))


def test_hard_link_to_a_file_elsewhere_is_refused(content):
    real = content.parent / "real.png"
    real.write_bytes(PNG)
    os.link(real, content / "media" / "hard.png")
    assert "hard link" in only(errors_for(content, "media/hard.png"))


@pytest.mark.parametrize(
    "src",
    [
        "site.yaml",
        "articles/a.md",
        "media/../site.yaml",
        "/etc/passwd",
        "media\\x.png",
        "./media/sogo-bousai-kunren-2026-map.png",
    ],
)
def test_files_outside_media_are_refused(content, src):
    only(errors_for(content, src))


def test_non_image_bytes_under_an_image_name_are_refused(content):
    shutil.copy(content / "site.yaml", content / "media" / "site.png")
    assert "not a PNG image" in only(errors_for(content, "media/site.png"))


def test_png_named_as_jpeg_is_refused(content):
    (content / "media" / "map.jpg").write_bytes(PNG)
    assert "not a JPG image" in only(errors_for(content, "media/map.jpg"))


def test_svg_is_not_an_accepted_image(content):
    (content / "media" / "x.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    assert "not an image type" in only(errors_for(content, "media/x.svg"))


def test_remote_image_urls_are_refused(content):
    assert "remote" in only(errors_for(content, "https://example.com/map.png"))


def test_fifo_in_media_does_not_hang_the_check(content):
    os.mkfifo(content / "media" / "pipe.png")
    assert "regular file" in only(errors_for(content, "media/pipe.png"))


def test_a_real_image_passes(content):
    (content / "articles" / "a.md").write_text(article("media/sogo-bousai-kunren-2026-map.png"), encoding="utf-8")
    corpus = read_corpus(content, load_site(content))
    assert corpus.errors == [] and "a" in corpus.articles


def test_symlinked_article_file_and_folder_are_reported_not_skipped(content):
    (content.parent / "secret.md").write_text(article("media/sogo-bousai-kunren-2026-map.png"), encoding="utf-8")
    os.symlink(content.parent / "secret.md", content / "articles" / "linked.md")
    folder = content.parent / "more"
    folder.mkdir()
    (folder / "hidden.md").write_text(article("media/sogo-bousai-kunren-2026-map.png"), encoding="utf-8")
    os.symlink(folder, content / "articles" / "more")
    corpus = read_corpus(content, load_site(content))
    assert corpus.articles == {}
    text = "\n".join(map(str, corpus.errors))
    assert "articles/linked.md:1: file: this is a symbolic link" in text
    assert "articles/more:1: file: this is a symbolic link" in text


def test_check_of_a_missing_path_is_an_error(workspace):
    result = runner.invoke(app, ["check", "missing.md"])
    assert result.exit_code == 1
    assert "missing.md:1: file: no such file or folder" in result.output
    assert "OK" not in result.output


def test_check_of_a_path_without_articles_is_an_error(workspace):
    result = runner.invoke(app, ["check", str(workspace / "content" / "media")])
    assert result.exit_code == 1
    assert "no article here" in result.output


def test_publish_never_copies_a_linked_secret(workspace):
    content = workspace / "content"
    (workspace / "secret_key").write_text(SECRET)
    os.symlink(workspace / "secret_key", content / "media" / "key.png")
    (content / "articles" / "leak.md").write_text(article("media/key.png"), encoding="utf-8")
    result = runner.invoke(app, ["publish", "--channel", "archive", "--channel", "ebook"])
    assert result.exit_code == 1
    assert "leak.md:6: images[0].src:" in result.output
    public = workspace / "public"
    leaked = (
        [p for p in public.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()] if public.exists() else []
    )
    assert leaked == []


def test_deliver_reads_media_without_following_a_link(tmp_path):
    (tmp_path / "secret.txt").write_text(SECRET)
    os.symlink(tmp_path / "secret.txt", tmp_path / "x.png")
    delivery = Delivery("archive", "media/x.png", "a", "r", None, tmp_path / "x.png", "image/png")
    with pytest.raises(OSError):
        delivery.body()


def test_ebook_reader_refuses_a_link(content):
    os.symlink(content.parent / "secret.txt", content / "media" / "e.png")
    with pytest.raises(MediaError):
        read_media(content, "media/e.png")
    assert read_media(content, "media/sogo-bousai-kunren-2026-map.png") == PNG
