"""A tiny observer so long runs can show progress without knowing who is watching.

The pipeline reports; the CLI (Rich progress bars) listens. Flows and tests need not listen.
"""

from __future__ import annotations

from collections.abc import Callable

Observer = Callable[[str, int, int], None]
_observers: list[Observer] = []


def subscribe(observer: Observer) -> Callable[[], None]:
    """Register ``observer(label, advance, total)``; returns a function that unsubscribes it."""
    _observers.append(observer)
    return lambda: _observers.remove(observer) if observer in _observers else None


def report(label: str, advance: int, total: int) -> None:
    """Tell observers that ``advance`` more items of ``total`` under ``label`` are done."""
    for observer in list(_observers):
        observer(label, advance, total)
