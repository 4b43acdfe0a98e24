"""Response cache for anonymous catalog reads.

Keys. A response is stored under what decides its body, never under the URL as sent: the view
action, the object it shows (a product id, a category slug), the request's origin (the scheme and
host that the body's absolute URLs carry) and the *canonical query*: the parameters the action
knows, each in one spelling, sorted (see `ProductViewSet.canonical_query`). Unknown parameters are
not part of it, so `?x=<anything>` is served the entry of the page without it, and the number of
entries a client can create is bounded by the distinct answers. The body holds nothing the key
does not: pagination links are built from the canonical query, so one client's spelling is never
served to another. A host that is not literally in ALLOWED_HOSTS (matched by a wildcard entry,
spelled in another case, or with a port the server does not listen on) is answered but not cached:
there is no bound on how many of those a client can send.

Versions. Every key carries the catalog *version*, a random token kept in the cache. Any catalog
write replaces the token (`bump_version`), which orphans every cached response at once; the orphans
expire on their own after `CATALOG_CACHE_SECONDS`. A token rather than a counter means that a
version lost to eviction never comes back as a value old entries were stored under.

Failures. The cache only holds copies: when it cannot be read or written, the request is answered
from the database as on a miss, and the failure is logged (novacart.cache). No function here raises
a cache error.
"""

import hashlib
import json
import uuid

from django.conf import settings
from django.core.cache import cache
from django.http.request import split_domain_port

from novacart.cache import CACHE_ERRORS, log_cache_failure

VERSION_KEY = "catalog:version"


def current_version() -> str | None:
    """The catalog version, or None when the cache cannot be used (nothing is cached then)."""
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            version = uuid.uuid4().hex
            # add() so two processes starting at once agree on one token.
            if not cache.add(VERSION_KEY, version, timeout=None):
                version = cache.get(VERSION_KEY) or version
    except CACHE_ERRORS as exc:
        log_cache_failure("catalog version read", exc)
        return None
    return version


def bump_version() -> None:
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        return
    except CACHE_ERRORS as exc:
        log_cache_failure("catalog version bump", exc)
    # A full Redis refuses writes but still deletes: without a version nothing cached is served
    # again (and nothing is cached until a version can be written).
    try:
        cache.delete(VERSION_KEY)
    except CACHE_ERRORS as exc:
        log_cache_failure("catalog version delete: cached responses may be stale until they expire", exc)


def cache_seconds() -> int:
    return int(getattr(settings, "CATALOG_CACHE_SECONDS", 0) or 0)


def cacheable_origin(request) -> str | None:
    """`scheme://host` when the host is spelled exactly as an ALLOWED_HOSTS entry (lower case, no
    wildcard) with no port or the port the server listens on; None otherwise."""
    host = request.get_host()  # already validated against ALLOWED_HOSTS
    domain, port = split_domain_port(host)
    literal_hosts = {entry.lower() for entry in settings.ALLOWED_HOSTS if entry != "*" and not entry.startswith(".")}
    if domain not in literal_hosts or host != (f"{domain}:{port}" if port else domain):
        return None
    if port and port != str(request.META.get("SERVER_PORT", "")):
        return None
    return f"{request.scheme}://{host}"


def response_key(*, action: str, origin: str, lookup: str, query: list[tuple[str, str]]) -> str | None:
    """The key of one answer; None when the cache cannot be used."""
    version = current_version()
    if version is None:
        return None
    identity = json.dumps([action, origin, lookup, query], separators=(",", ":"))
    return f"catalog:resp:{version}:{hashlib.sha256(identity.encode()).hexdigest()}"


def get(key: str) -> bytes | None:
    """The cached body, or None on a miss or when the cache cannot be read."""
    try:
        return cache.get(key)
    except CACHE_ERRORS as exc:
        log_cache_failure("catalog read", exc)
        return None


def put(key: str, content: bytes) -> None:
    seconds = cache_seconds()
    if seconds <= 0:
        return
    try:
        cache.set(key, content, timeout=seconds)
    except CACHE_ERRORS as exc:
        log_cache_failure("catalog write", exc)
