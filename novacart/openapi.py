"""How the OpenAPI schema documents errors, beyond drf-standardized-errors' defaults.

Schema fuzzing (tests/security/test_schema_fuzz.py) checks every answer against the schema; these
are the places where the library's defaults described less than the API really returns:

- GET endpoints that validate their query string with a serializer (declared with
  `@extend_schema(parameters=[SomeQuerySerializer])`) answer 400 validation errors; the library only
  documents those for request bodies and django-filter filtersets.
- 401 codes: SimpleJWT's own (`token_not_valid`, `user_not_found`, ...) and `no_active_account`
  (wrong e-mail or password) besides DRF's two.
- 404 codes: DRF's `not_found` (also what products, orders and payments send), and codes that say
  what was missing (`address_not_found`, `cart_item_not_found`, `cart_not_found`).
"""

from django.db import models
from drf_spectacular.plumbing import force_instance, is_serializer
from drf_spectacular.utils import OpenApiParameter
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from drf_standardized_errors.openapi_utils import get_flat_serializer_fields, get_serializer_fields_with_error_codes
from rest_framework import serializers

from .throttling import CacheFailurePolicy


class ErrorCode401(models.TextChoices):
    AUTHENTICATION_FAILED = "authentication_failed", "Authentication failed"
    NOT_AUTHENTICATED = "not_authenticated", "Not authenticated"
    NO_ACTIVE_ACCOUNT = "no_active_account", "Wrong e-mail or password, or an inactive account"
    TOKEN_NOT_VALID = "token_not_valid", "The token is invalid, expired or blacklisted"
    BAD_AUTHORIZATION_HEADER = "bad_authorization_header", "Malformed Authorization header"
    USER_NOT_FOUND = "user_not_found", "The token's user no longer exists"
    USER_INACTIVE = "user_inactive", "The token's user is inactive"
    PASSWORD_CHANGED = "password_changed", "The password changed after the token was issued"


class Error401Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode401.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse401Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error401Serializer(many=True)


class Error404Serializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="`not_found`, or a code naming what was not found (`address_not_found`, "
        "`cart_item_not_found`, `cart_not_found`). Another user's object is also a 404."
    )
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse404Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error404Serializer(many=True)


class ErrorItemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A stable code for the failure, e.g. `out_of_stock`, `invalid_transition`.")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponseSerializer(serializers.Serializer):
    """The one error shape, for the statuses the library does not document itself (409, 422, 502, 503):
    `client_error` for 4xx, `server_error` for 5xx."""

    type = serializers.CharField(help_text="`client_error` (4xx) or `server_error` (5xx)")
    errors = ErrorItemSerializer(many=True)


class AutoSchema(StandardizedErrorsAutoSchema):
    """Also documents the validation errors of query-string serializers on safe methods, and the
    503 `cache_unavailable` of endpoints whose rate limit fails closed (novacart/throttling.py)."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        if direction == "response" and "503" not in responses and self._has_fail_closed_throttle():
            responses["503"] = self._get_response_for_code(ErrorResponseSerializer, "503")
        return responses

    def _has_fail_closed_throttle(self) -> bool:
        throttles = self.view.get_throttles()
        return any(isinstance(throttle, CacheFailurePolicy) and not throttle.fail_open for throttle in throttles)

    def _query_serializers(self) -> list:
        if self.method in ("PUT", "PATCH", "POST"):
            return []
        return [force_instance(p) for p in self.get_override_parameters() if is_serializer(p)]

    def _should_add_validation_error_response(self) -> bool:
        return super()._should_add_validation_error_response() or bool(self._query_serializers())

    def _determine_fields_with_error_codes(self):
        fields = super()._determine_fields_with_error_codes()
        for serializer in self._query_serializers():
            fields.extend(get_serializer_fields_with_error_codes(get_flat_serializer_fields(serializer)))
        return fields


# The header of the commands that are safe to retry (orders.idempotency).
IDEMPOTENCY_KEY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Makes the request safe to retry: the same key and body within 24 hours returns the first "
    "response and creates nothing new. 1 to 255 visible ASCII characters, e.g. a UUID.",
)
