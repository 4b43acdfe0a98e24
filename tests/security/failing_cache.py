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


def _guarded(name: str, guard: str):
    def method(self, *args, **kwargs):
        getattr(self, guard)()
        return getattr(LocMemCache, name)(self, *args, **kwargs)

    method.__name__ = name
    return method


# Writes (Redis' "denyoom" commands) fail when Redis is full; reads, deletes and expiry changes only
# when it is unreachable.
for _name in ("add", "set", "incr", "set_many"):
    setattr(FailingCache, _name, _guarded(_name, "_on_write"))
for _name in ("get", "get_many", "has_key", "touch", "delete", "delete_many"):
    setattr(FailingCache, _name, _guarded(_name, "_on_any"))
