"""Prometheus metrics: requests (counted by ``service.middleware.RequestPath``), the pool, shedding.

Request metrics replace Litestar's Prometheus middleware, which cost a layer and a
``labels()`` lookup per metric per request: children are cached by label tuple here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

POOL_TIMEOUTS = Counter("spread_pool_acquire_timeouts_total", "Requests shed because no connection was free in time")
RATE_LIMITED = Counter("spread_rate_limited_total", "Requests refused by the per-key rate limit")

REQUESTS = Counter("spread_requests", "HTTP requests answered", ["method", "path", "status_code"])
DURATION = Histogram(
    "spread_request_duration_seconds",
    "Time from the request's arrival to the end of its response",
    ["method", "path"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, path_template: str | None, status: int, seconds: float) -> None:
    """Count one request; ``path_template`` is the route (``/v1/innovations/{id:uuid}``), never the raw path."""
    key = (method, path_template or "unmatched", status)
    children = _children.get(key)
    if children is None:
        if len(_children) > 5_000:  # methods x routes x statuses is small; guard anyway
            _children.clear()
        children = (REQUESTS.labels(key[0], key[1], str(status)), DURATION.labels(key[0], key[1]))
        _children[key] = children
    children[0].inc()
    children[1].observe(seconds)


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
