"""Order writes. Every status change goes through `order_transition`."""

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from novacart.celery import enqueue_on_commit
from novacart.exceptions import Conflict, ValidationFailed
from products.models import Product

from .error_codes import OrderErrorCode
from .lock_objects import lock_order, lock_products
from .models import Order, OrderItem, OrderStatus, OrderStatusChange, PaymentMethod
from .transitions import EMAIL_ON, RESTOCK_ON, TIMESTAMP_FIELD, Actor, allowed_targets, is_allowed

logger = logging.getLogger(__name__)


def _catalog_changed() -> None:
    """Stock moved: anonymous catalog responses cached before must not be served again."""
    try:
        from products.services import catalog_cache_bump
    except ImportError:  # the catalog cache is optional
        return
    transaction.on_commit(catalog_cache_bump)


def order_restock(*, order: Order) -> None:
    """Puts the order's units back on the shelf. The caller holds the product locks
    (taken in primary-key order by `lock_products`)."""
    for item in sorted(order.items.all(), key=lambda i: i.product_id):
        Product.objects.filter(pk=item.product_id).update(stock=F("stock") + item.quantity)
    _catalog_changed()


class _LockOrderChanged(Exception):
    """The order changed state between the first read and its lock; the caller tries again."""


def order_transition(
    *,
    order_id: int,
    to_status: str,
    actor: Actor,
    user=None,
    note: str = "",
    tracking_number: str = "",
) -> Order:
    """Moves an order to `to_status` if the lifecycle allows `actor` to make that move.

    Runs in one transaction with the order row locked (and, when stock goes back, the product
    rows first, in primary-key order). A move to the status the order already has is a no-op,
    so retries and duplicate webhooks are harmless. Records an OrderStatusChange row, sets the
    status timestamp, restores stock on cancellation and on a refund before shipping, and queues
    the customer e-mail after commit.

    Raises Conflict(`invalid_transition`) when the move is not allowed, and
    ValidationFailed(`tracking_number_required`) when shipping a card order without a tracking number.
    """
    for _attempt in range(3):
        try:
            return _transition_once(
                order_id=order_id,
                to_status=to_status,
                actor=actor,
                user=user,
                note=note,
                tracking_number=(tracking_number or "").strip(),
            )
        except _LockOrderChanged:
            continue
    raise Conflict("The order is changing too quickly; try again.", code=OrderErrorCode.INVALID_TRANSITION)


def _transition_once(*, order_id, to_status, actor, user, note, tracking_number) -> Order:
    with transaction.atomic():
        current = Order.objects.filter(pk=order_id).values("status").first()
        if current is None:
            raise Order.DoesNotExist(order_id)
        products_locked = (current["status"], to_status) in RESTOCK_ON
        if products_locked:
            product_ids = OrderItem.objects.filter(order_id=order_id).values_list("product_id", flat=True)
            lock_products(product_ids=product_ids)
        order = lock_order(order_id=order_id)
        from_status = order.status
        if from_status == to_status:
            return order
        if not is_allowed(
            from_status=from_status, to_status=to_status, actor=actor, payment_method=order.payment_method
        ):
            allowed = allowed_targets(from_status=from_status, actor=actor, payment_method=order.payment_method)
            raise Conflict(
                f"Order {order.number} cannot move from {from_status} to {to_status}"
                + (f"; allowed: {', '.join(allowed)}." if allowed else "."),
                code=OrderErrorCode.INVALID_TRANSITION,
                attr="status",
            )
        if (from_status, to_status) in RESTOCK_ON and not products_locked:
            # The status changed between the first read and the lock: take the locks in order and retry.
            raise _LockOrderChanged
        now = timezone.now()
        update_fields = ["status", "updated_at"]
        order.status = to_status
        setattr(order, TIMESTAMP_FIELD[to_status], now)
        update_fields.append(TIMESTAMP_FIELD[to_status])
        if to_status == OrderStatus.SHIPPED:
            if tracking_number:
                order.tracking_number = tracking_number
                update_fields.append("tracking_number")
            elif order.payment_method == PaymentMethod.CARD or not order.tracking_number:
                raise ValidationFailed(
                    "A tracking number is required to ship an order.",
                    code=OrderErrorCode.TRACKING_NUMBER_REQUIRED,
                    attr="tracking_number",
                )
        if to_status == OrderStatus.DELIVERED and order.payment_method == PaymentMethod.COD and order.paid_at is None:
            order.paid_at = now  # cash on delivery: paid when the parcel is handed over
            update_fields.append("paid_at")
        order.save(update_fields=update_fields)
        OrderStatusChange.objects.create(
            order=order,
            from_status=from_status,
            to_status=to_status,
            actor=user,
            actor_label=str(actor),
            note=note[:255],
        )
        if (from_status, to_status) in RESTOCK_ON:
            order_restock(order=order)
        if to_status in EMAIL_ON:
            from .tasks import send_order_email

            enqueue_on_commit(send_order_email, order.pk, EMAIL_ON[to_status])
        logger.info("order %s: %s -> %s by %s", order.number, from_status, to_status, actor)
        return order
