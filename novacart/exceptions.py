"""Errors raised by services, and the one place that turns them into HTTP answers.

Services raise `ServiceError` subclasses carrying a stable error code; views never
build error responses themselves. drf-standardized-errors renders every error in
the contract's shape: {"type", "errors": [{"code", "detail", "attr"}]}.
"""

import logging
from dataclasses import dataclass

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import JsonResponse, UnreadablePostError
from drf_standardized_errors.handler import ExceptionHandler
from rest_framework import exceptions, status
from rest_framework.exceptions import ErrorDetail
from rest_framework_simplejwt.exceptions import AuthenticationFailed as TokenAuthenticationFailed

from .error_codes import CoreErrorCode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErrorItem:
    code: str
    detail: str
    attr: str | None = None


class ServiceError(Exception):
    """A business rule said no. `status_code` decides the HTTP status."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = CoreErrorCode.INVALID

    def __init__(self, detail: str = "", *, code: str | None = None, attr: str | None = None, errors=None):
        self.errors: list[ErrorItem] = list(errors or [ErrorItem(code or self.default_code, detail, attr)])
        super().__init__("; ".join(e.detail for e in self.errors))

    @property
    def code(self) -> str:
        return self.errors[0].code


class ValidationFailed(ServiceError):
    status_code = status.HTTP_400_BAD_REQUEST


class NotAuthenticated(ServiceError):
    """401: no account may be signed in with what was given (e.g. an inactive one)."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = CoreErrorCode.NOT_AUTHENTICATED


class Forbidden(ServiceError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = CoreErrorCode.PERMISSION_DENIED


class NotFound(ServiceError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = CoreErrorCode.NOT_FOUND


class Conflict(ServiceError):
    status_code = status.HTTP_409_CONFLICT
    default_code = CoreErrorCode.CONFLICT


class Unprocessable(ServiceError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = CoreErrorCode.UNPROCESSABLE


class ProviderError(ServiceError):
    """The payment provider failed or timed out; nothing was half-written."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = CoreErrorCode.PAYMENT_PROVIDER_ERROR


class ServiceUnavailable(ServiceError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = CoreErrorCode.SERVICE_UNAVAILABLE


class _RenderedServiceError(exceptions.APIException):
    """A non-400 service error: a client or server error, one entry per item, attrs kept."""

    def __init__(self, error: ServiceError):
        self.status_code = error.status_code
        self.detail = [ErrorDetail(item.detail, item.code) for item in error.errors]
        self._attrs = [item.attr for item in error.errors]
        if error.status_code == status.HTTP_401_UNAUTHORIZED:
            self.auth_header = 'Bearer realm="api"'  # a 401 says how to authenticate (RFC 9110)


class _ValidationLike(exceptions.ValidationError):
    """A 400 from a service is a validation error for the client."""


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = CoreErrorCode.PAYLOAD_TOO_LARGE


def _one_item_authentication_failed(exc: TokenAuthenticationFailed) -> exceptions.AuthenticationFailed:
    """SimpleJWT's 401s carry a dict (`detail`, `code`, and for a bad token `messages` naming its token
    classes) that the formatter would flatten into one error item per key. The contract has one item
    with one code: the code SimpleJWT chose, and the reason a client can act on ("Token is expired")."""
    detail = exc.detail
    messages = detail.get("messages") or []
    reason = messages[0]["message"] if messages else detail["detail"]
    plain = exceptions.AuthenticationFailed(str(reason), code=str(detail["code"]))
    plain.status_code = exc.status_code
    plain.auth_header = getattr(exc, "auth_header", None)
    return plain


class NovaCartExceptionHandler(ExceptionHandler):
    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, TokenAuthenticationFailed):
            return _one_item_authentication_failed(exc)
        if isinstance(exc, ServiceError):
            if exc.status_code == status.HTTP_400_BAD_REQUEST:
                detail: dict = {}
                for item in exc.errors:
                    detail.setdefault(item.attr or "non_field_errors", []).append(ErrorDetail(item.detail, item.code))
                return _ValidationLike(detail)
            return _RenderedServiceError(exc)
        if isinstance(exc, RequestDataTooBig):
            return PayloadTooLarge()
        if isinstance(exc, UnreadablePostError):
            return exceptions.ParseError("The request body could not be read.")
        if isinstance(exc, SuspiciousOperation):
            return exceptions.ParseError("The request was malformed.")
        return super().convert_known_exceptions(exc)

    def format_exception(self, exc: exceptions.APIException) -> dict:
        data = super().format_exception(exc)
        attrs = getattr(exc, "_attrs", None)
        if attrs:
            for error, attr in zip(data["errors"], attrs, strict=False):
                error["attr"] = attr
        return data


def error_body(code: str, detail: str, *, error_type: str = "client_error", attr: str | None = None) -> dict:
    return {"type": error_type, "errors": [{"code": code, "detail": detail, "attr": attr}]}


def json_error(status_code: int, code: str, detail: str, *, error_type: str = "client_error") -> JsonResponse:
    return JsonResponse(error_body(code, detail, error_type=error_type), status=status_code)
