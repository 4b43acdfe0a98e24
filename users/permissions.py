"""Who may call the endpoints that sign a browser in."""

from urllib.parse import urlsplit

from django.conf import settings
from django.utils.http import is_same_domain
from rest_framework.permissions import BasePermission

from .error_codes import UserErrorCode


def _origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL, or None when it has none (`null`, garbage)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def is_trusted_origin(request, origin: str) -> bool:
    """The API's own origin, CORS_ALLOWED_ORIGINS, or CSRF_TRUSTED_ORIGINS (where, as in Django's
    CSRF check, `https://*.example.com` stands for any sub-domain of example.com)."""
    own = f"{'https' if request.is_secure() else 'http'}://{request.get_host()}".lower()
    exact = {own, *(o.lower().rstrip("/") for o in (*settings.CORS_ALLOWED_ORIGINS, *settings.CSRF_TRUSTED_ORIGINS))}
    if origin in exact:
        return True
    scheme, _, netloc = origin.partition("://")
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        parts = urlsplit(trusted.lower())
        if "*" in parts.netloc and parts.scheme == scheme and is_same_domain(netloc, parts.netloc.lstrip("*")):
            return True
    return False


class NotCrossSite(BasePermission):
    """Login CSRF: another site can make a browser POST a form here without any preflight, and
    the answer would sign the browser in (cookies) as whoever the attacker chose. A request that
    says where it comes from (Origin, else Referer) must come from a trusted origin; one that says
    nothing (a mobile app, a server) is let through: browsers send Origin on every POST. The views
    also parse JSON only, which a cross-site form cannot send."""

    message = "Cross-site request refused: its Origin (or Referer) is not a trusted origin of this shop."
    code = UserErrorCode.CROSS_SITE_REQUEST

    def has_permission(self, request, view):
        claimed = request.headers.get("Origin") or request.headers.get("Referer")
        if claimed is None:
            return True
        origin = _origin_of(claimed)
        return origin is not None and is_trusted_origin(request, origin)
