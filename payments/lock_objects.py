"""Row locks for payment writes, in the one project-wide order: products, then order, then payment.

Built on orders.lock_objects, so a webhook, a refund and a customer's cancellation lock the same
rows in the same order and cannot deadlock each other. Call inside `transaction.atomic()`.
"""

from orders.lock_objects import lock_order, lock_products
from orders.models import Order, OrderItem

from .models import Payment


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
