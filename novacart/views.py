"""Project-level views: health, and JSON answers for errors raised outside DRF."""

import logging

from django.db import Error as DatabaseDriverError
from django.db import connection
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .error_codes import CoreErrorCode
from .exceptions import error_body, json_error

logger = logging.getLogger(__name__)


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="health",
        responses={
            200: inline_serializer("Health", {"status": serializers.CharField(), "database": serializers.CharField()}),
            503: inline_serializer(
                "HealthDown",
                {
                    "type": serializers.CharField(),
                    "errors": serializers.ListField(child=serializers.DictField()),
                },
            ),
        },
    )
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        # Error, not DatabaseError: a closed connection raises InterfaceError, which is not one.
        except DatabaseDriverError:
            logger.exception("health check: database unreachable")
            return Response(
                error_body(
                    CoreErrorCode.DATABASE_UNAVAILABLE, "The database is unreachable.", error_type="server_error"
                ),
                status=503,
            )
        return Response({"status": "ok", "database": "ok"})


# A plain Django view is not CSRF-exempt like DRF's views: without this, a POST to a mistyped
# /api/ path from a client without a CSRF cookie got an HTML 403 instead of this JSON 404.
@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return json_error(404, CoreErrorCode.NOT_FOUND, "Not found.")


def handler404(request, exception=None):
    return json_error(404, CoreErrorCode.NOT_FOUND, "Not found.")


def handler500(request):
    return json_error(500, CoreErrorCode.SERVER_ERROR, "Server Error (500)", error_type="server_error")


def handler403(request, exception=None):
    return json_error(403, CoreErrorCode.PERMISSION_DENIED, "You do not have permission to perform this action.")


def handler400(request, exception=None):
    return json_error(400, CoreErrorCode.BAD_REQUEST, "Bad request.")
