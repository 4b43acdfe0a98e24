"""Returns: a customer sends delivered units back, staff take them in, the shop refunds them.

    REQUESTED -> APPROVED -> RECEIVED -> REFUNDED
    REQUESTED -> REJECTED

The customer asks (`return_request`) for units of a DELIVERED order within RETURN_WINDOW_DAYS of its
delivery; staff approve or reject, then mark the parcel received (saying, per line, whether its units
can be sold again); finance refunds the received lines (payments.refunds.refund_for_return, which
creates the refund and, once its money went back, moves the return to REFUNDED here).

Every status change goes through `return_transition`: one transaction, the order's row lock then the
return's (orders.lock_objects.lock_order_return; CONTRIBUTING "Lock order"), a history row, the
customer's e-mail after commit. A unit is never asked back twice: the units of a line in returns that
were not rejected, and those refunded outside any return, are counted under the order's lock, so two
requests at once cannot both take the last units.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from novacart.celery import enqueue_on_commit
from novacart.exceptions import Conflict, NotFound, ValidationFailed
from payments.models import REFUND_ACTIVE_STATUSES, RefundLine

from .emails import send_order_email
from .error_codes import OrderErrorCode
from .lock_objects import lock_order, lock_order_return
from .models import (
    RETURN_ACTIVE_STATUSES,
    Order,
    OrderReturn,
    OrderReturnLine,
    OrderReturnStatusChange,
    OrderStatus,
    ReturnStatus,
)
from .transitions import Actor

logger = logging.getLogger(__name__)

R = ReturnStatus
_STAFF = frozenset({Actor.STAFF})
_REFUND = frozenset({Actor.SYSTEM})  # the refund's completion (payments.refunds), never a hand move


@dataclass(frozen=True)
class ReturnMove:
    actors: frozenset[Actor]
    timestamp: str  # the OrderReturn field set to the time of the move
    email: str  # the customer e-mail queued after commit (orders.emails)


RETURN_MOVES: dict[tuple[str, str], ReturnMove] = {
    (R.REQUESTED, R.APPROVED): ReturnMove(_STAFF, "approved_at", "return_approved"),
    (R.REQUESTED, R.REJECTED): ReturnMove(_STAFF, "rejected_at", "return_rejected"),
    (R.APPROVED, R.RECEIVED): ReturnMove(_STAFF, "received_at", "return_received"),
    (R.RECEIVED, R.REFUNDED): ReturnMove(_REFUND, "refunded_at", "return_refunded"),
}
# What staff may ask for with PATCH /api/returns/<id>/.
RETURN_STAFF_TARGETS = (R.APPROVED, R.REJECTED, R.RECEIVED)


@dataclass(frozen=True)
class ReturnLineRequest:
    order_item_id: int
    quantity: int


def return_window_ends(order: Order):
    """When the order's return window closes (None before it was delivered)."""
    if order.delivered_at is None:
        return None
    return order.delivered_at + timedelta(days=settings.RETURN_WINDOW_DAYS)


def returnable_units(*, order: Order) -> dict[int, int]:
    """Order item id -> units that may still be asked back: the item's quantity less the units in
    returns not rejected, less the units refunded (or being refunded) outside any return."""
    in_returns = (
        OrderReturnLine.objects.filter(order_return__order=order, order_return__status__in=RETURN_ACTIVE_STATUSES)
        .values("order_item_id")
        .annotate(units=Sum("quantity"))
    )
    refunded = (
        RefundLine.objects.filter(
            refund__order=order, refund__status__in=REFUND_ACTIVE_STATUSES, refund__order_return__isnull=True
        )
        .values("order_item_id")
        .annotate(units=Sum("quantity"))
    )
    taken: dict[int, int] = {}
    for row in (*in_returns, *refunded):
        taken[row["order_item_id"]] = taken.get(row["order_item_id"], 0) + row["units"]
    return {item.pk: item.quantity - taken.get(item.pk, 0) for item in order.items.all()}


