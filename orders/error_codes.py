from enum import StrEnum


class OrderErrorCode(StrEnum):
    CART_EMPTY = "cart_empty"
    OUT_OF_STOCK = "out_of_stock"
    PRODUCT_UNAVAILABLE = "product_unavailable"
    ADDRESS_NOT_FOUND = "address_not_found"
    INVALID_TRANSITION = "invalid_transition"
    TRACKING_NUMBER_REQUIRED = "tracking_number_required"
    ORDER_NOT_FOUND = "not_found"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_REQUEST_IN_PROGRESS = "idempotency_request_in_progress"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    INVALID_CHOICE = "invalid_choice"
    TOO_MANY_OPEN_ORDERS = "too_many_open_orders"
    INVALID = "invalid"
    SHIPPING_METHOD_REQUIRED = "shipping_method_required"
    SHIPPING_METHOD_UNAVAILABLE = "shipping_method_unavailable"
    COD_NOT_ALLOWED = "cod_not_allowed"
    # Vouchers (orders.vouchers): one answer for an unknown and an inactive code, so codes cannot be probed.
    VOUCHER_INVALID = "voucher_invalid"
    VOUCHER_EXPIRED = "voucher_expired"
    VOUCHER_NOT_APPLICABLE = "voucher_not_applicable"
    VOUCHER_MIN_SUBTOTAL = "voucher_min_subtotal"
    VOUCHER_EXHAUSTED = "voucher_exhausted"
    VOUCHER_CODE_TAKEN = "voucher_code_taken"
    # Returns (orders.returns).
    RETURN_WINDOW_CLOSED = "return_window_closed"
    INVALID_RETURN_LINE = "invalid_return_line"
    RETURN_NOT_FOUND = "not_found"
