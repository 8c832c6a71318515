"""Access control: the optional API key and the per-client token-bucket rate limit."""

from __future__ import annotations

import math
import secrets
import threading
import time
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader
from starlette.requests import HTTPConnection

from backend.errors import ApiError
from backend.settings import Settings, get_settings

API_KEY_HEADER = "X-API-Key"
API_KEY_QUERY = "api_key"
# Declared as a security scheme so /docs offers "Authorize"; checked by hand so an unset API_KEY means open.
API_KEY_SCHEME = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)
# Forget idle clients once this many are tracked, so a scan of many addresses cannot grow memory forever.
MAX_TRACKED_CLIENTS = 10_000


def websocket_key(connection: HTTPConnection) -> str | None:
    """The key a WebSocket client presents: the header, or `?api_key=` since browsers cannot set headers."""
    return connection.headers.get(API_KEY_HEADER) or connection.query_params.get(API_KEY_QUERY)


def key_is_valid(settings: Settings, presented: str | None) -> bool:
    if settings.api_key is None:
        return True
    expected = settings.api_key.get_secret_value().encode()
    return presented is not None and secrets.compare_digest(presented.encode(), expected)


def require_api_key(settings: Annotated[Settings, Depends(get_settings)],
                    key: Annotated[str | None, Security(API_KEY_SCHEME)] = None) -> None:
    """Dependency for the protected HTTP routes: `X-API-Key` must match API_KEY when it is set."""
    if not key_is_valid(settings, key):
        raise ApiError(401, f"missing or wrong API key: send it in the {API_KEY_HEADER} header",
                       headers={"WWW-Authenticate": API_KEY_HEADER})


class RateLimiter:
    """Token bucket per client address: `per_minute` tokens a minute, bursts of up to `per_minute`."""

    def __init__(self, per_minute: int, clock=time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, time of last update)

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def acquire(self, client: str) -> float:
        """Take one token; returns 0 when allowed, else the seconds until a token is available."""
        if not self.enabled:
            return 0.0
        rate = self.per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - updated) * rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[client] = (tokens, now)
                wait = (1.0 - tokens) / rate
            if len(self._buckets) > MAX_TRACKED_CLIENTS:
                self._forget_full_buckets(now, rate)
        return wait

    def _forget_full_buckets(self, now: float, rate: float) -> None:
        for client, (tokens, updated) in list(self._buckets.items()):
            if tokens + (now - updated) * rate >= self.per_minute:
                del self._buckets[client]


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


def rate_limited(connection: HTTPConnection) -> None:
    """Dependency for the expensive routes: 429 with Retry-After when the client's bucket is empty."""
    wait = connection.app.state.rate_limiter.acquire(client_address(connection))
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(429, f"rate limit exceeded; retry in {seconds} s", headers={"Retry-After": str(seconds)})
