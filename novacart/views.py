"""Project-level views: health, and the answers for errors raised outside DRF: JSON in the contract's
error shape everywhere, except under the admin, whose 403 and 404 are HTML pages in the admin's look."""

import logging
from dataclasses import asdict

from django.contrib import admin
from django.db import Error as DatabaseDriverError
from django.db import connection
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .cache import cache_status
from .celery import broker_status
from .error_codes import CoreErrorCode
from .exceptions import ErrorItem, json_error

logger = logging.getLogger(__name__)


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    # Error, not DatabaseError: a closed connection raises InterfaceError, which is not one.
    except DatabaseDriverError:
        logger.exception("health check: database unreachable")
        return "unavailable"
    return "ok"


# What each dependency's 503 error says, and its code. A dependency is required when it is configured: the
# database always, the cache with REDIS_URL, the broker with CELERY_BROKER_URL.
_DOWN = {
    "database": (CoreErrorCode.DATABASE_UNAVAILABLE, "The database is unreachable."),
    "cache": (CoreErrorCode.CACHE_UNAVAILABLE, "The cache (Redis) does not accept reads or writes."),
    "broker": (CoreErrorCode.BROKER_UNAVAILABLE, "The task broker is unreachable."),
}


_CHECKS = {"database": _database_status, "cache": cache_status, "broker": broker_status}

_HEALTH_DOWN = inline_serializer(
    "HealthDown",
    {"type": serializers.CharField(), "errors": serializers.ListField(child=serializers.DictField())},
)


class HealthView(APIView):
    """Readiness: 200 with each dependency's state (`ok` or `not_configured`); 503 in the error
    shape, one `<dependency>_unavailable` error each, when a configured one does not answer. For
    monitoring and load balancers that should hear about the cache or the broker too."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    checks: tuple[str, ...] = ("database", "cache", "broker")

    @extend_schema(
        operation_id="health",
        summary="Health check",
        responses={
            200: inline_serializer(
                "Health",
                {
                    "status": serializers.CharField(),
                    "database": serializers.CharField(),
                    "cache": serializers.CharField(help_text="`ok`, or `not_configured` without REDIS_URL"),
                    "broker": serializers.CharField(help_text="`ok`, or `not_configured` without CELERY_BROKER_URL"),
                },
            ),
            503: _HEALTH_DOWN,
        },
    )
    def get(self, request):
        states = {name: _CHECKS[name]() for name in self.checks}
        down = [name for name, state in states.items() if state == "unavailable"]
        if down:
            # A response, not a raised ServiceError: a failing health check is logged above, not
            # reported as a server error every few seconds.
            errors = [asdict(ErrorItem(*_DOWN[name])) for name in down]
            return Response({"type": "server_error", "errors": errors}, status=503)
        return Response({"status": "ok", **states})


class LivenessView(HealthView):
    """Liveness: this instance can serve, which needs the database only. Render's health check
    (render.yaml) uses it: it restarts an instance failing it, and a cache or broker outage is not
    cured by restarting every instance (the API degrades instead: see novacart/throttling.py)."""

    checks = ("database",)

    @extend_schema(
        operation_id="health_live",
        summary="Liveness check (database only)",
        responses={
            200: inline_serializer(
                "Liveness", {"status": serializers.CharField(), "database": serializers.CharField()}
            ),
            503: _HEALTH_DOWN,
        },
    )
    def get(self, request):
        return super().get(request)


# A plain Django view is not CSRF-exempt like DRF's views: without this, a POST to a mistyped
# /api/ path from a client without a CSRF cookie got an HTML 403 instead of this JSON 404.
@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return json_error(404, CoreErrorCode.NOT_FOUND, "Not found.")


def _is_admin_page(request) -> bool:
    return request.path.startswith(reverse("admin:index"))


def _admin_error_page(request, status: int):
    """The admin's 403 or 404 (templates/admin/<status>.html) with its header, user links and sidebar."""
    return render(request, f"admin/{status}.html", admin.site.each_context(request), status=status)


def handler404(request, exception=None):
    if _is_admin_page(request):
        return _admin_error_page(request, 404)
    return json_error(404, CoreErrorCode.NOT_FOUND, "Not found.")


def handler500(request):
    return json_error(500, CoreErrorCode.SERVER_ERROR, "Server Error (500)", error_type="server_error")


def handler403(request, exception=None):
    if _is_admin_page(request):
        return _admin_error_page(request, 403)
    return json_error(403, CoreErrorCode.PERMISSION_DENIED, "You do not have permission to perform this action.")


def handler400(request, exception=None):
    return json_error(400, CoreErrorCode.BAD_REQUEST, "Bad request.")
