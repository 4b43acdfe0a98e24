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
- Answers that come from outside the views: 413 `payload_too_large` and 411 `length_required`
  (novacart/body_limit.py, novacart/parsers.py) on every write, and the 403 of a cookie-authenticated
  write without its CSRF token (users.authentication).

And where generated examples and clients went wrong (openapi-python-client, Swagger UI, ReDoc):

- Money is a decimal string that is never negative: `"19.99"`, with the pattern of what is really
  sent (the default pattern's optional minus made samplers show `"-"` and `"-4"`).
- Bounded integers get an example inside their bounds (an id's 64-bit maximum is no example).
- A response field is always present, so it is `required` (a client reads it without a check), but
  for the few a serializer lists in `absent_from_some_answers`.
- A nullable reference is written `oneOf: [ref, null]`, which OpenAPI 3.0 validators and
  openapi-python-client both read as nullable (`allOf` + `nullable` is not nullable to a 3.0 validator).
- An operation that needs no token says so (`security: []`).
"""

import re
from decimal import Decimal

from django.conf import settings
from django.db import models
from drf_spectacular.plumbing import force_instance, is_serializer
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ErrorResponse403Serializer
from drf_standardized_errors.openapi_utils import get_flat_serializer_fields, get_serializer_fields_with_error_codes
from rest_framework import serializers, status

from .error_codes import CoreErrorCode
from .exceptions import PayloadTooLarge, error_body
from .permissions import ROLES
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


def _example(name: str, status_code: int, code: str, detail: str) -> OpenApiExample:
    error_type = "client_error" if status_code < 500 else "server_error"
    return OpenApiExample(
        name,
        value=error_body(code, detail, error_type=error_type),
        response_only=True,
        status_codes=[str(status_code)],
    )


CSRF_FAILED_EXAMPLE = _example(
    "CsrfFailed",
    403,
    CoreErrorCode.PERMISSION_DENIED,
    "CSRF failed: CSRF token missing.",
)
CSRF_DESCRIPTION = (
    "`permission_denied` with a detail starting `CSRF failed`: the request was authenticated by the "
    "`access` cookie and sent no valid `X-CSRFToken` header (Bearer requests are never CSRF-checked)."
)
BODY_LIMIT_RESPONSES = {
    status.HTTP_411_LENGTH_REQUIRED: (
        "`length_required`: a body sent without a Content-Length (chunked) is refused before it is read.",
        _example(
            "LengthRequired",
            411,
            "length_required",
            "A request body needs a Content-Length header; chunked bodies are not accepted.",
        ),
    ),
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: (
        "`payload_too_large`: the body is over DATA_UPLOAD_MAX_MEMORY_SIZE (multipart uploads: "
        "UPLOAD_MAX_BODY_BYTES); the detail names the limit.",
        _example(
            "PayloadTooLarge",
            413,
            CoreErrorCode.PAYLOAD_TOO_LARGE,
            f"{PayloadTooLarge.default_detail} The limit is {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
        ),
    ),
}
# What an error answer of a status says when its declaration gives no example: the code a client sees
# most, with a detail like the real one (the first code named in the description wins).
DEFAULT_ERROR_EXAMPLES = {
    400: (CoreErrorCode.INVALID, "Invalid input."),
    404: (CoreErrorCode.NOT_FOUND, "Not found."),
    409: (CoreErrorCode.CONFLICT, "The request conflicts with the current state of the resource."),
    422: ("idempotency_key_reused", "This Idempotency-Key was already used with a different request body."),
    500: (CoreErrorCode.SERVER_ERROR, "A server error occurred."),
    502: (CoreErrorCode.PAYMENT_PROVIDER_ERROR, "The payment provider did not answer; nothing was recorded."),
    503: (CoreErrorCode.SERVICE_UNAVAILABLE, "The service is temporarily unavailable; retry later."),
}
_NAMED_CODE = re.compile(r"^`([a-z][a-z0-9_]*)`[^:;]*:\s*([^;]+)")

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
BODY_METHODS = ("POST", "PUT", "PATCH")

# A non-nullable value that is null: the other half of a nullable reference (see the module docstring).
NULL_SCHEMA = {"type": "object", "nullable": True, "enum": [None]}

# A realistic amount for examples; a rating (one whole digit) gets a rating.
EXAMPLE_AMOUNT = Decimal("19.99")
EXAMPLE_RATING = Decimal("4.5")


def _decimal_example(field: serializers.DecimalField) -> str:
    value = EXAMPLE_AMOUNT if field.max_whole_digits is None or field.max_whole_digits >= 2 else EXAMPLE_RATING
    if field.max_value is not None and value > field.max_value:
        value = Decimal(field.max_value)
    if field.min_value is not None and value < field.min_value:
        value = Decimal(field.min_value)
    return format(value, f".{field.decimal_places}f")


def _integer_example(field: serializers.IntegerField, schema: dict) -> int | None:
    """The field's default, else 1 moved inside the bounds; None for an unbounded integer."""
    if isinstance(field.default, int) and not isinstance(field.default, bool):
        return field.default
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is None and high is None:
        return None
    value = 1
    if low is not None:
        value = max(value, int(low))
    if high is not None:
        value = min(value, int(high))
    return value


class AutoSchema(StandardizedErrorsAutoSchema):
    """Also documents the validation errors of query-string serializers on safe methods, the 503
    `cache_unavailable` of endpoints whose rate limit fails closed (novacart/throttling.py), the
    413/411 of every write, and the CSRF 403 of writes a cookie can authenticate. Money, bounded
    integers, required response fields and pagination as the module docstring says."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        if direction != "response":
            return responses
        if "503" not in responses and self._has_fail_closed_throttle():
            responses["503"] = self._get_response_for_code(ErrorResponseSerializer, "503")
        if self.method in BODY_METHODS:
            for code, (description, example) in BODY_LIMIT_RESPONSES.items():
                responses.setdefault(
                    str(code),
                    self._get_response_for_code(
                        OpenApiResponse(ErrorResponseSerializer, description=description, examples=[example]),
                        str(code),
                    ),
                )
        if self.method in UNSAFE_METHODS and self._cookie_can_authenticate():
            responses["403"] = self._with_csrf_failure(responses.get("403"))
        for code, response in responses.items():
            self._add_default_error_example(int(code), response)
        return responses

    def _cookie_can_authenticate(self) -> bool:
        # An authenticator that enforces CSRF reads a cookie (users.authentication, DRF's session one).
        return any(hasattr(authenticator, "enforce_csrf") for authenticator in self.view.get_authenticators())

    def _with_csrf_failure(self, response: dict | None) -> dict:
        """The operation's 403 (a permission's, if it has one) with the CSRF failure added to it."""
        if response is None:
            return self._get_response_for_code(
                OpenApiResponse(ErrorResponseSerializer, description=CSRF_DESCRIPTION, examples=[CSRF_FAILED_EXAMPLE]),
                "403",
            )
        own = response.get("description") or "`permission_denied`: the user may not do this (a permission is missing)."
        response = {**response, "description": f"{own} Also {CSRF_DESCRIPTION}"}
        content = response.get("content", {}).get("application/json")
        if content is not None:
            examples = dict(content.get("examples", {}))
            examples[CSRF_FAILED_EXAMPLE.name] = {"value": CSRF_FAILED_EXAMPLE.value}
            response["content"] = {**response["content"], "application/json": {**content, "examples": examples}}
        return response

    def _add_default_error_example(self, code: int, response: dict) -> None:
        """An error answer without an example gets one in the error shape, `type` included."""
        content = response.get("content", {}).get("application/json")
        if code < 400 or content is None or content.get("examples") or code not in DEFAULT_ERROR_EXAMPLES:
            return
        error_code, detail = DEFAULT_ERROR_EXAMPLES[code]
        named = _NAMED_CODE.match(response.get("description", ""))
        if named:  # "`out_of_stock`: the line would hold more than the stock; ..."
            error_code, clause = named.group(1), named.group(2).strip().rstrip(".")
            detail = clause[:1].upper() + clause[1:] + "."
        error_type = "validation_error" if code == 400 else "client_error" if code < 500 else "server_error"
        value = error_body(error_code, detail, error_type=error_type)
        content["examples"] = {f"Error{code}": {"value": value}}

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions=bypass_extensions)
        if not isinstance(schema, dict):
            return schema
        if isinstance(field, serializers.DecimalField) and schema.get("format") == "decimal":
            self._describe_money(field, direction, schema)
        elif isinstance(field, serializers.IntegerField) and schema.get("type") == "integer":
            example = _integer_example(field, schema)
            if example is not None:
                schema.setdefault("example", example)
        return schema

    @staticmethod
    def _describe_money(field: serializers.DecimalField, direction: str, schema: dict) -> None:
        """Every decimal of this API is an amount (or a rating): never negative. What it sends has
        exactly `decimal_places` places; what it takes is refused below `min_value`."""
        whole = "+" if field.max_whole_digits is None else f"{{1,{field.max_whole_digits}}}"
        if direction == "response":
            schema["pattern"] = rf"^\d{whole}\.\d{{{field.decimal_places}}}$"
        elif field.min_value is not None and field.min_value >= 0 and "pattern" in schema:
            schema["pattern"] = schema["pattern"].replace("^-?", "^", 1)
        schema.setdefault("example", _decimal_example(field))

    def _map_basic_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response" and schema.get("properties"):
            # Responses render every field of their serializer, null or not, but those a serializer
            # names in `absent_from_some_answers` (a guest's order token, say).
            optional = set(getattr(serializer, "absent_from_some_answers", ()))
            schema["required"] = sorted(set(schema["properties"]) - optional)
        return schema

    def _get_paginator(self):
        paginator = super()._get_paginator()
        if paginator is not None:
            paginator.schema_path = self.path  # the examples of `next`/`previous` point at this list
        return paginator

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

# A guest's order token (orders.tokens.ORDER_TOKEN), on the endpoints of one order.
ORDER_TOKEN_HEADER = OpenApiParameter(
    "X-Order-Token",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="A guest's `order_token` (from placing the order, or the link an order lookup mails): opens "
    "that one order without a login. Another order, or a wrong or missing token, is 404.",
)

# The header a replayed answer carries (orders.idempotency.idempotent_response).
IDEMPOTENT_REPLAYED_HEADER = OpenApiParameter(
    "Idempotent-Replayed",
    str,
    OpenApiParameter.HEADER,
    enum=["true"],
    required=False,
    response=True,
    description="`true` when this is the stored answer of an earlier request with the same Idempotency-Key "
    "and body (nothing new was created); absent on a first answer.",
)


def _walk(node):
    """Every dict in a JSON document, depth first."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def postprocess_schema(result, generator, request, public):
    """The document-wide rules of the module docstring: nullable references, `security: []`."""
    for schema in _walk(result.get("components", {}).get("schemas", {})):
        all_of = schema.get("allOf")
        if schema.get("nullable") and isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]:
            del schema["allOf"], schema["nullable"]
            schema["oneOf"] = [all_of[0], dict(NULL_SCHEMA)]
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation.setdefault("security", [])
    return result


def staff_forbidden(*perms: str, when: str = "") -> OpenApiResponse:
    """The 403 of a staff operation, naming the permissions it checks and the roles holding them
    (from the role table, so the schema says what the groups really hold)."""
    roles = [name for name, held in ROLES.items() if set(map(str, perms)) <= held]
    holders = ", ".join(roles) if roles else "superusers only"
    needs = " and ".join(f"`{perm}`" for perm in perms)
    return OpenApiResponse(
        ErrorResponse403Serializer,
        description=f"`permission_denied`: signed in{when} without the {needs} permission "
        f"(held by: {holders}; superusers hold every permission).",
    )
