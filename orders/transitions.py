"""The order lifecycle as one table: one row per allowed move, carrying everything about it.

PENDING -> PAID [-> PROCESSING] -> SHIPPED -> DELIVERED   (card; staff may ship straight from PAID)
PENDING -> PROCESSING -> SHIPPED -> DELIVERED             (cash on delivery: staff confirm it first;
                                                           paid when delivered)
PENDING -> CANCELLED                      (customer, staff, or the system: an unpaid card order past
                                           ORDER_PAYMENT_TIMEOUT_MINUTES, an unconfirmed COD order
                                           past COD_CONFIRMATION_HOURS)
PROCESSING -> CANCELLED                   (staff, cash on delivery: the customer called it off)
PAID | PROCESSING | SHIPPED | DELIVERED -> REFUNDED  (the payment provider confirmed a full refund)

`orders.services.order_transition` is the only code that reads this table, and the only code that
changes an order's status.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .models import OrderStatus, PaymentMethod


class Actor(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    SYSTEM = "system"  # expiry, payment webhooks and other background work


class Tracking(StrEnum):
    """What a move needs of the order's tracking number."""

    NONE = "none"
    REQUIRED = "required"  # the request must carry one
    REQUIRED_UNLESS_SET = "required_unless_set"  # the request carries one, or the order already has one


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    actors: frozenset[Actor]
    timestamp: str  # the Order field set to the time of the move
    email: str  # the customer e-mail queued after commit (orders.tasks.send_order_email)
    payment_method: str | None = None  # the move exists only for this method; None: for every method
    restock: bool = False  # the order's units go back on the shelf
    tracking: Tracking = Tracking.NONE
    collects_payment: bool = False  # the money comes in with this move: sets paid_at (cash on delivery)


S = OrderStatus
_ALL = frozenset({Actor.CUSTOMER, Actor.STAFF, Actor.SYSTEM})
_STAFF = frozenset({Actor.STAFF})
_SYSTEM = frozenset({Actor.SYSTEM})

MOVES: tuple[Move, ...] = (
    Move(S.PENDING, S.PAID, _SYSTEM, "paid_at", "paid", payment_method=PaymentMethod.CARD),
    # Stock was taken at checkout, so a cancellation always gives it back.
    Move(S.PENDING, S.CANCELLED, _ALL, "cancelled_at", "cancelled", restock=True),
    # Staff confirm a cash-on-delivery order (a call, a check of the address) before packing it.
    Move(S.PENDING, S.PROCESSING, _STAFF, "processing_at", "processing", payment_method=PaymentMethod.COD),
    Move(S.PAID, S.PROCESSING, _STAFF, "processing_at", "processing", payment_method=PaymentMethod.CARD),
    Move(
        S.PROCESSING, S.CANCELLED, _STAFF, "cancelled_at", "cancelled", payment_method=PaymentMethod.COD, restock=True
    ),
    Move(S.PAID, S.SHIPPED, _STAFF, "shipped_at", "shipped", tracking=Tracking.REQUIRED),
    Move(S.PROCESSING, S.SHIPPED, _STAFF, "shipped_at", "shipped", tracking=Tracking.REQUIRED),
    Move(
        S.SHIPPED,
        S.DELIVERED,
        _STAFF,
        "delivered_at",
        "delivered",
        payment_method=PaymentMethod.COD,
        collects_payment=True,
    ),
    Move(S.SHIPPED, S.DELIVERED, _STAFF, "delivered_at", "delivered", payment_method=PaymentMethod.CARD),
    # A refund restocks only while the goods have not left the warehouse.
    Move(S.PAID, S.REFUNDED, _SYSTEM, "refunded_at", "refunded", restock=True),
    Move(S.PROCESSING, S.REFUNDED, _SYSTEM, "refunded_at", "refunded", restock=True),
    Move(S.SHIPPED, S.REFUNDED, _SYSTEM, "refunded_at", "refunded"),
    Move(S.DELIVERED, S.REFUNDED, _SYSTEM, "refunded_at", "refunded"),
)

_BY_KEY: dict[tuple[str, str, str | None], Move] = {(m.source, m.target, m.payment_method): m for m in MOVES}


def move_for(*, source: str, target: str, payment_method: str) -> Move | None:
    """The row for this move of an order paid by `payment_method`, or None when there is none."""
    return _BY_KEY.get((source, target, payment_method)) or _BY_KEY.get((source, target, None))


def allowed_move(*, source: str, target: str, actor: Actor, payment_method: str) -> Move | None:
    """The row when `actor` may make this move, else None."""
    move = move_for(source=source, target=target, payment_method=payment_method)
    return move if move is not None and actor in move.actors else None


def allowed_targets(*, source: str, actor: Actor, payment_method: str) -> list[str]:
    """Where `actor` may move an order in `source`, in table order (for error messages and screens)."""
    targets = [
        m.target
        for m in MOVES
        if m.source == source
        and allowed_move(source=source, target=m.target, actor=actor, payment_method=payment_method)
    ]
    return list(dict.fromkeys(targets))
