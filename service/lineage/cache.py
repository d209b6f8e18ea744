"""Answers to ``GET /v1/innovations/{id}/lineage``, kept per process and checked on every read.

A large spread is expensive to build (10,000 adoptions: the rows, generations, descendant
sets, stats and a 6 MB body; bench/README.md) and changes rarely. Each read first asks
PostgreSQL for the spread's version (:data:`service.lineage.queries.SPREAD_VERSION`: the
count of the rows the answer is built from and the sum of the transactions that last wrote
them, bounded like the walk itself); an answer built for the same innovation, filters, format
and version is sent as it was built (spreads of at least ``FROM_ADOPTIONS`` adoptions), else it is built, sent and kept. Nothing is ever served
for a version other than the one just read, so a change is seen by the next read, on every
replica and process alike, without invalidation messages.

The version is read before the rows, each in its own snapshot: an answer kept under a
version is built from data at least as new as that version, never older.

Compressed forms are kept beside the body, made once per version: gzip at level 6 up to
1 MB, level 1 above (on the 6 MB spread, level 6 took ~87 ms of CPU and level 1 ~32 ms, for
1.15 and 1.34 MB on the wire).
"""

from __future__ import annotations

import gzip
from collections import OrderedDict
from collections.abc import Hashable

import msgspec

MAX_BYTES = 32 * 1024 * 1024  # bodies, per process (their gzipped forms add about a fifth)
# Spreads smaller than this are built on every read: cheap to build, and the version query
# would cost them a round trip for nothing.
FROM_ADOPTIONS = 500
MIN_COMPRESS = 1024  # as the app's compression layer: smaller bodies go as they are
LARGE = 1024 * 1024  # above this, gzip at level 1


class Answer(msgspec.Struct):
    """A built answer: the body, its media type and the compressed forms made so far."""

    body: bytes
    media_type: str
    gzipped: bytes | None = None

    @property
    def size(self) -> int:
        return len(self.body)

    def gzip(self) -> bytes:
        if self.gzipped is None:
            self.gzipped = gzip.compress(self.body, compresslevel=1 if len(self.body) > LARGE else 6, mtime=0)
        return self.gzipped


class AnswerCache:
    """Least recently used answers, within ``max_bytes``."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, Answer] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Answer | None:
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found

    def put(self, key: Hashable, answer: Answer) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        if len(answer.body) * 2 > self.max_bytes:
            return
        self._entries[key] = answer
        self._bytes += answer.size
        self.trim()

    def trim(self) -> None:
        while self._bytes > self.max_bytes and self._entries:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.size
