"""The base of channels that make one edition file per bulletin issue into the archive's store
(the e-books, the braille edition): nothing per article, the content folder at hand for what an
edition reads besides the articles (images, the readings dictionary)."""

from __future__ import annotations

from pathlib import Path

from koho.article import Article
from koho.channel import PlanContext
from koho.delivery import Delivery
from koho.storage import StoreChannel


class IssueEditionChannel(StoreChannel):
    """A byte-store channel that plans per issue, never per article: a subclass declares
    ``PlansIssues`` on its class line and writes ``plan_issue``."""

    def __init__(self, url: str, content_dir: Path, base_dir: Path | None = None):
        super().__init__(url, base_dir)
        self.content_dir = content_dir

    def plan(self, article: Article, ctx: PlanContext) -> list[Delivery]:
        """Nothing per article: an edition is made per issue (``plan_issue``)."""
        return []
