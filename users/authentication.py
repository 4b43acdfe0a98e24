"""JWT from the Authorization header, or from the HttpOnly `access` cookie for browser SPAs.

When the cookie is what authenticated the request, Django's CSRF check applies to
unsafe methods (the cookie is sent by the browser on its own; the header is not).
"""

from django.conf import settings
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


class JWTHeaderOrCookieAuthentication(JWTAuthentication):
    def authenticate(self, request):
        header = self.get_header(request)
        if header is not None:
            return super().authenticate(request)

        raw_token = request.COOKIES.get(settings.AUTH_COOKIE_ACCESS)
        if not raw_token:
            return None
        validated_token = self.get_validated_token(raw_token.encode())
        user = self.get_user(validated_token)
        self.enforce_csrf(request)
        return user, validated_token

    @staticmethod
    def enforce_csrf(request):
        def dummy_get_response(request):  # pragma: no cover - never called
            return None

        check = _CSRFCheck(dummy_get_response)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF failed: {reason}")
