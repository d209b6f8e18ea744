"""Settings, read from the environment once and validated before anything starts.

Every setting is an environment variable (``SPREAD_*`` plus ``DATABASE_URL``). A bad value
raises :class:`ConfigError` naming the variable, so the process stops with a message a
person can act on instead of failing later in some unrelated place.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """A setting has a value the service cannot use."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Validated service settings. Build with :func:`load_settings` or directly in tests."""

    database_url: str | None = None
    read_database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".spread-data")
    pool_min_size: int = 2
    pool_max_size: int = 10
    pool_acquire_timeout: float = 5.0
    statement_timeout_ms: int = 15_000
    log_level: str = "INFO"
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 10 * 1024 * 1024
    rate_limit_per_minute: int = 1200
    rate_limit_writes_per_minute: int = 300
    rate_limit_failures_per_minute: int = 60
    key_cache: bool = True
    fast_path: bool = True  # service.fastpath: the two hottest reads outside Litestar's route machinery
    workers: int = 1
    # --- read replica (SPREAD_READ_DATABASE_URL; see service.replicas) ---
    replica_max_lag_seconds: float = 10.0
    consistency_wait_ms: int = 200
    replica_check_interval: float = 1.0
    embedded: bool = True
    # --- webhooks (SSRF guard, secret encryption) ---
    webhook_allow_private: bool = False
    # --- the explorer (/explorer/): reads without a key, for a demo only; never in production ---
    explorer_public_read: bool = False
    secret_key: bytes | None = msgspec.field(default=None)

    def __repr__(self) -> str:  # never print the secret key (settings end up in logs and tracebacks)
        fields = ", ".join(
            f"{f}={'<hidden>' if f == 'secret_key' and getattr(self, f) else repr(getattr(self, f))}"
            for f in self.__struct_fields__
        )
        return f"Settings({fields})"


def _int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _url(name: str, raw: str) -> str:
    if not raw.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"{name} must be a postgresql:// URL, got {raw.split('@')[-1]!r}")
    return raw


def _bool(name: str, raw: str) -> bool:
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _level(name: str, raw: str) -> str:
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def _origins(name: str, raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip() for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ConfigError(f"{name} entries must be '*' or start with http:// or https://, got {origin!r}")
    return origins


def _secret_key(name: str, raw: str) -> bytes:
    """32 bytes, URL-safe base64 (what ``spread secret-key`` prints)."""
    try:
        key = base64.urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4))
    except (ValueError, UnicodeEncodeError):
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{name} must be 32 random bytes in URL-safe base64 (run `spread secret-key`)")
    return key


# variable -> (settings field, parser)
_PARSERS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "DATABASE_URL": ("database_url", _url),
    "SPREAD_READ_DATABASE_URL": ("read_database_url", _url),
    "SPREAD_HOST": ("host", lambda n, r: r),
    "SPREAD_PORT": ("port", lambda n, r: _int(n, r, 1, 65535)),
    "SPREAD_DATA_DIR": ("data_dir", lambda n, r: Path(r).expanduser()),
    "SPREAD_POOL_MIN_SIZE": ("pool_min_size", lambda n, r: _int(n, r, 0, 1000)),
    "SPREAD_POOL_MAX_SIZE": ("pool_max_size", lambda n, r: _int(n, r, 1, 1000)),
    "SPREAD_POOL_ACQUIRE_TIMEOUT": ("pool_acquire_timeout", lambda n, r: _float(n, r, 0.01, 300)),
    "SPREAD_STATEMENT_TIMEOUT_MS": ("statement_timeout_ms", lambda n, r: _int(n, r, 1, 3_600_000)),
    "SPREAD_LOG_LEVEL": ("log_level", _level),
    "SPREAD_CORS_ORIGINS": ("cors_origins", _origins),
    "SPREAD_MAX_BODY_BYTES": ("max_body_bytes", lambda n, r: _int(n, r, 1024, 1024 * 1024 * 1024)),
    "SPREAD_RATE_LIMIT_PER_MINUTE": ("rate_limit_per_minute", lambda n, r: _int(n, r, 0, 10_000_000)),
    "SPREAD_RATE_LIMIT_WRITES_PER_MINUTE": ("rate_limit_writes_per_minute", lambda n, r: _int(n, r, 0, 10_000_000)),
    "SPREAD_RATE_LIMIT_FAILURES_PER_MINUTE": ("rate_limit_failures_per_minute", lambda n, r: _int(n, r, 0, 10_000_000)),
    "SPREAD_KEY_CACHE": ("key_cache", _bool),
    "SPREAD_FAST_PATH": ("fast_path", _bool),
    "SPREAD_WORKERS": ("workers", lambda n, r: _int(n, r, 1, 64)),
    "SPREAD_EMBEDDED": ("embedded", _bool),
    "SPREAD_REPLICA_MAX_LAG_SECONDS": ("replica_max_lag_seconds", lambda n, r: _float(n, r, 0.01, 86_400)),
    "SPREAD_CONSISTENCY_WAIT_MS": ("consistency_wait_ms", lambda n, r: _int(n, r, 0, 10_000)),
    "SPREAD_REPLICA_CHECK_INTERVAL": ("replica_check_interval", lambda n, r: _float(n, r, 0.05, 60)),
    # --- webhooks ---
    "SPREAD_WEBHOOK_ALLOW_PRIVATE": ("webhook_allow_private", _bool),
    "SPREAD_EXPLORER_PUBLIC_READ": ("explorer_public_read", _bool),
    "SPREAD_SECRET_KEY": ("secret_key", _secret_key),
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise :class:`ConfigError` naming the first bad one."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for variable, (field, parse) in _PARSERS.items():
        raw = env.get(variable)
        if raw is None or raw.strip() == "":
            continue
        values[field] = parse(variable, raw.strip())
    settings = Settings(**values)
    if settings.pool_min_size > settings.pool_max_size:
        raise ConfigError(
            f"SPREAD_POOL_MIN_SIZE ({settings.pool_min_size}) must not exceed "
            f"SPREAD_POOL_MAX_SIZE ({settings.pool_max_size})"
        )
    return settings
