"""Response cache for anonymous catalog reads.

Every cached response's key carries the catalog *version*, a random token kept in the cache.
Any catalog write replaces the token (`bump_version`), which orphans every cached response at once;
the orphans expire on their own after `CATALOG_CACHE_SECONDS`. A token rather than a counter means
that a version lost to eviction never comes back as a value old entries were stored under.
"""

import hashlib
import uuid

from django.conf import settings
from django.core.cache import cache

VERSION_KEY = "catalog:version"


def current_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        # add() so two processes starting at once agree on one token.
        if not cache.add(VERSION_KEY, version, timeout=None):
            version = cache.get(VERSION_KEY) or version
    return version


def bump_version() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def cache_seconds() -> int:
    return int(getattr(settings, "CATALOG_CACHE_SECONDS", 0) or 0)


def response_key(full_url: str) -> str:
    digest = hashlib.sha256(full_url.encode()).hexdigest()
    return f"catalog:resp:{current_version()}:{digest}"


def get(key: str):
    return cache.get(key)


def put(key: str, content: bytes) -> None:
    seconds = cache_seconds()
    if seconds > 0:
        cache.set(key, content, timeout=seconds)
