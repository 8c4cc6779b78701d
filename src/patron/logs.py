"""Structured logs: one JSON object per line on stderr, whoever logs it.

Every line has `timestamp` (ISO 8601, UTC), `level`, `logger` and `event`; an exception is
rendered into the line as the field `exception` (its traceback as text), never as lines of
its own. Two roads lead to the same line:

- Patron's own structlog loggers (`structlog.get_logger("patron.access")`) run the
  processors below and write the line directly: the access log is on every request's path,
  and the standard library's record machinery would cost it several times more.
- The standard library's loggers (uvicorn's, alembic's, asyncio's, `logging.getLogger(
  "patron.db")` ...) reach the one handler on the root logger, whose structlog
  `ProcessorFormatter` runs the same processors. `uvicorn_log_config()` is that setup as
  the dictConfig uvicorn applies in each of its processes (`patron run`).

Nothing logs a secret (keys, passwords, signing secrets) or a full identifier value: the
access log has the route's path template, never the raw path or its query string (api/edge.py),
and messages carry ids, never values.
Tracebacks hold no local variables.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

FIRST_KEYS = ("timestamp", "level", "logger", "event")


def _first_keys(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """timestamp, level, logger and event lead the line, the rest follows as given."""
    ordered = {k: event_dict.pop(k) for k in FIRST_KEYS if k in event_dict}
    ordered.update(event_dict)
    return ordered


def _dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str).decode()


# Run for every line, from either road; the stdlib road adds the record's own fields first.
_SHARED: list[Processor] = [
    structlog.processors.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
_RENDER: list[Processor] = [
    structlog.processors.format_exc_info,  # exc_info -> "exception": the traceback's text
    _first_keys,
    structlog.processors.JSONRenderer(serializer=_dumps),
]


# One lock for every line written, whichever road it took.
_WRITE_LOCK = threading.RLock()


class StderrHandler(logging.Handler):
    """Writes each record as one line to the `sys.stderr` of the moment (a test may replace it)."""

    def createLock(self) -> None:
        self.lock = _WRITE_LOCK

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = sys.stderr
            stream.write(line + "\n")
            stream.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def json_formatter() -> structlog.stdlib.ProcessorFormatter:
    """The formatter of the root handler: a standard library record as Patron's JSON line."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_RENDER],
    )


class _LineLogger:
    """What Patron's structlog loggers write with: the rendered line to stderr in one call."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name  # read by add_logger_name

    def msg(self, message: str) -> None:
        with _WRITE_LOCK:
            stream = sys.stderr
            stream.write(message + "\n")
            stream.flush()

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


def _line_logger(*args: Any) -> _LineLogger:
    return _LineLogger(str(args[0]) if args else "patron")


def _level(level: str) -> int:
    return logging.getLevelNamesMapping()[level.upper()]


def configure_logging(level: str = "INFO") -> None:
    """Make every log line of this process a JSON line on stderr, at `level` and above.

    Idempotent: a second call replaces the handler the first installed (the app's lifespan
    calls it again in each API process). Handlers others put on the root logger (pytest's
    capture) are left alone.
    """
    numeric = _level(level)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(old)
    handler = StderrHandler()
    handler.setFormatter(json_formatter())
    root.addHandler(handler)
    root.setLevel(numeric)
    logging.captureWarnings(True)  # warnings.warn(...) becomes a JSON line too
    structlog.configure(
        processors=[*_SHARED, *_RENDER],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_line_logger,
        cache_logger_on_first_use=True,
    )


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's `log_config`: its loggers propagate to the root handler of JSON lines. It is
    a plain dictionary, so uvicorn hands it to each worker process it spawns."""
    name = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "patron.logs.json_formatter"}},
        "handlers": {"stderr": {"class": "patron.logs.StderrHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": name},
        "loggers": {
            logger: {"handlers": [], "level": name, "propagate": True}
            for logger in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