def return_request(*, user, order_id: int, lines: list[ReturnLineRequest], reason: str = "") -> OrderReturn:
    """The customer asks to send back units of their delivered order: a REQUESTED return.

    Raises NotFound for an order that is not the user's, Conflict(`invalid_transition`) for an order not
    delivered (cancel it, or ask for a refund, instead), Conflict(`return_window_closed`) past
    RETURN_WINDOW_DAYS after delivery, ValidationFailed(`invalid_return_line`) for an item not of the
    order, an item named twice, or more units than were delivered and not asked back yet."""
    with transaction.atomic():
        if not Order.objects.filter(pk=order_id, user=user).exists():
            raise NotFound("Order not found.", code=OrderErrorCode.ORDER_NOT_FOUND)
        order = lock_order(order_id=order_id)
        if order.status != OrderStatus.DELIVERED:
            raise Conflict(
                f"Order {order.number} is {order.get_status_display().lower()}: only delivered goods are returned.",
                code=OrderErrorCode.INVALID_TRANSITION,
            )
        ends = return_window_ends(order)
        if ends is not None and timezone.now() > ends:
            raise Conflict(
                f"Returns of order {order.number} closed on {ends:%d %b %Y}, {settings.RETURN_WINDOW_DAYS} days "
                "after it was delivered.",
                code=OrderErrorCode.RETURN_WINDOW_CLOSED,
            )
        left = returnable_units(order=order)
        items = {item.pk: item for item in order.items.all()}
        seen: set[int] = set()
        for index, line in enumerate(lines):
            item = items.get(line.order_item_id)
            if item is None or item.pk in seen:
                raise ValidationFailed(
                    f"Order {order.number} has no item {line.order_item_id}."
                    if item is None
                    else f"Item {item.pk} is named twice; give its quantity once.",
                    code=OrderErrorCode.INVALID_RETURN_LINE,
                    attr=f"lines.{index}.order_item_id",
                )
            seen.add(item.pk)
            if line.quantity > left[item.pk]:
                raise ValidationFailed(
                    f"{item.product_name}: {line.quantity} unit(s) asked, "
                    + (f"{left[item.pk]} can still be returned." if left[item.pk] else "none can be returned now."),
                    code=OrderErrorCode.INVALID_RETURN_LINE,
                    attr=f"lines.{index}.quantity",
                )
        order_return = OrderReturn.objects.create(order=order, reason=reason)
        OrderReturnLine.objects.bulk_create(
            OrderReturnLine(order_return=order_return, order_item=items[line.order_item_id], quantity=line.quantity)
            for line in lines
        )
        OrderReturnStatusChange.objects.create(
            order_return=order_return,
            to_status=R.REQUESTED,
            actor=user,
            actor_label=str(Actor.CUSTOMER),
            note="Return requested.",
        )
        enqueue_on_commit(send_order_email, order.pk, "return_requested", return_id=order_return.pk)
    logger.info("return %s of order %s requested", order_return.pk, order.number)
    return order_return


def return_transition(
    *,
    return_id: int,
    to_status: str,
    actor: Actor,
    user=None,
    note: str = "",
    restock: dict[int, bool] | None = None,
) -> OrderReturn:
    """Moves a return to `to_status` when RETURN_MOVES lets `actor` make that move; to the status it
    already has, nothing changes (a retry). `restock` (order item id -> whether its units can be sold
    again), on the move to RECEIVED, is what staff found in the parcel; lines not named keep theirs.

    Raises NotFound for no such return and Conflict(`invalid_transition`) for a move not allowed."""
    with transaction.atomic():
        locked = lock_order_return(return_id=return_id)
        if locked is None:
            raise NotFound("Return not found.", code=OrderErrorCode.RETURN_NOT_FOUND)
        _order, order_return = locked
        source = order_return.status
        if source == to_status:
            return order_return
        move = RETURN_MOVES.get((source, to_status))
        if move is None or actor not in move.actors:
            allowed = [target for (src, target), m in RETURN_MOVES.items() if src == source and actor in m.actors]
            raise Conflict(
                f"Return {order_return.pk} cannot move from {source} to {to_status}"
                + (f"; allowed: {', '.join(allowed)}." if allowed else "."),
                code=OrderErrorCode.INVALID_TRANSITION,
                attr="status",
            )
        if restock and to_status == R.RECEIVED:
            for line in order_return.lines.all():
                if line.order_item_id in restock and line.restock != restock[line.order_item_id]:
                    line.restock = restock[line.order_item_id]
                    line.save(update_fields=["restock"])
        order_return.status = to_status
        setattr(order_return, move.timestamp, timezone.now())
        order_return.save(update_fields=["status", move.timestamp, "updated_at"])
        OrderReturnStatusChange.objects.create(
            order_return=order_return,
            from_status=source,
            to_status=to_status,
            actor=user if getattr(user, "is_authenticated", False) else None,
            actor_label=str(actor),
            note=note[:255],
        )
        enqueue_on_commit(send_order_email, order_return.order_id, move.email, return_id=order_return.pk)
    logger.info("return %s: %s -> %s by %s", return_id, source, to_status, actor)
    return order_return
