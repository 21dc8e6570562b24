"""The hub's log lines: ``key=value`` on stderr, tokens scrubbed, hostile peers in one line.

Never a token, never patient free text: uvicorn logs WebSocket paths with their query string,
so every line passes :class:`RedactTokens` before it is written.
"""

from __future__ import annotations

import logging
import re
import sys

_TOKEN_IN_TEXT = re.compile(r"(token=)[^&\s\"']+|(Bearer\s+)[A-Za-z0-9._~+/=-]+")


class RedactTokens(logging.Filter):
    """Scrubs tokens from log lines (uvicorn logs WebSocket paths with their query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str) and ("token=" in record.msg or "Bearer" in record.msg):
            record.msg = _TOKEN_IN_TEXT.sub(
                lambda m: (m.group(1) or m.group(2)) + "[redacted]", record.msg
            )
        return True


class OneLinePeerErrors(logging.Filter):
    """Turns uvicorn's traceback for a text frame that is not UTF-8 into one line.

    The peer sent bad data (uvicorn closes with 1007, as documented); a traceback per frame
    would let any client fill the log with six lines at a time.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if record.name.startswith("uvicorn") and isinstance(error, UnicodeDecodeError):
            record.msg = "event=ws_invalid_utf8 close=1007 detail=text frame is not valid UTF-8"
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    )
    handler.addFilter(OneLinePeerErrors())
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
