"""The API docs pages, offline: Swagger UI and ReDoc come from drf-spectacular-sidecar's pinned files,
and nothing on either page is fetched from another origin.

ReDoc's sidebar badge ("API docs by Redocly") is an image the bundle always loads from
`https://cdn.redoc.ly/redoc/logo-mini.svg`; the bundle has no option to leave it out. The ReDoc page
therefore loads the sidecar bundle through `redoc_bundle`, which serves it with that one address
swapped for an inline (data:) copy of a blank image: the badge's link stays, nothing is requested.
"""

import hashlib
from functools import cache

from django.contrib.staticfiles import finders
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import reverse
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularRedocView

REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOC_REMOTE_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
BLANK_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E"


@cache
def _offline_redoc_bundle() -> tuple[bytes, str]:
    """The sidecar bundle with the remote logo replaced, and its ETag (read once per process)."""
    path = finders.find(REDOC_BUNDLE)
    if path is None:
        raise FileNotFoundError(REDOC_BUNDLE)
    with open(path, "rb") as bundle:
        body = bundle.read().replace(REDOC_REMOTE_LOGO.encode(), BLANK_SVG.encode())
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@require_GET
def redoc_bundle(request):
    body, etag = _offline_redoc_bundle()
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified(headers={"ETag": etag})
    return HttpResponse(
        body,
        content_type="text/javascript; charset=utf-8",
        headers={"ETag": etag, "Cache-Control": "public, max-age=86400"},
    )


class OfflineRedocView(SpectacularRedocView):
    """drf-spectacular's ReDoc page, loading the bundle from `redoc_bundle`."""

    template_name = "docs/redoc.html"

    @staticmethod
    def _redoc_standalone():
        return reverse("redoc-bundle")
