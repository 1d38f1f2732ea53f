"""Running the subscription service under uvicorn (``koho serve``, and the tests, alike).

uvicorn's access log prints request paths, and every path of this service but the form's holds
a token: it is switched off, and ``middleware.Guard`` logs the route template instead, through
the ``koho`` logger that is given uvicorn's own handler here.
"""

from __future__ import annotations

import copy
import logging

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG


def _drop_all(record: logging.LogRecord) -> bool:
    return False


def server_config(app: FastAPI, host: str = "127.0.0.1", port: int = 8000) -> uvicorn.Config:
    """uvicorn settings for the service: no access log, no Server header, koho's log lines shown."""
    # uvicorn turns its access log back on whenever "uvicorn.access" has handlers, its parents'
    # included, and any later logging.config.dictConfig that names "uvicorn" (Prefect's does)
    # resets that child to propagate. A filter survives such resets: no access line, so no token
    # in a path, is ever written.
    access = logging.getLogger("uvicorn.access")
    if _drop_all not in access.filters:
        access.addFilter(_drop_all)
    logging_config = copy.deepcopy(LOGGING_CONFIG)
    logging_config["loggers"]["koho"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from any loopback peer as
    # the client's address. Only KOHO_MAIL_TRUSTED_PROXY_HEADER, set on purpose, names a header.
    return uvicorn.Config(
        app, host=host, port=port, access_log=False, log_config=logging_config, server_header=False, proxy_headers=False
    )


def run(app: FastAPI, host: str, port: int) -> None:
    """Serve ``app`` until interrupted (Ctrl+C or SIGTERM end it gracefully)."""
    uvicorn.Server(server_config(app, host, port)).run()
