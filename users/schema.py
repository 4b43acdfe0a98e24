"""OpenAPI description of the authentication: a Bearer JWT (the HttpOnly cookie transport in words)."""

from django.conf import settings
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class JWTHeaderOrCookieScheme(SimpleJWTScheme):
    """Only the bearer scheme goes into the schema: a value typed into Swagger's Authorize box can
    only be sent as a header. The cookie transport (HttpOnly cookies set by login, which a browser
    sends by itself) is described in words, since no form can fill it in."""

    target_class = "users.authentication.JWTHeaderOrCookieAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {
            **super().get_security_definition(auto_schema),
            "description": (
                "The `access` token from `POST /api/auth/login/` or `POST /api/token/`, sent as "
                "`Authorization: Bearer <token>`. Browsers may instead rely on the HttpOnly "
                f"`{settings.AUTH_COOKIE_ACCESS}` cookie that login sets (sent automatically; unsafe methods "
                "then also need the `X-CSRFToken` header); that cookie cannot be entered here."
            ),
        }
