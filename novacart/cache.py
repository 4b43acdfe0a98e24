"""The shared cache (`REDIS_URL`): cached catalog responses and the throttles' counters.

Nothing lives only there, so a cache that fails (Redis full, unreachable or slow) must never fail
a request: each caller decides what a failure means. A catalog read becomes a miss
(products/cache.py); a throttle lets the request through or refuses it, as its limit requires
(novacart/throttling.py). `CACHE_ERRORS` is what a failing cache raises; `cache_status` is the
health check's probe.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What Django's Redis cache raises when Redis refuses a command: OutOfMemoryError (full, on
# noeviction), ConnectionError (unreachable), TimeoutError (slower than the socket timeouts).
CACHE_ERRORS = (RedisError,)

HEALTH_PROBE_KEY = "health:probe"


def log_cache_failure(action: str, exc: Exception) -> None:
    """One line per failure, without a traceback: while Redis is down every request logs one."""
    logger.warning("cache unavailable (%s): %s: %s", action, type(exc).__name__, exc)


def cache_status() -> str:
    """`ok`, `unavailable` (a write or a read failed: throttles need both), or `not_configured`
    without REDIS_URL (each process then caches in its own memory, which cannot fail this way)."""
    if not settings.REDIS_URL:
        return "not_configured"
    try:
        cache.set(HEALTH_PROBE_KEY, "1", timeout=60)
        cache.get(HEALTH_PROBE_KEY)
    except CACHE_ERRORS as exc:
        log_cache_failure("health check", exc)
        return "unavailable"
    return "ok"
