"""The ward's X account: posts, replies with change notes, deletions (tweepy, API v2)."""

from channels.x.channel import XChannel, XSettings, load_settings

__all__ = ["XChannel", "XSettings", "load_settings"]
