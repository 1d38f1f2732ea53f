"""The info mail list (ねりま情報メール): messages, the channel and its transports."""

from channels.mail.channel import MailChannel

__all__ = ["MailChannel"]
