"""koho core: the article model and reader, rendering, the delivery ledger, settings and the CLI.

This package imports nothing from ``channels``, ``translations`` or ``flows``: they build on it.
"""

__version__ = "0.1.0"
