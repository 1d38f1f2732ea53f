"""Channel lists for tests that publish the whole sample content.

The ``audio`` channel is on by default, and speaking the whole sample content (17 articles, four
issues) takes minutes of synthesis on a cold sentence cache. Tests that publish the sample
content for something other than audio run every other default channel; the audio edition is
tested, through the same flows, on a short issue of its own (tests/e2e/test_audio_e2e.py) and
channel by channel in tests/test_audio.py.
"""

from __future__ import annotations

from koho.settings import Settings

#: Every default channel but ``audio``, in the default order.
DEFAULT = str(Settings.model_fields["channels"].default)
WITHOUT_AUDIO = ",".join(name for name in DEFAULT.split(",") if name != "audio")
