from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRateThrottle(SimpleRateThrottle):
    """Reads its rate from settings on each request (DRF's default reads it once at import),
    and counts per client address whether or not the caller is logged in."""

    def get_rate(self):
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthRateThrottle(_SettingsRateThrottle):
    """Token, login and registration attempts."""

    scope = "auth"


class PasswordResetRateThrottle(_SettingsRateThrottle):
    scope = "password_reset"
