"""The bulletin archive: a static site (Jinja2) written to a byte store by URL."""

from channels.archive.channel import ArchiveChannel

__all__ = ["ArchiveChannel"]
