"""Fixtures of the security tests."""

from __future__ import annotations

import pytest

#: What ``content``'s neighbouring secret.txt holds: no output, page or e-book may show it.
SECRET = "SMTP_PASSWORD=hunter2-do-not-leak"


@pytest.fixture
def content(content):
    """The suite's empty content folder (tests/conftest.py), with a secret.txt next to it that a
    link, include or symlink might try to reach."""
    (content.parent / "secret.txt").write_text(SECRET)
    return content
