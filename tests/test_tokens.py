"""Signed mail-list links: forged, altered, cross-purpose and expired tokens are refused."""

from __future__ import annotations

import time

import pytest

from koho.errors import ConfigError
from koho.tokens import TokenError, Tokens

SECRET = "test-secret-Zk7q2VwX9mB4nR8cT1yH6pL3sD5fG0jA"


def test_round_trip_and_purpose_separation():
    tokens = Tokens(SECRET)
    token = tokens.issue("unsubscribe", 42, "gen")
    assert tokens.check("unsubscribe", token) == (42, "gen")
    with pytest.raises(TokenError):
        tokens.check("confirm", token)
    with pytest.raises(TokenError):
        Tokens("other-secret-Qa1Ws2Ed3Rf4Tg5Yh6Uj7Ik8Ol9P").check("unsubscribe", token)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: "x" + t,
        lambda t: "",
        lambda t: "not.a.token",
    ],
)
def test_altered_tokens_are_refused(mangle):
    tokens = Tokens(SECRET)
    with pytest.raises(TokenError) as caught:
        tokens.check("preferences", mangle(tokens.issue("preferences", 7, "gen")))
    assert not caught.value.expired


def test_confirmation_links_expire(monkeypatch):
    tokens = Tokens(SECRET)
    token = tokens.issue("confirm", 5, "gen")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 8 * 86400)
    with pytest.raises(TokenError) as caught:
        tokens.check("confirm", token)
    assert caught.value.expired


def test_short_secret_is_a_configuration_error_and_never_printed():
    with pytest.raises(ConfigError):
        Tokens("short")
    assert SECRET not in repr(Tokens(SECRET))
