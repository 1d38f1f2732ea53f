"""The explicit channel registry: name -> how to build the channel from settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from channels import facebook, line, x, youtube
from channels.archive import ArchiveChannel
from channels.audio.channel import AudioChannel
from channels.braille import BrailleChannel
from channels.ebook import EbookChannel
from channels.feeds import FeedsChannel
from channels.mail import MailChannel
from channels.mail.message import identity_for
from channels.mail.press import PressMailChannel
from koho.channel import Channel
from koho.errors import ConfigError
from koho.settings import Settings
from koho.site import load_site
from koho.tokens import Tokens


def _mail(settings: Settings, base: Path) -> Channel[Any]:
    identity = identity_for(settings, load_site(settings.content_dir))
    return MailChannel(settings.mail_url, identity, Tokens(settings.secret()), base)


def _press_mail(settings: Settings, base: Path) -> Channel[Any]:
    # The info mail's transport and sender: the office's mail goes out one way.
    identity = identity_for(settings, load_site(settings.content_dir))
    return PressMailChannel(settings.mail_url, identity, settings.content_dir, base)


#: Every channel koho knows, in publishing order. Adding a channel means one line here.
REGISTRY: dict[str, Callable[[Settings, Path], Channel[Any]]] = {
    # Issue pages link to the e-book editions only when the ebook channel writes them, pages
    # to the info-mail sign-up page only when the mail channel is on, and play and link the
    # audio and braille editions the store holds when either of those channels is on.
    "archive": lambda s, base: ArchiveChannel(
        s.archive_url,
        s.content_dir,
        base,
        ebooks="ebook" in s.enabled_channels(),
        signup=s.mail_web_url if "mail" in s.enabled_channels() else None,
        accessible=bool({"audio", "braille"} & set(s.enabled_channels())),
    ),
    "feeds": lambda s, base: FeedsChannel(s.feeds_target(), base),
    # E-book editions of each 区報 issue go to the archive's store, next to the issue pages.
    "ebook": lambda s, base: EbookChannel(s.archive_url, s.content_dir, base),
    # The braille edition (点字広報) of each issue, next to the e-books; skipped with the install
    # command when the accessible extra (Open JTalk) is missing.
    "braille": lambda s, base: BrailleChannel(s.archive_url, s.content_dir, base),
    # The audio edition (声の広報): an MP3 per article and per issue, the sentence cache in the
    # state folder; skipped with the install command without the accessible extra.
    "audio": lambda s, base: AudioChannel(s.archive_url, s.content_dir, base, s.state_dir / "cache"),
    "mail": _mail,
    # Press releases to the media list, at the release time (the others wait for the embargo).
    "press_mail": _press_mail,
    "x": lambda s, base: x.XChannel(x.load_settings(), base),
    "facebook": lambda s, base: facebook.FacebookChannel(facebook.load_settings(), base),
    "line": lambda s, base: line.LineChannel(line.load_settings(), base),
    "youtube": lambda s, base: youtube.YouTubeChannel(youtube.load_settings(), base),
}


def build(settings: Settings, only: list[str] | None = None, base_dir: Path | None = None) -> list[Channel[Any]]:
    """Instantiate the enabled channels (optionally only some of them), in registry order."""
    wanted = only or settings.enabled_channels()
    unknown = [name for name in wanted if name not in REGISTRY]
    if unknown:
        raise ConfigError(f"unknown channel(s): {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    return [factory(settings, base_dir or Path.cwd()) for name, factory in REGISTRY.items() if name in wanted]
