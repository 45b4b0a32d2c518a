"""The one logging set-up of the platform: JSON lines (the API, log files) or plain text (a
person at a terminal), on stderr and/or in a file.

    configure_logging()                                   # the API: JSON lines on stderr
    configure_logging(json=False, level="WARNING",        # the command line: short text on
                      file=home / "logs" / "innsight.log")  # the terminal, the full log in a file

Every line carries the ``correlation_id`` of the unit of work it belongs to (an API
request sets it; see ``serving.core.observability``) and the ``fields`` a call passes in
``extra={"fields": {...}}``.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path

import orjson

# The id of the request (or run) being served: on every log line written meanwhile.
correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# The loggers configured: the platform's own and uvicorn's (its access log is replaced by
# the API's, which has the route, the client and the correlation id).
LOGGERS = ("innsight", "uvicorn", "uvicorn.error")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, correlation id, fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": correlation_id.get(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """``12:00:03 WARNING innsight.lake: message key=value ...`` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return text


def configure_logging(json: bool = True, level: str | int = "INFO", file: Path | None = None,
                      console: bool = True, file_level: str | int = "INFO",
                      loggers: tuple[str, ...] = LOGGERS) -> None:
    """Send the platform's and uvicorn's logs to stderr (``console``, at ``level``) and/or to
    ``file`` (at ``file_level``; its folder is created), as JSON lines or plain text. Calling
    it again replaces the handlers: it can be called by each entry point."""
    formatter: logging.Formatter = JsonFormatter() if json else TextFormatter()
    handlers: list[logging.Handler] = []
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(level)
        stream.setFormatter(formatter)
        handlers.append(stream)
    if file is not None:
        Path(file).parent.mkdir(parents=True, exist_ok=True)
        written = logging.FileHandler(file, encoding="utf-8")
        written.setLevel(file_level)
        written.setFormatter(formatter)
        handlers.append(written)
    levels = [logging.getLevelName(lv) if isinstance(lv, str) else lv
              for lv in ([level] if console else []) + ([file_level] if file is not None else [])]
    for name in loggers:
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(min(levels) if levels else logging.WARNING)
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True
    # Neither formatter prints the caller, thread or process: not computed for every record
    # (the logging HOWTO's "Optimization"; the API writes a line per request).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
