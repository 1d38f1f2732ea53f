"""The quota book: where channels that spend a provider's quota (``koho.channel.SpendsQuota``)
book what they spent. The ledger is one (``Ledger.quota_spent``/``spend_quota``, its
``quota_usage`` table); a channel sees only this protocol and opens no ledger of its own."""

from __future__ import annotations

from typing import Protocol


class QuotaBook(Protocol):
    """Where the quota units a channel spends are booked, per provider and quota period: the
    run's ledger (``quota_usage``), so every run and worker sees what the others spent."""

    def quota_spent(self, provider: str, period: str) -> int:
        """Units booked for ``provider`` in ``period`` so far."""
        ...

    def spend_quota(self, provider: str, period: str, units: int) -> int:
        """Book ``units`` more; returns the period's new total."""
        ...
