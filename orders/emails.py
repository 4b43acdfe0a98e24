"""Customer e-mails about an order: the task order and payment services queue after commit.

Kept apart from orders.tasks (the scheduled jobs, which call orders.services) so that services can
queue it without an import cycle.
"""

import logging

from celery import shared_task
from django.core.mail import send_mail
from django.template.loader import render_to_string

from .models import Order

logger = logging.getLogger(__name__)

EMAIL_SUBJECTS = {
    "confirmation": "Your NovaCart order {number} is confirmed",
    "paid": "Payment received for order {number}",
    "processing": "We are preparing order {number}",
    "payment_failed": "Payment for order {number} did not go through",
    "shipped": "Order {number} is on its way",
    "delivered": "Order {number} was delivered",
    "cancelled": "Order {number} was cancelled",
    "refunded": "Order {number} was refunded",
}


# The name it had in orders.tasks: messages already in the broker still carry it.
@shared_task(name="orders.tasks.send_order_email", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_order_email(order_id: int, kind: str) -> None:
    """Sends one customer e-mail (plain text and HTML) about an order."""
    if kind not in EMAIL_SUBJECTS:
        logger.error("unknown order e-mail kind %r for order %s", kind, order_id)
        return
    order = Order.objects.select_related("user").prefetch_related("items").filter(pk=order_id).first()
    if order is None:
        logger.warning("order %s vanished before its %s e-mail", order_id, kind)
        return
    context = {"order": order, "user": order.user, "items": list(order.items.all()), "kind": kind}
    send_mail(
        subject=EMAIL_SUBJECTS[kind].format(number=order.number),
        message=render_to_string(f"emails/order_{kind}.txt", context),
        html_message=render_to_string(f"emails/order_{kind}.html", context),
        from_email=None,
        recipient_list=[order.user.email],
    )
