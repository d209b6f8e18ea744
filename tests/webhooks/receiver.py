"""A real HTTP receiver on 127.0.0.1 for webhook tests: plain asyncio, HTTP/1.1 with keep-alive.

It answers each request with the next scripted status (then ``default``), and records every
request (headers lower-cased, raw body) for the test to inspect. ``hold_first`` keeps the
first request waiting until that event is set; ``respond`` replaces the answer (slow or huge
receivers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    delay: float = 0.0
    gate: asyncio.Event | None = None  # when set, requests are held (received, unanswered) until it opens
    port: int = 0
    hold_first: asyncio.Event | None = None
    tls: ssl.SSLContext | None = None
    respond: Callable[[asyncio.StreamWriter, Received], Awaitable[None]] | None = None
    requests: list[Received] = field(default_factory=list)
    finished: int = 0  # answers written in full
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/hooks/spread"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def __aenter__(self) -> Receiver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def delivered(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line.strip():
                    break
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = h.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = self.statuses.pop(0) if self.statuses else self.default
                received = Received(method, path, headers, body, status)
                self.requests.append(received)
                if self.hold_first is not None and len(self.requests) == 1:
                    await self.hold_first.wait()
                if self.gate is not None:
                    await self.gate.wait()
                if self.delay:
                    await asyncio.sleep(self.delay)
                if self.respond is not None:
                    await self.respond(writer, received)
                    self.finished += 1
                    continue
                reply = b"ok" if status < 300 else b"receiver unavailable"
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {len(reply)}\r\n\r\n".encode()
                    + reply
                )
                await writer.drain()
                self.finished += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
