"""Signed links for the mail list: confirm a subscription, open preferences, unsubscribe.

itsdangerous signs a (purpose, subscriber id, link generation) payload with the secret from
``KOHO_SECRET_KEY`` (or a Prefect Secret block, resolved by the caller). The purpose is part of the
signature's salt, so an unsubscribe token can never be replayed as a confirmation; confirmation
links expire. The generation is the subscriber's ``link_nonce`` (``koho.subscribers``): random,
made anew when a subscription ends or starts again, and compared by the service with the stored
one, so a link from an earlier subscription of the same address is refused (ADR 0013). A token
still carries the row id (the service looks the row up by it), but an id without the current
nonce opens nothing, so counting ids gains an attacker nothing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from koho.errors import ConfigError
from koho.settings import secret_problem

#: How long a confirmation link stays valid (the sign-up page says it).
CONFIRM_VALID = timedelta(days=7)
PURPOSES = {
    # purpose: how long a link stays valid (None: as long as the subscription exists)
    "confirm": CONFIRM_VALID,
    "preferences": timedelta(days=90),
    "unsubscribe": None,
}
MIN_SECRET_LENGTH = 32


class _Signer(TimestampSigner):
    """itsdangerous's timestamp signer, keeping the key it derives from the secret and salt (the
    same for every link): a fan-out signs two links per recipient."""

    @functools.cached_property
    def _derived(self) -> bytes:
        return super().derive_key()

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        return self._derived if secret_key is None else super().derive_key(secret_key)


class _Serializer(URLSafeTimedSerializer):
    """itsdangerous's URL-safe timed serializer with one signer per salt, made once: it made a
    new signer (and derived its key) for every link. The tokens are the library's, unchanged."""

    default_signer = _Signer

    def make_signer(self, salt: str | bytes | None = None) -> TimestampSigner:
        signers: dict[str | bytes | None, TimestampSigner] = self.__dict__.setdefault("_signers", {})
        if salt not in signers:
            signers[salt] = super().make_signer(salt)  # type: ignore[assignment]
        return signers[salt]


@functools.lru_cache(maxsize=16)
def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    # One per secret and purpose: a mail fan-out signs two links per recipient, and building the
    # serializer (and its signer) each time was a tenth of koho's CPU per message.
    return _Serializer(secret, salt=f"koho.{purpose}")


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
            raise ConfigError(
                f"{problem} (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                if "token_urlsafe" not in problem
                else problem
            )

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown token purpose {purpose!r}")
        return _serializer(self.secret, purpose)

    def issue(self, purpose: str, subscriber_id: int, generation: str) -> str:
        """A URL-safe token binding ``subscriber_id`` and its link ``generation`` to ``purpose``."""
        return self._serializer(purpose).dumps([subscriber_id, generation])

    def check(self, purpose: str, token: str) -> tuple[int, str]:
        """(subscriber id, link generation) of a valid token; TokenError otherwise. The caller
        compares the generation with the subscriber's current one."""
        max_age = PURPOSES[purpose]
        try:
            value = self._serializer(purpose).loads(token, max_age=int(max_age.total_seconds()) if max_age else None)
        except SignatureExpired:
            raise TokenError("this link has expired", expired=True) from None
        except BadSignature:
            raise TokenError("this link is not valid") from None
        # A bare id is a link from before generations existed (0009): it opens nothing any more.
        if not (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], int)
            and not isinstance(value[0], bool)
            and isinstance(value[1], str)
        ):
            raise TokenError("this link is not valid")
        return value[0], value[1]

    def __repr__(self) -> str:  # never print the secret
        return "Tokens(secret=***)"
