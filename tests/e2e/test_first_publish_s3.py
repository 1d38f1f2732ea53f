"""The README's first command as a process of its own, to an S3 bucket, with no model installed
(ADR 0014): the archive is whole there too.

Its own file (it was tests/e2e/test_first_publish.py's last test) so that pytest-xdist can run
this publish, which does not need that module's nine-language one, on the other worker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import boto3
import pytest

from koho import prefect_env
from tests.channel_lists import WITHOUT_AUDIO
from tests.conftest import CONTENT
from tests.crawl import crawl, read_s3

BASE = "https://koho.example.city.lg.jp/"
#: `koho serve` answers there (the info-mail sign-up pages): not files of the site.
MAIL = BASE + "mail/"

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_the_first_publish_to_s3_without_models_is_whole(s3_env, tmp_path, prefect_harness):
    """The README's command as a process of its own, as on a fresh clone: no translation model
    installed (argostranslate's folders empty), so every language of every article is a skipped
    row, recorded before the original is planned. Those rows once made the channel look
    non-empty, and the stylesheet, topic index, 404 page and robots.txt were never written.
    Here the archive is on S3 (moto), and every reference resolves among its objects."""
    from prefect.settings import PREFECT_API_URL

    (tmp_path / "work").mkdir()
    shutil.copytree(CONTENT, tmp_path / "work" / "content")
    empty = tmp_path / "argos"
    env = {
        **os.environ,
        **prefect_env.DEFAULTS,
        "KOHO_ARCHIVE_URL": f"s3://{s3_env}/site",
        "KOHO_CHANNELS": WITHOUT_AUDIO,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "COLUMNS": "250",
        "XDG_DATA_HOME": str(empty / "data"),
        "XDG_CONFIG_HOME": str(empty / "config"),
        "XDG_CACHE_HOME": str(empty / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-c", "from koho.cli import main; main()", "publish"],
        cwd=tmp_path / "work",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "translate-ja_en" in done.stdout, done.stdout  # the missing model is named
    files = read_s3(boto3.client("s3"), s3_env, "site")
    report = crawl(files, BASE, outside=(MAIL,))
    assert report.broken == [] and report.checked > 500
    assert {
        "static/koho.css",
        "static/favicon.svg",
        "404.html",
        "robots.txt",
        "favicon.ico",
        "topics/index.html",
    } <= set(files)
    assert not any(p.startswith("en/") for p in files)
    assert not (tmp_path / "work" / "public").exists()
