"""点字広報: the braille edition of each 区報 issue, in the archive's store (ADR 0027).

Per Japanese issue two files, ``braille/2026-11-01/kuho-2026-11-01.brf`` (North American ASCII
braille: what Japanese embossers accept) and ``….txt`` (the same pages in Unicode braille),
from the same readings speech will use (``koho.readings``, ward terms from the glossary's
``reading:``). Translated editions get none: the ward's braille edition is Japanese.

Without the ``accessible`` extra there is no reader: the issue is planned once as a row that is
recorded ``skipped`` with the install command (like a missing translation model), and under
another revision, so the edition is made on the first run after the extra is installed.
"""

from __future__ import annotations

from typing import ClassVar

from channels.common.editions import JapaneseEditionChannel
from koho.bulletin import BulletinIssue
from koho.channel import PlanContext, PlansIssues
from koho.delivery import Delivery
from koho.editions import braille_path
from koho.readings import INSTALL_HINT, available

BRF_TYPE = "text/plain; charset=us-ascii"  # BRF has no registered media type; it is ASCII text
TEXT_TYPE = "text/plain; charset=utf-8"
#: The revision suffix of the row planned when the readings cannot be made.
UNAVAILABLE = "no-readings"


class BrailleChannel(JapaneseEditionChannel, PlansIssues[PlanContext]):
    """The braille edition of each Japanese bulletin issue (BRF and Unicode braille) in a byte store."""

    name: ClassVar[str] = "braille"
    unavailable: ClassVar[str] = UNAVAILABLE
    unavailable_detail: ClassVar[str] = f"braille needs Open JTalk: {INSTALL_HINT}"

    def plan_issue(self, issue: BulletinIssue, ctx: PlanContext) -> list[Delivery]:
        """The issue's BRF and Unicode braille files; one row to skip when Open JTalk is missing."""
        if not issue.articles or issue.language != "ja":
            return []
        target = braille_path(issue.day, "brf")
        if not available():
            revision = f"{issue.revision}-{UNAVAILABLE}"
            return [Delivery(self.name, target, issue.id, revision, "ja", b"", BRF_TYPE)]
        from channels.braille.edition import edition
        from koho.reading_dictionary import load_reading_dictionary

        # Errors of the dictionary stop a run before planning (koho check, the preflight).
        dictionary, _errors = load_reading_dictionary(self.content_dir)
        made = edition(issue.articles, dictionary)
        return [
            Delivery(self.name, target, issue.id, issue.revision, "ja", made.brf, BRF_TYPE),
            Delivery(
                self.name,
                braille_path(issue.day, "txt"),
                issue.id,
                issue.revision,
                "ja",
                made.text.encode("utf-8"),
                TEXT_TYPE,
            ),
        ]
