"""OpenAPI description of the authentication: a Bearer JWT, or the HttpOnly `access` cookie."""

from django.conf import settings
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class JWTHeaderOrCookieScheme(SimpleJWTScheme):
    target_class = "users.authentication.JWTHeaderOrCookieAuthentication"
    name = ["jwtAuth", "cookieAuth"]

    def get_security_requirement(self, auto_schema):
        # Either one authenticates the request (OR, not AND).
        return [{"jwtAuth": []}, {"cookieAuth": []}]

    def get_security_definition(self, auto_schema):
        return [
            super().get_security_definition(auto_schema),
            {
                "type": "apiKey",
                "in": "cookie",
                "name": settings.AUTH_COOKIE_ACCESS,
                "description": "Set by POST /api/auth/login/. Unsafe methods also need the X-CSRFToken header.",
            },
        ]
