"""Secrets and configuration (issue 12): key entropy, database URL masking, CSV formula injection."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from koho.cli import app
from koho.errors import ConfigError
from koho.ledger import Ledger
from koho.settings import mask_url
from koho.subscriber_csv import parse, write
from koho.subscribers import Subscriber
from koho.tokens import Tokens

runner = CliRunner()


@pytest.mark.parametrize("weak", ["a" * 32, "ab" * 32, "0123456789" * 4, "password" * 8])
def test_low_entropy_secret_keys_are_refused(weak):
    with pytest.raises(ConfigError, match="KOHO_SECRET_KEY"):
        Tokens(weak)


def test_generated_keys_are_accepted():
    for _ in range(50):
        Tokens(secrets.token_urlsafe(48))
        Tokens(secrets.token_hex(32))


def test_serve_refuses_a_weak_key(workspace, monkeypatch):
    from channels.mail.web import create_app
    from koho.settings import Settings

    monkeypatch.setenv("KOHO_SECRET_KEY", "a" * 32)
    with pytest.raises(ConfigError, match="predictable"):
        create_app(Settings())


@pytest.mark.parametrize(
    "url, secret",
    [
        ("postgresql://koho:pa@ss@127.0.0.1:1/koho", "pa@ss"),
        ("postgresql://koho:p/a@127.0.0.1:1/koho", "p/a"),
        ("postgresql://koho@127.0.0.1:1/koho?password=topsecret", "topsecret"),
        ("postgresql://127.0.0.1:1/koho?user=koho&sslpassword=topsecret", "topsecret"),
    ],
)
def test_database_passwords_are_masked_in_errors(url, secret):
    assert secret not in mask_url(url)
    with pytest.raises(ConfigError) as caught:
        Ledger(url)
    assert secret not in str(caught.value)
    assert "***" in str(caught.value)


def test_database_password_is_masked_in_cli_output(workspace, monkeypatch):
    monkeypatch.setenv("KOHO_DATABASE_URL", "postgresql://koho@127.0.0.1:1/koho?password=topsecret")
    result = runner.invoke(app, ["publish"])
    assert "topsecret" not in result.output
    assert result.exit_code == 2


def test_non_numeric_port_is_a_configuration_error(workspace, monkeypatch):
    monkeypatch.setenv("KOHO_DATABASE_URL", "postgresql://koho:pw@db:five/koho")
    result = runner.invoke(app, ["publish"])
    assert result.exit_code == 2
    assert "port that is not a number" in result.output and "Traceback" not in result.output


def _subscriber(address: str, source: str = "web") -> Subscriber:
    return Subscriber(1, address, "ja", "confirmed", ("bousai",), source, datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("http://evil")@example.jp',
        "+1@example.jp",
        "-2@example.jp",
        "@SUM(A1)",
        "\tx@example.jp",
        "\rx@example.jp",
    ],
)
def test_export_neutralises_formula_cells(cell):
    out = io.StringIO()
    write([_subscriber(cell, source=cell)], out)
    row = list(csv.reader(io.StringIO(out.getvalue(), newline="")))[1]
    assert row[0] == ("'" + cell).replace("\r", " ") and row[5] == row[0]
    assert len(list(csv.reader(io.StringIO(out.getvalue(), newline="")))) == 2  # no row injected


def test_an_exported_formula_like_address_imports_as_itself():
    out = io.StringIO()
    write([_subscriber("=x@example.jp")], out)
    parsed = parse(out.getvalue(), "export.csv", ["bousai"])
    assert parsed.rejected == [] and parsed.rows[0].address == "=x@example.jp"
