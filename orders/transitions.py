"""The order lifecycle as data: which moves exist and who may make them.

PENDING -> PAID -> SHIPPED -> DELIVERED
PENDING -> CANCELLED                      (customer, staff, or the system on expiry)
PAID | SHIPPED | DELIVERED -> REFUNDED    (the payment provider confirmed a full refund)
PENDING -> SHIPPED -> DELIVERED           (cash on delivery; paid on delivery)
"""

from enum import StrEnum

from .models import OrderStatus, PaymentMethod


class Actor(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    SYSTEM = "system"  # expiry, payment webhooks and other background work


S = OrderStatus

# (from, to) -> the actors allowed to make that move.
ORDER_TRANSITIONS: dict[tuple[str, str], frozenset[Actor]] = {
    (S.PENDING, S.PAID): frozenset({Actor.SYSTEM}),
    (S.PENDING, S.CANCELLED): frozenset({Actor.CUSTOMER, Actor.STAFF, Actor.SYSTEM}),
    (S.PENDING, S.SHIPPED): frozenset({Actor.STAFF}),  # cash on delivery only
    (S.PAID, S.SHIPPED): frozenset({Actor.STAFF}),
    (S.SHIPPED, S.DELIVERED): frozenset({Actor.STAFF}),
    (S.PAID, S.REFUNDED): frozenset({Actor.SYSTEM}),
    (S.SHIPPED, S.REFUNDED): frozenset({Actor.SYSTEM}),
    (S.DELIVERED, S.REFUNDED): frozenset({Actor.SYSTEM}),
}

# Moves that only exist for one payment method.
METHOD_ONLY: dict[tuple[str, str], str] = {
    (S.PENDING, S.SHIPPED): PaymentMethod.COD,
    (S.PENDING, S.PAID): PaymentMethod.CARD,
}

# Where the stock goes back on the shelf: cancellation always (stock was taken at checkout),
# a refund only while the goods have not left the warehouse.
RESTOCK_ON: frozenset[tuple[str, str]] = frozenset({(S.PENDING, S.CANCELLED), (S.PAID, S.REFUNDED)})

# The timestamp field each target status sets.
TIMESTAMP_FIELD: dict[str, str] = {
    S.PAID: "paid_at",
    S.SHIPPED: "shipped_at",
    S.DELIVERED: "delivered_at",
    S.CANCELLED: "cancelled_at",
    S.REFUNDED: "refunded_at",
}

# The customer e-mail each target status sends (see orders.tasks.send_order_email).
EMAIL_ON: dict[str, str] = {
    S.PAID: "paid",
    S.SHIPPED: "shipped",
    S.DELIVERED: "delivered",
    S.CANCELLED: "cancelled",
    S.REFUNDED: "refunded",
}


def is_allowed(*, from_status: str, to_status: str, actor: Actor, payment_method: str) -> bool:
    actors = ORDER_TRANSITIONS.get((from_status, to_status))
    if not actors or actor not in actors:
        return False
    required_method = METHOD_ONLY.get((from_status, to_status))
    return required_method is None or required_method == payment_method


def allowed_targets(*, from_status: str, actor: Actor, payment_method: str) -> list[str]:
    return [
        to
        for (frm, to) in ORDER_TRANSITIONS
        if frm == from_status and is_allowed(from_status=frm, to_status=to, actor=actor, payment_method=payment_method)
    ]
