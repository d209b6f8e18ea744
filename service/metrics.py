"""Prometheus metrics beyond Litestar's request metrics: the pool and load shedding."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

POOL_TIMEOUTS = Counter("spread_pool_acquire_timeouts_total", "Requests shed because no connection was free in time")
RATE_LIMITED = Counter("spread_rate_limited_total", "Requests refused by the per-key rate limit")

_pools: list[Any] = []


def track_pool(pool: Any) -> None:
    _pools.append(pool)


def untrack_pool(pool: Any) -> None:
    if pool in _pools:
        _pools.remove(pool)


class _PoolCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        size = GaugeMetricFamily("spread_pool_connections", "Open connections in the pool")
        idle = GaugeMetricFamily("spread_pool_idle_connections", "Idle connections in the pool")
        maximum = GaugeMetricFamily("spread_pool_max_connections", "Pool size limit")
        total = [0, 0, 0]
        for pool in list(_pools):
            try:
                total[0] += pool.get_size()
                total[1] += pool.get_idle_size()
                total[2] += pool.get_max_size()
            except Exception:  # noqa: BLE001 - a closing pool must not break /metrics
                continue
        size.add_metric([], total[0])
        idle.add_metric([], total[1])
        maximum.add_metric([], total[2])
        yield size
        yield idle
        yield maximum


REGISTRY.register(_PoolCollector())
