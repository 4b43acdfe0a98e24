"""Customer e-mails about an order: the task order and payment services queue after commit.

Kept apart from orders.tasks (the scheduled jobs, which call orders.services) so that services can
queue it without an import cycle.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from payments.models import RefundStatus
from payments.provider_types import from_minor_units

from .models import Order, OrderReturn
from .tokens import guest_order_link, guest_token_for

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
    "partially_refunded": "Part of order {number} was refunded",
    "return_requested": "We have your return request for order {number}",
    "return_approved": "Your return for order {number} is approved",
    "return_rejected": "Your return for order {number} was not accepted",
    "return_received": "The goods you sent back from order {number} have arrived",
    "return_refunded": "Your return for order {number} is refunded",
    "guest_link": "The link to your NovaCart order {number}",
}

# The e-mails that say what was refunded: each lists the order's refunds, the latest first.
REFUND_EMAILS = ("refunded", "partially_refunded")


def order_refunds_for_email(order: Order) -> list[dict]:
    """The order's succeeded refunds, latest first: amount, what it was for (units of which items,
    shipping, an amount on its own) and when."""
    refunds = order.refunds.filter(status=RefundStatus.SUCCEEDED).prefetch_related("lines__order_item")
    return [
        {
            "amount": from_minor_units(refund.amount_minor, refund.currency),
            "lines": [
                {
                    "quantity": line.quantity,
                    "name": line.order_item.product_name,
                    "variant_name": line.order_item.variant_name,
                    "restocked": line.restock,
                }
                for line in refund.lines.all()
            ],
            "shipping": refund.shipping,
            "goodwill": from_minor_units(refund.goodwill_minor, refund.currency) if refund.goodwill_minor else None,
            "completed_at": refund.completed_at,
        }
        for refund in sorted(refunds, key=lambda r: (r.completed_at or r.created_at, r.pk), reverse=True)
    ]


def _addressee(order: Order) -> str:
    """Whom the e-mail greets: the account's first name, or the name on the guest's address."""
    if order.user is not None and order.user.get_short_name():
        return order.user.get_short_name()
    return str((order.shipping_address or {}).get("full_name") or "").strip() or "there"


def _guest_link(order: Order) -> str | None:
    """A guest order's link with its current token, made here from the order's nonce (orders.tokens),
    so the token never sits in a broker message. None for an order placed with an account, or
    without FRONTEND_URL to point at."""
    if not order.guest_token_nonce or not settings.FRONTEND_URL:
        return None
    return guest_order_link(
        order_id=order.pk, token=guest_token_for(number=order.number, nonce=order.guest_token_nonce)
    )


# The name it had in orders.tasks: messages already in the broker still carry it.
@shared_task(name="orders.tasks.send_order_email", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_order_email(order_id: int, kind: str, return_id: int | None = None) -> None:
    """Sends one customer e-mail (plain text and HTML) about an order (and, for the return e-mails,
    one of its returns: `return_id`)."""
    if kind not in EMAIL_SUBJECTS:
        logger.error("unknown order e-mail kind %r for order %s", kind, order_id)
        return
    order = Order.objects.select_related("user").prefetch_related("items").filter(pk=order_id).first()
    if order is None:
        logger.warning("order %s vanished before its %s e-mail", order_id, kind)
        return
    context = {
        "order": order,
        "user": order.user,
        "name": _addressee(order),
        "items": list(order.items.all()),
        "kind": kind,
        "guest_link": _guest_link(order),
    }
    if kind in REFUND_EMAILS:
        context["refunds"] = order_refunds_for_email(order)
    if return_id is not None:
        context["order_return"] = (
            OrderReturn.objects.filter(pk=return_id, order=order).prefetch_related("lines__order_item").first()
        )
    send_mail(
        subject=EMAIL_SUBJECTS[kind].format(number=order.number),
        message=render_to_string(f"emails/order_{kind}.txt", context),
        html_message=render_to_string(f"emails/order_{kind}.html", context),
        from_email=None,
        recipient_list=[order.customer_email],
    )
