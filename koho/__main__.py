"""``python -m koho``: the same as the ``koho`` command (``koho/launcher.py``)."""

from koho.launcher import main

main()
