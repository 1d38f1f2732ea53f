"""Signed links for the mail list: confirm a subscription, open preferences, unsubscribe.

itsdangerous signs a (purpose, subscriber id) payload with the secret from ``KOHO_SECRET_KEY``
(or a Prefect Secret block, resolved by the caller). The purpose is part of the signature's salt,
so an unsubscribe token can never be replayed as a confirmation; confirmation links expire.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from koho.errors import ConfigError
from koho.settings import secret_problem

PURPOSES = {
    # purpose: how long a link stays valid (None: as long as the subscription exists)
    "confirm": timedelta(days=7),
    "preferences": timedelta(days=90),
    "unsubscribe": None,
}
MIN_SECRET_LENGTH = 32


@functools.lru_cache(maxsize=16)
def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    # One per secret and purpose: a mail fan-out signs two links per recipient, and building the
    # serializer (and its signer) each time was a tenth of koho's CPU per message.
    return URLSafeTimedSerializer(secret, salt=f"koho.{purpose}")


class TokenError(Exception):
    """A token that is forged, altered, for another purpose, or expired (``expired`` says which)."""

    def __init__(self, message: str, expired: bool = False):
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class Tokens:
    """Issue and check signed tokens for one secret."""

    secret: str

    def __post_init__(self) -> None:
        problem = secret_problem(self.secret or "")
        if problem:  # 32 x "a" is long enough and guessable: length alone is not the test
            raise ConfigError(f"{problem} (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                              if "token_urlsafe" not in problem else problem)

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown token purpose {purpose!r}")
        return _serializer(self.secret, purpose)

    def issue(self, purpose: str, subscriber_id: int) -> str:
        """A URL-safe token binding ``subscriber_id`` to ``purpose``."""
        return self._serializer(purpose).dumps(subscriber_id)

    def check(self, purpose: str, token: str) -> int:
        """The subscriber id in a valid token; TokenError otherwise."""
        max_age = PURPOSES[purpose]
        try:
            value = self._serializer(purpose).loads(token, max_age=max_age.total_seconds() if max_age else None)
        except SignatureExpired:
            raise TokenError("this link has expired", expired=True) from None
        except BadSignature:
            raise TokenError("this link is not valid") from None
        if not isinstance(value, int) or isinstance(value, bool):
            raise TokenError("this link is not valid")
        return value

    def __repr__(self) -> str:  # never print the secret
        return "Tokens(secret=***)"
