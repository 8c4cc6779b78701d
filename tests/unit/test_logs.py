"""patron.logs: standard library loggers and structlog loggers write the same JSON line, and
an exception is rendered inside it, never as lines of its own."""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from patron.logs import configure_logging, uvicorn_log_config


@pytest.fixture(autouse=True)
def _json_logging() -> Iterator[None]:
    configure_logging("INFO")
    yield
    configure_logging("INFO")  # as the app's lifespan leaves it


def lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines()]


def raise_and_log(log: Any) -> None:
    try:
        {}["missing"]
    except KeyError:
        log.exception("hook failed for org %s", 1000)


def test_a_stdlib_exception_is_rendered_inside_the_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    raise_and_log(logging.getLogger("patron.db"))
    err = capsys.readouterr().err
    [entry] = lines(err)  # one line: the traceback is inside it
    assert list(entry) == ["timestamp", "level", "logger", "event", "exception"]
    assert (entry["level"], entry["logger"], entry["event"]) == (
        "error",
        "patron.db",
        "hook failed for org 1000",
    )
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert "raise_and_log" in entry["exception"] and entry["exception"].endswith("KeyError: 'missing'")


def test_structlog_and_stdlib_lines_have_the_same_shape(capsys: pytest.CaptureFixture[str]) -> None:
    structlog.get_logger("patron.test").info("request", method="GET", status=200)
    logging.getLogger("asyncio").warning("slow callback %.1f s", 0.2)
    logging.getLogger("alembic.runtime.migration").debug("below the level: not written")
    first, second = lines(capsys.readouterr().err)
    assert list(first)[:4] == list(second)[:4] == ["timestamp", "level", "logger", "event"]
    assert (first["logger"], first["event"], first["method"], first["status"]) == (
        "patron.test",
        "request",
        "GET",
        200,
    )
    assert (second["logger"], second["level"], second["event"]) == (
        "asyncio",
        "warning",
        "slow callback 0.2 s",
    )
    assert first["timestamp"].endswith("Z") and second["timestamp"].endswith("Z")


def test_a_structlog_exception_is_rendered_inside_the_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        structlog.get_logger("patron.api").exception("unhandled error", path="/v2/customers")
    [entry] = lines(capsys.readouterr().err)
    assert entry["level"] == "error" and entry["path"] == "/v2/customers"
    assert "ZeroDivisionError: division by zero" in entry["exception"]


def test_uvicorns_log_config_routes_its_loggers_to_the_json_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logging.config.dictConfig(uvicorn_log_config("INFO"))
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        assert logger.handlers == [] and logger.propagate
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    started, failed = lines(capsys.readouterr().err)
    assert (started["logger"], started["event"]) == ("uvicorn.error", "Started server process [42]")
    assert failed["event"] == "Exception in ASGI application" and "RuntimeError: boom" in failed["exception"]


def test_configuring_twice_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    configure_logging("WARNING")
    logging.getLogger("patron.test").info("not written at WARNING")
    logging.getLogger("patron.test").warning("written once")
    [entry] = lines(capsys.readouterr().err)
    assert entry["event"] == "written once"
