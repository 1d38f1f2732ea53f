"""What several channels share, so that none has to import another (``tests/test_layout.py``).

``textfit`` fits text into a channel's limits; ``outbox`` and ``api`` are the API channels'
transport (the request outbox, or the provider's API behind ``ApiChannel``); ``posts`` is the
life of a social post (post once, answer a change note, delete when withdrawn); ``words`` the
few words channels print around the article (the correction label, from the word catalogs).
This package imports no channel; channels import it and ``koho``, never each other.
"""

from importlib import resources

#: Jinja2 templates the pages of several channels share (the language switcher): each channel's
#: loader searches its own templates first, then these.
TEMPLATES = str(resources.files("channels.common") / "templates")
