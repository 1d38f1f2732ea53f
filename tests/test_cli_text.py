"""What the `koho` command prints from content, settings and the ledger appears exactly as written:
no Rich markup (`[translate]` is not a tag) and no emoji codes (`:new:` stays text)."""

from __future__ import annotations

from typer.testing import CliRunner

from koho.cli import app
from koho.delivery import Delivery, Receipt
from koho.ledger import Ledger
from koho.settings import Settings

HINT = "argostranslate is not installed: pip install -c constraints.txt -e '.[translate]' [bold]:new:"


def test_ledger_text_with_brackets_and_colons_prints_verbatim(workspace):
    ledger = Ledger(Settings().db_url())
    delivery = Delivery("archive", "translation/[th]", "tokushu-sagi-chuui", "r1", "th", b"")
    ledger.record([delivery])
    ledger.apply([Receipt.skipped(delivery.key, HINT)])
    ledger.close()

    runner = CliRunner()
    detail = runner.invoke(app, ["status", "tokushu-sagi-chuui"], env={"COLUMNS": "300"})
    assert detail.exit_code == 0, detail.output
    assert HINT in detail.output and "translation/[th]" in detail.output
    unknown = runner.invoke(app, ["status", "[red]x:new:"])
    assert unknown.exit_code == 1 and "'[red]x:new:'" in unknown.output
