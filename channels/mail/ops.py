"""The operators' alert mail (``koho/alerts.py`` decides what to tell; this sends it).

Through the info mail's own transport (``KOHO_MAIL_URL``: the outbox by default, SMTP or SES in
production), so the alert goes wherever the office's mail already goes, from the list's address.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from channels.mail.message import identity_for, plain_notice
from channels.mail.transports import open_transport
from koho.settings import Settings
from koho.site import Site


def ops_addresses(settings: Settings) -> list[str]:
    """The operators' addresses (``KOHO_OPS_MAIL``, comma-separated; none: no mail)."""
    return [a.strip() for a in settings.ops_mail.split(",") if a.strip()]


def send_ops_mail(settings: Settings, site: Site, subject: str, text: str, when: datetime) -> list[str]:
    """Mail ``text`` to every operator; the transport's references. A refusal raises
    ``SendError``: the caller's transaction rolls back and the next run tells them again."""
    identity = identity_for(settings, site)
    transport = open_transport(settings.mail_url, Path.cwd())  # relative outbox: as the mail channel
    try:
        refs = []
        for n, to in enumerate(ops_addresses(settings)):
            message = plain_notice(identity, to, subject, text, when, settings.ops_language)
            name = f"ops/alert-{when.strftime('%Y%m%dT%H%M%S')}-{n}"
            refs.append(transport.send(identity.from_address, to, message, name))
        return refs
    finally:
        transport.close()
