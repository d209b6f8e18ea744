"""A per-process cache of key lookups, invalidated by PostgreSQL ``NOTIFY`` from the primary.

Every ``/v1`` request checks its key; without a cache that is a database round trip per
request. Here a live key found once is remembered by the SHA-256 of its secret until the
primary says it changed: migration ``0009`` makes every update or delete of a key
(revocation included) ``NOTIFY spread_keys, '<key id>'``, and a rename or delete of a
partner ``NOTIFY spread_keys, '*'``. :class:`KeyListener` holds one dedicated connection to
the primary, ``LISTEN``\\s there and drops entries as notifications arrive.

The cache is trusted only while the listener is connected: until it has started
listening, and from the moment its connection is lost (terminated, or a ping fails) until it
listens again, nothing is cached and every request is looked up on the primary. Entries are
dropped on (re)connection, since notifications sent meanwhile were missed. Expiry is checked
against the clock on every request, so an expiring key needs no notification.

A lookup races a revocation when it reads the key just before the revoking transaction
commits; the generation counter makes :meth:`KeyCache.put` refuse any answer read before
the last invalidation, so such an answer is used for that one request and never cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import TYPE_CHECKING

import asyncpg

from service.auth.schemas import Principal

if TYPE_CHECKING:
    from service.config import Settings

log = logging.getLogger("spread.keys")

CHANNEL = "spread_keys"
MAX_ENTRIES = 10_000  # live keys only (unknown, revoked or expired keys are never cached)


class KeyCache:
    """Principals by secret hash, valid only while :attr:`enabled` (the listener is up)."""

    def __init__(self) -> None:
        self._entries: dict[bytes, Principal] = {}
        self.enabled = False
        self.generation = 0

    def get(self, secret_hash: bytes) -> Principal | None:
        if not self.enabled:
            return None
        return self._entries.get(secret_hash)

    def put(self, secret_hash: bytes, principal: Principal, generation: int) -> None:
        """Remember a live key read when :attr:`generation` was ``generation``."""
        if not self.enabled or generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[secret_hash] = principal

    def invalidate(self, key_id: str) -> None:
        """Forget one key (by id), or every key for ``'*'`` or an id that does not parse."""
        self.generation += 1
        try:
            wanted = uuid.UUID(key_id)
        except ValueError:
            self._entries.clear()
            return
        for secret_hash, principal in list(self._entries.items()):
            if principal.key_id == wanted:
                del self._entries[secret_hash]

    def enable(self) -> None:
        self.generation += 1
        self._entries.clear()
        self.enabled = True

    def disable(self) -> None:
        self.enabled = False
        self.generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class KeyListener:
    """Keeps a ``LISTEN spread_keys`` connection to the primary; the cache works only while it holds."""

    def __init__(self, cache: KeyCache, dsn: str, *, ping_interval: float = 5.0, retry_delay: float = 1.0) -> None:
        self.cache = cache
        self.dsn = dsn
        self.ping_interval = ping_interval
        self.retry_delay = retry_delay
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.connection: asyncpg.Connection | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="spread-key-listener")

    async def stop(self) -> None:
        self.cache.disable()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        self.cache.invalidate(str(payload))

    def _terminated(self, _conn: object) -> None:
        self.cache.disable()
        self._lost.set()

    async def _run(self) -> None:
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=10, server_settings={"application_name": "spread-keys"})
                self._lost.clear()
                conn.add_termination_listener(self._terminated)
                await conn.add_listener(CHANNEL, self._notified)
                self.connection = conn
                self.cache.enable()
                while not self._lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._lost.wait(), timeout=self.ping_interval)
                    if not self._lost.is_set():
                        await conn.fetchval("SELECT 1", timeout=self.ping_interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure means: stop trusting the cache, retry
                log.warning("key listener lost its connection: %r; keys are looked up on every request", exc)
            finally:
                self.cache.disable()
                self.connection = None
                if conn is not None:
                    conn.terminate()
            await asyncio.sleep(self.retry_delay)


def listener_for(settings: Settings, cache: KeyCache) -> KeyListener | None:
    if not settings.key_cache or settings.database_url is None:
        return None
    return KeyListener(cache, settings.database_url)
