from enum import StrEnum


class PaymentErrorCode(StrEnum):
    PAYMENT_NOT_CONFIGURED = "payment_not_configured"
    PAYMENT_PROVIDER_ERROR = "payment_provider_error"
    PAYMENT_NOT_ALLOWED = "payment_not_allowed"
    INVALID_TRANSITION = "invalid_transition"
    ALREADY_PAID = "already_paid"
    AMOUNT_NOT_REPRESENTABLE = "amount_not_representable"
    PAYMENT_NOT_REFUNDABLE = "payment_not_refundable"
    REFUND_FAILED = "refund_failed"
    REFUND_EXCEEDS_PAID = "refund_exceeds_paid"
    INVALID_REFUND_LINE = "invalid_refund_line"
    INVALID_REDIRECT_URL = "invalid_redirect_url"
    INVALID_SIGNATURE = "invalid_signature"
    INVALID_PAYLOAD = "invalid_payload"
    WEBHOOK_PROCESSING_FAILED = "webhook_processing_failed"
    PAYMENT_MISMATCH = "payment_mismatch"
    NOT_FOUND = "not_found"
