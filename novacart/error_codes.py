from enum import StrEnum


class CoreErrorCode(StrEnum):
    """Codes that belong to no app: the defaults of novacart.exceptions and novacart.views' answers."""

    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNPROCESSABLE = "unprocessable"
    PAYMENT_PROVIDER_ERROR = "payment_provider_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    PERMISSION_DENIED = "permission_denied"
    NOT_AUTHENTICATED = "not_authenticated"
    BAD_REQUEST = "bad_request"
    SERVER_ERROR = "error"
    DATABASE_UNAVAILABLE = "database_unavailable"
    CACHE_UNAVAILABLE = "cache_unavailable"
    BROKER_UNAVAILABLE = "broker_unavailable"
    # Free text shown to others (novacart.validators.reject_control_characters).
    CONTROL_CHARACTERS = "control_characters"
