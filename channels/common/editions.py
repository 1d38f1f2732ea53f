"""The base of channels that make one edition file per bulletin issue into the archive's store
(the e-books, the braille edition): nothing per article, the content folder at hand for what an
edition reads besides the articles (images, the readings dictionary)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from koho.article import Article
from koho.channel import Limits, PlanContext
from koho.delivery import Delivery, Receipt
from koho.storage import StoreChannel


class IssueEditionChannel(StoreChannel):
    """A byte-store channel that plans per issue, never per article: a subclass declares
    ``PlansIssues`` on its class line and writes ``plan_issue``.

    An edition that needs an optional extra (braille, audio) plans, without it, rows whose
    revision ends with ``unavailable``; they are recorded ``skipped`` with ``unavailable_detail``
    (the install command), and the real rows are new keys once the extra is installed."""

    unavailable: ClassVar[str] = ""
    unavailable_detail: ClassVar[str] = ""

    def __init__(self, url: str, content_dir: Path, base_dir: Path | None = None):
        super().__init__(url, base_dir)
        self.content_dir = content_dir

    def plan(self, article: Article, ctx: PlanContext) -> list[Delivery]:
        """Nothing per article: an edition is made per issue (``plan_issue``)."""
        return []

    def deliver(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Write each file; a row planned without the extra is skipped with the install command."""
        marker = self.unavailable
        missing = [d for d in batch if marker and d.revision.endswith(marker)]
        receipts = {d.key: Receipt.skipped(d.key, self.unavailable_detail) for d in missing}
        written = super().deliver([d for d in batch if d.key not in receipts])
        receipts.update({r.key: r for r in written})
        return [receipts[d.key] for d in batch]


class JapaneseEditionChannel(IssueEditionChannel):
    """An edition for the ward's residents who cannot read print (braille, audio): Japanese
    only, as the ward's own editions are; translated issues get none."""

    limits: ClassVar[Limits] = Limits(batch_size=20, languages=("ja",))
