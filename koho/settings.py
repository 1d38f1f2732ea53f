"""Runtime settings from the environment (``KOHO_*``); secrets never live in files or logs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where content comes from, where the ledger lives and where each channel delivers.

    Every channel transport is chosen by URL (``file://public``, ``s3://bucket/prefix``), so one
    environment variable switches a channel from the local default to a real service.
    """

    model_config = SettingsConfigDict(env_prefix="KOHO_", extra="ignore")

    content_dir: Path = Path("content")
    state_dir: Path = Path(".koho")
    database_url: str = ""
    archive_url: str = "file://public"
    feeds_url: str = ""
    channels: str = Field("archive,feeds", description="comma-separated channels to publish to")

    def db_url(self) -> str:
        """The ledger's SQLAlchemy URL; a SQLite file under the state folder by default."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'koho.db').as_posix()}"

    def feeds_target(self) -> str:
        """Feeds go next to the archive unless told otherwise (they are part of the site)."""
        return self.feeds_url or self.archive_url

    def enabled_channels(self) -> list[str]:
        """Channel names switched on, in order."""
        return [name.strip() for name in self.channels.split(",") if name.strip()]
