"""The info-mail subscription web service behind ``koho serve`` (see ``app``)."""

from channels.mail.web.app import create_app

__all__ = ["create_app"]
