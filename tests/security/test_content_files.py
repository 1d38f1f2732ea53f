"""Every file koho reads under content/ goes through content's boundary (issue 12): site.yaml,
glossary.yaml and the review PO files under content/translations/ are refused, with a plain
message naming the file, when they are links out of content/ (or sit in a linked folder), hard
links, FIFOs or too large; nothing of the file they point at is read or printed."""

from __future__ import annotations

import os
import shutil

import pytest
from typer.testing import CliRunner

from koho.cli import app
from koho.content_files import ContentFileError, read_inside
from koho.errors import ContentInvalid
from koho.site import MAX_SITE_BYTES, load_site
from tests.security.conftest import SECRET
from translations.glossary import MAX_GLOSSARY_BYTES, load_glossary
from translations.review import load_reviews, po_path

ARTICLE = "sogo-bousai-kunren-2026"
PO = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "防災"\nmsgstr "Disaster"\n'


def site_error(content) -> str:
    with pytest.raises(ContentInvalid) as caught:
        load_site(content)
    [error] = caught.value.errors
    assert error.path.endswith("site.yaml") and SECRET not in error.message
    return error.message


def test_site_yaml_linked_out_of_content_is_refused(content):
    secret = content.parent / "secret.txt"
    (content / "site.yaml").unlink()
    (content / "site.yaml").symlink_to(secret)
    assert "content/site.yaml is a link" in site_error(content)


def test_site_yaml_as_a_hard_link_a_fifo_or_too_large_is_refused(content):
    site = content / "site.yaml"
    os.link(site, content.parent / "elsewhere.yaml")
    assert "hard link" in site_error(content)
    os.unlink(content.parent / "elsewhere.yaml")
    text = site.read_text(encoding="utf-8")
    site.write_text(text + "#" * MAX_SITE_BYTES + "\n", encoding="utf-8")
    assert "at most" in site_error(content)
    site.unlink()
    os.mkfifo(site)  # must not hang the run
    assert "not a regular file" in site_error(content)


def test_koho_check_names_the_linked_site_yaml_and_prints_nothing_of_its_target(content, monkeypatch):
    monkeypatch.setenv("KOHO_CONTENT_DIR", str(content))
    monkeypatch.setenv("KOHO_STATE_DIR", str(content.parent / ".koho"))
    (content / "site.yaml").unlink()
    (content / "site.yaml").symlink_to(content.parent / "secret.txt")
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code != 0 and "site.yaml" in result.output and "is a link" in result.output, result.output
    assert SECRET not in result.output and "Traceback" not in result.output


def test_glossary_linked_out_of_content_or_too_large_is_refused(content):
    glossary = content / "glossary.yaml"
    glossary.symlink_to(content.parent / "secret.txt")
    _, [error] = load_glossary(content, ["en"])
    assert error.path.endswith("glossary.yaml") and "content/glossary.yaml is a link" in error.message
    assert SECRET not in error.message
    glossary.unlink()
    glossary.write_text("練馬区: {en: Nerima City}\n" + "#" * MAX_GLOSSARY_BYTES + "\n", encoding="utf-8")
    _, [error] = load_glossary(content, ["en"])
    assert "at most" in error.message


def test_review_files_linked_out_of_content_are_refused(content):
    (content.parent / "outside.po").write_text(PO, encoding="utf-8")
    path = po_path(content, "en", ARTICLE)
    path.parent.mkdir(parents=True)
    path.symlink_to(content.parent / "outside.po")
    reviews = load_reviews(content, "en", ARTICLE)
    assert reviews.reviewed == {} and "is a link" in reviews.errors[0].message
    assert reviews.errors[0].path.endswith(f"translations/en/{ARTICLE}.po")

    # A linked language folder: the file inside it is outside content/ too.
    shutil.rmtree(path.parent)
    (content.parent / "elsewhere").mkdir()
    (content.parent / "elsewhere" / f"{ARTICLE}.po").write_text(PO, encoding="utf-8")
    path.parent.symlink_to(content.parent / "elsewhere")
    reviews = load_reviews(content, "en", ARTICLE)
    assert reviews.reviewed == {} and "'en' on the way is a link" in reviews.errors[0].message


def test_translations_export_refuses_to_write_through_a_linked_review_file(content):
    from translations.review import export

    target = content.parent / "victim.txt"
    target.write_text("keep me", encoding="utf-8")
    path = po_path(content, "en", ARTICLE)
    path.parent.mkdir(parents=True)
    path.symlink_to(target)
    with pytest.raises(ValueError, match="is a link"):
        export(content, "en", ARTICLE, [])
    assert target.read_text(encoding="utf-8") == "keep me"


def test_the_boundary_refuses_paths_that_climb_out(content):
    with pytest.raises(ContentFileError):
        read_inside(content, "../secret.txt", 1024, "files must be inside content/")
