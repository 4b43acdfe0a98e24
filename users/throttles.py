from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from novacart.throttling import CacheFailurePolicy


class _SettingsRateThrottle(CacheFailurePolicy, SimpleRateThrottle):
    """Reads its rate from settings on each request (DRF's default reads it once at import),
    and counts per client address whether or not the caller is logged in. Fails closed when its
    counter cannot be kept (novacart/throttling.py) unless a subclass says otherwise."""

    def get_rate(self):
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthRateThrottle(_SettingsRateThrottle):
    """Registration and token refresh: every request counts. A capacity limit: fails open."""

    scope = "auth"
    fail_open = True


class LoginFailureThrottle(_SettingsRateThrottle):
    """Token and login: only failed attempts count. A burst of wrong passwords from one address
    gets 429 (also for the right password, until the window passes), while a shop front that logs
    many customers in from one address is not slowed down. Views call `record_failure`."""

    scope = "login"

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return True

    @classmethod
    def record_failure(cls, request, view) -> None:
        throttle = cls()
        if throttle.rate is None:
            return
        key = throttle.get_cache_key(request, view)
        now = throttle.timer()
        history = [t for t in throttle.cache.get(key, []) if t > now - throttle.duration]
        history.insert(0, now)
        throttle.cache.set(key, history, throttle.duration)


class PasswordResetRateThrottle(_SettingsRateThrottle):
    scope = "password_reset"
