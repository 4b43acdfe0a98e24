"""Row locks for payment writes. Call inside `transaction.atomic()`.

The project-wide lock order (CONTRIBUTING.md, "Lock order"): a request's claim row (the webhook
event), then products by primary key, then the order, then its payment, then the payment's refund
rows. Built on
products.lock_objects and orders.lock_objects, so a webhook, a refund and a customer's
cancellation lock the same rows in the same order and cannot deadlock each other.
"""

from orders.lock_objects import lock_order
from orders.models import Order, OrderItem
from products.lock_objects import lock_products

from .models import Payment, Refund, RefundLine, WebhookEvent


def lock_order_and_payment(*, payment_id: int, with_products: bool = False) -> tuple[Order, Payment]:
    """Locks (the order's products when `with_products`,) the payment's order, then the payment.

    Take `with_products` when the work may move the order to a status that restocks (a refund
    before shipping): order_transition would otherwise lock products after the order.
    """
    order_id = Payment.objects.filter(pk=payment_id).values_list("order_id", flat=True).get()
    if with_products:
        lock_products(product_ids=OrderItem.objects.filter(order_id=order_id).values_list("product_id", flat=True))
    order = lock_order(order_id=order_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    return order, payment


def lock_webhook_event(*, event_id: str) -> WebhookEvent:
    """A delivery's claim row: waits for a concurrent delivery of the same event to finish."""
    return WebhookEvent.objects.select_for_update().get(event_id=event_id)


def lock_refund(*, refund_id: int) -> tuple[Order, Payment, Refund]:
    """Locks what recording a refund's outcome writes: the products of the lines it puts back on the
    shelf (a refund's lines never change once made, so they are known before any lock), the order,
    the payment, then the refund row."""
    order_id, payment_id = Refund.objects.filter(pk=refund_id).values_list("order_id", "payment_id").get()
    lock_products(
        product_ids=RefundLine.objects.filter(refund_id=refund_id, restock=True).values_list(
            "order_item__product_id", flat=True
        )
    )
    order = lock_order(order_id=order_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    return order, payment, refund
