"""A cache backend that fails the way the Redis cache does when Redis is full or gone.

`FAIL` in OPTIONS (or the `fail` attribute, to switch during a test):
- "writes": a full Redis on `noeviction`: every write raises redis-py's OutOfMemoryError, reads
  and deletes still answer (Redis refuses only commands that may grow memory);
- "all": an unreachable Redis: every call raises redis-py's ConnectionError;
- None: a working cache (local memory).

`clear()` always works: the suite's autouse fixture clears the cache around every test.
"""

from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError

OOM_MESSAGE = "command not allowed when used memory > 'maxmemory'."
REFUSED_MESSAGE = "Error 111 connecting to 127.0.0.1:6379. Connection refused."


class FailingCache(LocMemCache):
    def __init__(self, name, params):
        super().__init__(name, params)
        self.fail = params.get("OPTIONS", {}).get("FAIL", "all")

    def _on_write(self):
        if self.fail == "writes":
            raise OutOfMemoryError(OOM_MESSAGE)
        self._on_any()

    def _on_any(self):
        if self.fail == "all":
            raise RedisConnectionError(REFUSED_MESSAGE)

    # Writes (Redis' "denyoom" commands).
    def add(self, *args, **kwargs):
        self._on_write()
        return super().add(*args, **kwargs)

    def set(self, *args, **kwargs):
        self._on_write()
        return super().set(*args, **kwargs)

    def incr(self, *args, **kwargs):
        self._on_write()
        return super().incr(*args, **kwargs)

    def set_many(self, *args, **kwargs):
        self._on_write()
        return super().set_many(*args, **kwargs)

    # Reads, deletes, expiry changes: refused only when Redis is unreachable.
    def get(self, *args, **kwargs):
        self._on_any()
        return super().get(*args, **kwargs)

    def get_many(self, *args, **kwargs):
        self._on_any()
        return super().get_many(*args, **kwargs)

    def has_key(self, *args, **kwargs):
        self._on_any()
        return super().has_key(*args, **kwargs)

    def touch(self, *args, **kwargs):
        self._on_any()
        return super().touch(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._on_any()
        return super().delete(*args, **kwargs)

    def delete_many(self, *args, **kwargs):
        self._on_any()
        return super().delete_many(*args, **kwargs)
