"""Refund writes: staff refunds, automatic refunds of late payments, and the provider's word that a
refund went through.

As everywhere in payments, the provider is called outside any transaction that holds row locks:
the refund is asked for with an idempotency key derived from our ids, then the answer is recorded
in a new short transaction that locks products, order, then payment (payments.lock_objects).
Order statuses change only through orders.services.order_transition.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from django.db import transaction
from django.utils import timezone

from novacart.exceptions import Conflict, NotFound, ProviderError
from orders.models import ORDER_SALE_STATUSES, Order, OrderStatus
from orders.services import order_transition
from orders.transitions import Actor

from .error_codes import PaymentErrorCode
from .gateways import get_gateway, provider_error
from .lock_objects import lock_order_and_payment
from .models import PAYMENT_CAPTURED_STATUSES, Payment, PaymentStatus
from .provider_types import GatewayError, PaymentGateway, ProviderChargeRefund, ProviderRefund, from_minor_units
from .selectors import payment_refundable_get

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefundAnswer:
    order_id: int
    order_status: str
    payment_status: str
    refund_id: str
    refund_status: str

    def as_body(self) -> dict:
        return asdict(self)


def payment_refund_complete(*, payment_id: int, refund_id: str = "", note: str = "", user=None) -> str:
    """The provider confirmed a full refund: payment REFUNDED, and the order -> REFUNDED through
    order_transition (which restores stock when it had not shipped) when this was the payment that
    paid it. An order that was never paid by it (cancelled, or paid by another payment) keeps its
    status. `user` is the staff member who asked for the refund, recorded on the status change for
    the admin (the customer sees the note, which names nobody). Call inside a transaction."""
    order, payment = lock_order_and_payment(payment_id=payment_id, with_products=True)
    if payment.status == PaymentStatus.REFUNDED:
        return "ignored: already refunded"
    if payment.status not in PAYMENT_CAPTURED_STATUSES:
        payment.needs_review = True
        payment.last_error = f"refund confirmed for a payment we had as {payment.status}"
    payment.status = PaymentStatus.REFUNDED
    payment.refunded_at = timezone.now()
    if refund_id and not payment.provider_refund_id:
        payment.provider_refund_id = refund_id
    payment.save()
    others_captured = (
        Payment.objects.filter(order=order, status__in=PAYMENT_CAPTURED_STATUSES).exclude(pk=payment.pk).exists()
    )
    if order.status in ORDER_SALE_STATUSES and not others_captured:
        order_transition(
            order_id=order.pk, to_status=OrderStatus.REFUNDED, actor=Actor.SYSTEM, user=user, note=note[:255]
        )
        return "order_refunded"
    return f"payment_refunded: order stays {order.status}"


def payment_charge_refunded(*, refund: ProviderChargeRefund) -> str:
    """The provider says money went back for a payment (a refund we asked for, or one made in its
    dashboard). A full refund completes it (payment_refund_complete); a partial one only flags the
    payment for review, the order is not fully refunded. Call inside a transaction."""
    payment = (
        Payment.objects.filter(provider_payment_id=refund.payment_intent_id).first()
        if refund.payment_intent_id
        else None
    )
    if payment is None:
        logger.warning("charge.refunded for unknown payment intent %r", refund.payment_intent_id)
        return "ignored: unknown payment intent"
    if not refund.is_full:
        _order, locked = lock_order_and_payment(payment_id=payment.pk)
        locked.needs_review = True
        locked.last_error = f"partial refund at the provider: {refund.amount_refunded_minor} of {refund.amount_minor}"
        locked.save(update_fields=["needs_review", "last_error", "updated_at"])
        return "partial_refund_recorded"
    return payment_refund_complete(
        payment_id=payment.pk,
        refund_id=refund.refund_id,
        note=f"refund confirmed by provider (charge {refund.charge_id})",
    )


def _gateway_for(payment: Payment) -> PaymentGateway:
    gateway = get_gateway()
    if gateway.name != payment.provider:
        raise Conflict(
            f"This payment was taken by the {payment.provider} gateway, which is not the one configured.",
            code=PaymentErrorCode.PAYMENT_NOT_REFUNDABLE,
        )
    return gateway


def _refund_through_gateway(*, payment: Payment, idempotency_key: str, user=None, note: str) -> RefundAnswer:
    gateway = _gateway_for(payment)
    if not payment.provider_payment_id:
        raise Conflict("The payment has no provider payment to refund.", code=PaymentErrorCode.PAYMENT_NOT_REFUNDABLE)
    try:
        refund: ProviderRefund = gateway.create_refund(
            payment_intent_id=payment.provider_payment_id,
            amount=from_minor_units(payment.amount_minor, payment.currency),
            currency=payment.currency,
            metadata={"order_id": str(payment.order_id), "payment_id": str(payment.pk)},
            idempotency_key=idempotency_key,
        )
    except GatewayError as exc:
        raise provider_error(exc) from exc

    failed = refund.status in ("failed", "canceled")
    with transaction.atomic():
        order, locked = lock_order_and_payment(payment_id=payment.pk, with_products=True)
        if locked.status == PaymentStatus.SUCCEEDED and not failed:
            locked.status = PaymentStatus.REFUND_PENDING
        if not locked.provider_refund_id:
            locked.provider_refund_id = refund.id
        if failed:
            locked.needs_review = True
            locked.last_error = f"refund {refund.id} {refund.status} at the provider"
        locked.save()
        if refund.status == "succeeded":
            payment_refund_complete(payment_id=payment.pk, refund_id=refund.id, note=note, user=user)
    if failed:
        raise ProviderError(
            f"The provider reported the refund as {refund.status}.", code=PaymentErrorCode.REFUND_FAILED
        )
    payment.refresh_from_db()
    order.refresh_from_db(fields=["status"])
    logger.info("refund %s for order %s: %s (by %s)", refund.id, order.number, refund.status, user or "system")
    return RefundAnswer(order.pk, order.status, payment.status, refund.id, refund.status)


def payment_refund(*, order_id: int, user=None) -> RefundAnswer:
    """Refunds an order's captured payment in full (staff, the API and the admin action).

    Uses the provider's Refund API with the idempotency key `order-<id>-refund`, so repeating the
    request never refunds twice. The payment becomes REFUND_PENDING; the order becomes REFUNDED
    when the provider confirms (charge.refunded), or at once when the refund already succeeded.

    Raises NotFound (no such order), Conflict(`payment_not_refundable`) when the order has no
    succeeded payment, ProviderError (`payment_provider_error`, `refund_failed`).
    """
    get_gateway()
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.", code=PaymentErrorCode.NOT_FOUND, attr="order_id")
    payment = payment_refundable_get(order_id=order.pk)
    if payment is None:
        already = Payment.objects.filter(order=order, status=PaymentStatus.REFUNDED).exists()
        raise Conflict(
            f"Order {order.number} " + ("was already refunded." if already else "has no succeeded payment to refund."),
            code=PaymentErrorCode.PAYMENT_NOT_REFUNDABLE,
            attr="order_id",
        )
    return _refund_through_gateway(
        payment=payment,
        idempotency_key=f"order-{order.pk}-refund",
        user=user,
        note="Refund requested by staff." if user is not None else "Refund requested.",
    )


def payment_refund_automatic(*, payment_id: int) -> RefundAnswer | None:
    """Gives back a payment that arrived for an order that could no longer take it (cancelled on
    expiry, or already paid). Idempotent: key `order-<id>-refund-<payment id>`; a payment no longer
    captured is left alone."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or payment.status not in PAYMENT_CAPTURED_STATUSES:
        return None
    return _refund_through_gateway(
        payment=payment,
        idempotency_key=f"order-{payment.order_id}-refund-{payment.pk}",
        note="automatic refund: payment arrived after the order could take it",
    )
