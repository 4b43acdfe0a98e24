"""Rate limits, and what each does when its counter cannot be kept.

DRF's throttles keep their counters in the default cache (Redis with REDIS_URL). When Redis is full,
unreachable or slow, a throttle can neither read nor write its counter; `fail_open` says what
happens then, deliberately, per limit (the failure is logged either way):

- Capacity limits (every endpoint's anon/user rate, registration and token refresh) fail **open**:
  the request goes through uncounted. They protect capacity; refusing everything while the cache is
  down would turn a cache outage into the outage of the whole API, which is what they exist to
  prevent. Validation, stock, idempotency and authorisation do not depend on the cache.
- Limits against guessing (login, password reset, voucher codes) and reset-mail floods fail **closed**:
  503 `cache_unavailable`. Uncounted, a guesser would get unlimited attempts for as long as the
  cache is down; a customer unable to sign in for that time is the smaller harm, and signed-in
  sessions (JWT) keep working.

A throttle fails closed unless it says otherwise. The policy applies wherever a throttle touches
its counter (`self.cache`), also in subclasses that override `allow_request`.
"""

from django.conf import settings
from django.core.cache import cache as default_cache
from rest_framework import exceptions, status, throttling

from .cache import CACHE_ERRORS, log_cache_failure


class CacheUnavailable(exceptions.APIException):
    """503 `cache_unavailable`. A DRF exception like DRF's own Throttled, not a ServiceError:
    novacart.exceptions imports DRF's views, which import the throttle classes of this module."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Temporarily unavailable: the limit on these requests cannot be checked. Try again shortly."
    default_code = "cache_unavailable"


class _CounterStore:
    """The cache as a throttle sees it: an operation that fails answers as the throttle's policy
    says (a fail-open throttle reads nothing and writes nothing; a fail-closed one raises 503)."""

    def __init__(self, throttle):
        self._throttle = throttle

    def get(self, key, default=None):
        try:
            return default_cache.get(key, default)
        except CACHE_ERRORS as exc:
            self._throttle.counter_unavailable(exc)
            return default

    def set(self, key, value, timeout=None):
        try:
            default_cache.set(key, value, timeout)
        except CACHE_ERRORS as exc:
            self._throttle.counter_unavailable(exc)


class CacheFailurePolicy:
    """Mixin for DRF's SimpleRateThrottle and its subclasses (put it first)."""

    fail_open = False

    @property
    def cache(self):
        return _CounterStore(self)

    def counter_unavailable(self, exc: Exception) -> None:
        if not getattr(self, "_failure_logged", False):  # once per request, not per cache call
            self._failure_logged = True
            log_cache_failure(f"throttle {self.scope}, failing {'open' if self.fail_open else 'closed'}", exc)
        if not self.fail_open:
            raise CacheUnavailable()


class AnonRateThrottle(CacheFailurePolicy, throttling.AnonRateThrottle):
    fail_open = True


class UserRateThrottle(CacheFailurePolicy, throttling.UserRateThrottle):
    fail_open = True


class ScopedRateThrottle(CacheFailurePolicy, throttling.SimpleRateThrottle):
    """A limit of its own for one kind of request: `scope` names its rate in
    `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`, read on each request (DRF reads rates once at import,
    which operators and tests cannot change), counted per user when signed in, else per client
    address. Fails closed unless a subclass says otherwise."""

    def get_rate(self):
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def get_cache_key(self, request, view):
        user = getattr(request, "user", None)
        ident = f"user{user.pk}" if user is not None and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
