"""Payment writes: intents, checkout sessions, refunds and what provider events do to them.

The rule that shapes everything here: we never call the provider inside a transaction that holds
row locks. Each write reads what it needs, calls the gateway with an idempotency key derived from
our own ids (so a retry of any step finds the same provider object), then records the answer in a
new short transaction that locks products (when stock may move), order, then payment.

Order statuses change only through orders.services.order_transition.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from novacart.celery import enqueue_on_commit
from novacart.exceptions import (
    Conflict,
    NotFound,
    ProviderError,
    ServiceError,
    ServiceUnavailable,
    ValidationFailed,
)
from orders.lock_objects import lock_order
from orders.models import Order, OrderStatus, PaymentMethod
from orders.services import order_transition
from orders.transitions import Actor

from .error_codes import PaymentErrorCode
from .gateways import GatewayError, PaymentGateway, ProviderRefund, get_gateway
from .lock_objects import lock_order_and_payment
from .models import Payment, PaymentStatus
from .stripe_client import from_minor_units, to_minor_units

logger = logging.getLogger(__name__)

# Statuses in which money was taken (and, for REFUND_PENDING, not yet given back).
CAPTURED_STATUSES = (PaymentStatus.SUCCEEDED, PaymentStatus.REFUND_PENDING)
PAID_STATUSES = (PaymentStatus.SUCCEEDED, PaymentStatus.REFUND_PENDING, PaymentStatus.REFUNDED)
OPEN_STATUSES = (PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.FAILED)
# Order statuses a full refund moves to REFUNDED.
REFUNDABLE_ORDER_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)


class WebhookProcessingFailed(ServiceError):
    """A handler failed; the event stays unprocessed and the provider retries it (500)."""

    status_code = 500
    default_code = PaymentErrorCode.WEBHOOK_PROCESSING_FAILED


def provider_error(exc: GatewayError) -> ServiceError:
    """The provider's failure as our answer: 503 when it rate-limited us, 502 otherwise."""
    detail = "The payment provider did not answer as expected; please try again."
    if exc.rate_limited:
        return ServiceUnavailable(
            "The payment provider is busy; please try again shortly.", code=PaymentErrorCode.PAYMENT_PROVIDER_ERROR
        )
    return ProviderError(detail, code=PaymentErrorCode.PAYMENT_PROVIDER_ERROR)


def _order_metadata(order: Order) -> dict:
    return {"order_id": str(order.pk), "order_number": order.number}


def _order_for_owner(*, user, order_id: int) -> Order:
    order = Order.objects.filter(pk=order_id, user=user).first()
    if order is None:
        raise NotFound("Order not found.", code=PaymentErrorCode.NOT_FOUND, attr="order_id")
    return order


def order_amount_minor(order: Order) -> int:
    """The order total in the provider's minor units. Raises Conflict(`amount_not_representable`)."""
    try:
        return to_minor_units(order.total, order.currency)
    except ValueError as exc:
        raise Conflict(str(exc), code=PaymentErrorCode.AMOUNT_NOT_REPRESENTABLE) from exc


def _ensure_payable(order: Order) -> None:
    """Only a PENDING card order without a captured payment can be paid online (a payment that was
    given back, e.g. a refunded mismatch, does not count)."""
    if order.payment_method != PaymentMethod.CARD:
        raise Conflict(
            f"Order {order.number} is paid cash on delivery; it takes no online payment.",
            code=PaymentErrorCode.PAYMENT_NOT_ALLOWED,
            attr="order_id",
        )
    if order.status != OrderStatus.PENDING:
        raise Conflict(
            f"Order {order.number} is {order.status}; only a pending order can be paid.",
            code=PaymentErrorCode.INVALID_TRANSITION,
            attr="order_id",
        )
    if Payment.objects.filter(order=order, status__in=CAPTURED_STATUSES).exists():
        raise Conflict(
            f"A payment for order {order.number} already went through.",
            code=PaymentErrorCode.ALREADY_PAID,
            attr="order_id",
        )


def _mark_open_payment_failed(*, payment_id: int, reason: str) -> None:
    with transaction.atomic():
        Payment.objects.filter(pk=payment_id, status__in=OPEN_STATUSES).update(
            status=PaymentStatus.FAILED, last_error=reason[:2000], updated_at=timezone.now()
        )


# --- Payment intents ------------------------------------------------------------


@dataclass(frozen=True)
class IntentAnswer:
    payment: Payment
    order: Order
    publishable_key: str

    def as_body(self) -> dict:
        return {
            "client_secret": self.payment.client_secret,
            "payment_intent_id": self.payment.provider_payment_id,
            "amount": f"{self.order.total:.2f}",
            "currency": self.order.currency,
            "publishable_key": self.publishable_key,
        }


def _record_intent(*, order: Order, gateway: PaymentGateway, intent) -> Payment:
    """Records (or finds) the Payment for a provider intent, in a short transaction."""
    with transaction.atomic():
        lock_order(order_id=order.pk)
        payment, created = Payment.objects.get_or_create(
            provider_payment_id=intent.id,
            defaults={
                "order": order,
                "provider": gateway.name,
                "client_secret": intent.client_secret,
                "amount_minor": intent.amount_minor,
                "currency": intent.currency,
                "status": PaymentStatus.REQUIRES_PAYMENT,
            },
        )
        if payment.order_id != order.pk:
            raise Conflict(
                "The provider returned a payment that belongs to another order.", code=PaymentErrorCode.PAYMENT_MISMATCH
            )
        if not created and payment.status == PaymentStatus.FAILED:
            # A declined card leaves a Stripe intent usable: the customer tries again with it.
            payment.status = PaymentStatus.REQUIRES_PAYMENT
            payment.client_secret = intent.client_secret or payment.client_secret
            payment.save(update_fields=["status", "client_secret", "updated_at"])
    return payment


def payment_intent_create(*, user, order_id: int) -> IntentAnswer:
    """Returns a payment intent for the user's PENDING card order, creating one only when needed.

    Calling again returns the existing intent while the provider says it is still usable; a
    canceled one is replaced by a new attempt. The provider's idempotency key is
    `order-<id>-intent-<attempt>`, where the attempt counts the intents already recorded, so a
    retry after a provider failure (or a lost answer) gets the same intent, never a second one.

    Raises NotFound (not the user's order), Conflict (`payment_not_allowed` for cash on delivery,
    `invalid_transition` when the order is not PENDING, `already_paid`), ServiceUnavailable
    (`payment_not_configured`), ProviderError / ServiceUnavailable (`payment_provider_error`).
    """
    gateway = get_gateway()
    order = _order_for_owner(user=user, order_id=order_id)
    _ensure_payable(order)
    amount_minor = order_amount_minor(order)
    currency = order.currency.lower()

    intents = Payment.objects.filter(
        order=order, provider=gateway.name, provider_payment_id__isnull=False, provider_checkout_session_id__isnull=True
    )
    latest = intents.filter(status__in=OPEN_STATUSES).order_by("-created_at", "-id").first()
    if latest is not None:
        try:
            intent = gateway.retrieve_payment_intent(latest.provider_payment_id)
        except GatewayError as exc:
            if not exc.not_found:
                raise provider_error(exc) from exc
            intent = None
        if (
            intent is not None
            and intent.is_usable
            and (intent.amount_minor, intent.currency) == (amount_minor, currency)
        ):
            return IntentAnswer(
                _record_intent(order=order, gateway=gateway, intent=intent), order, gateway.publishable_key
            )
        reason = "canceled at the provider" if intent is not None and not intent.is_usable else "no longer usable"
        _mark_open_payment_failed(payment_id=latest.pk, reason=f"payment intent {reason}")

    attempt = intents.count() + 1
    try:
        intent = gateway.create_payment_intent(
            amount=order.total,
            currency=currency,
            metadata=_order_metadata(order),
            idempotency_key=f"order-{order.pk}-intent-{attempt}",
        )
    except GatewayError as exc:
        raise provider_error(exc) from exc
    payment = _record_intent(order=order, gateway=gateway, intent=intent)
    order.refresh_from_db(fields=["status"])
    if order.status != OrderStatus.PENDING:
        # Cancelled while we talked to the provider; the intent is recorded (a late payment is refunded).
        raise Conflict(f"Order {order.number} is {order.status}.", code=PaymentErrorCode.INVALID_TRANSITION)
    return IntentAnswer(payment, order, gateway.publishable_key)


# --- Checkout sessions ------------------------------------------------------------


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute http(s) URL, or None when it is not one we can trust."""
    if not url or any(ch in url for ch in "\\\t\r\n ") or any(ord(ch) < 32 for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def validate_redirect_url(url: str, *, attr: str) -> str:
    """A success/cancel URL must belong to one of settings.FRONTEND_ALLOWED_ORIGINS (scheme, host
    and port equal). Raises ValidationFailed(`invalid_redirect_url`): no open redirects."""
    origin = _origin(url)
    allowed = {_origin(o.rstrip("/")) for o in settings.FRONTEND_ALLOWED_ORIGINS}
    allowed.discard(None)
    if origin is None or origin not in allowed:
        raise ValidationFailed(
            "The URL must be an absolute http(s) URL on one of the shop's own front-end origins.",
            code=PaymentErrorCode.INVALID_REDIRECT_URL,
            attr=attr,
        )
    return url


def payment_checkout_session_create(*, user, order_id: int, success_url: str, cancel_url: str) -> dict:
    """Returns a hosted checkout session (`{"session_id", "url"}`) for the user's PENDING card order.

    An open session already recorded for the order is returned again; an expired one is replaced.
    The provider's idempotency key is `order-<id>-checkout-<attempt>-<hash of the URLs>`.

    Raises ValidationFailed (`invalid_redirect_url`), and what payment_intent_create raises.
    """
    validate_redirect_url(success_url, attr="success_url")
    validate_redirect_url(cancel_url, attr="cancel_url")
    gateway = get_gateway()
    order = _order_for_owner(user=user, order_id=order_id)
    _ensure_payable(order)
    order_amount_minor(order)

    sessions = Payment.objects.filter(order=order, provider=gateway.name, provider_checkout_session_id__isnull=False)
    latest = sessions.filter(status__in=OPEN_STATUSES).order_by("-created_at", "-id").first()
    if latest is not None:
        try:
            session = gateway.retrieve_checkout_session(latest.provider_checkout_session_id)
        except GatewayError as exc:
            if not exc.not_found:
                raise provider_error(exc) from exc
            session = None
        if session is not None and session.status == "open" and session.url:
            return {"session_id": session.id, "url": session.url}
        _mark_open_payment_failed(payment_id=latest.pk, reason="checkout session expired")

    attempt = sessions.count() + 1
    urls_hash = hashlib.sha256(f"{success_url}\n{cancel_url}".encode()).hexdigest()[:12]
    try:
        session = gateway.create_checkout_session(
            amount=order.total,
            currency=order.currency.lower(),
            description=f"NovaCart order {order.number}",
            success_url=success_url,
            cancel_url=cancel_url,
            metadata=_order_metadata(order),
            customer_email=order.user.email,
            idempotency_key=f"order-{order.pk}-checkout-{attempt}-{urls_hash}",
        )
    except GatewayError as exc:
        raise provider_error(exc) from exc
    with transaction.atomic():
        lock_order(order_id=order.pk)
        Payment.objects.get_or_create(
            provider_checkout_session_id=session.id,
            defaults={
                "order": order,
                "provider": gateway.name,
                "amount_minor": session.amount_minor if session.amount_minor is not None else order_amount_minor(order),
                "currency": session.currency or order.currency.lower(),
                "status": PaymentStatus.REQUIRES_PAYMENT,
            },
        )
    return {"session_id": session.id, "url": session.url}


def payment_checkout_verify(*, user, session_id: str) -> dict:
    """Asks the provider about the user's checkout session and, when it is paid, applies exactly what
    the `checkout.session.completed` webhook applies (the same handler), so the two are idempotent
    with each other. Raises NotFound for an unknown or foreign session."""
    gateway = get_gateway()
    payment = (
        Payment.objects.select_related("order")
        .filter(provider_checkout_session_id=session_id, order__user=user)
        .first()
    )
    if payment is None:
        raise NotFound("Checkout session not found.", code=PaymentErrorCode.NOT_FOUND, attr="session_id")
    try:
        session = gateway.retrieve_checkout_session(session_id)
    except GatewayError as exc:
        if exc.not_found:
            raise NotFound("Checkout session not found.", code=PaymentErrorCode.NOT_FOUND, attr="session_id") from exc
        raise provider_error(exc) from exc
    if session.payment_status in ("paid", "no_payment_required"):
        from .webhooks import handle_checkout_session_completed

        with transaction.atomic():
            handle_checkout_session_completed(session.as_event_object())
    payment.refresh_from_db()
    order = Order.objects.get(pk=payment.order_id)
    return {
        "session_id": session.id,
        "session_status": session.status,
        "payment_status": session.payment_status,
        "order_id": order.pk,
        "order_number": order.number,
        "order_status": order.status,
    }


# --- What provider events do (called by payments.webhooks handlers, inside their transaction) ---


def payment_apply_success(
    *, payment_id: int, amount_minor: int | None, currency: str, provider_payment_id: str | None = None, source: str
) -> str:
    """The provider says this payment succeeded. Returns the outcome recorded on the event.

    - already succeeded (or refunded): nothing changes (duplicate or late events);
    - amount or currency differ from the order: the payment is recorded as taken but flagged
      (`needs_review`, `last_error`), logged, and the order is NOT paid;
    - order PENDING: payment SUCCEEDED, order -> PAID through order_transition (actor SYSTEM);
    - order no longer payable (cancelled on expiry, refunded, or paid by another payment): the
      payment is recorded and refunded automatically after commit, through the gateway.
    """
    order, payment = lock_order_and_payment(payment_id=payment_id)
    if payment.status in PAID_STATUSES:
        return "ignored: payment already succeeded"
    now = timezone.now()
    payment.status = PaymentStatus.SUCCEEDED
    payment.succeeded_at = now
    fields = ["status", "succeeded_at", "updated_at"]
    if provider_payment_id and not payment.provider_payment_id:
        payment.provider_payment_id = provider_payment_id
        fields.append("provider_payment_id")
    expected = to_minor_units(order.total, order.currency)
    got_currency = (currency or "").lower()
    if amount_minor != expected or got_currency != order.currency.lower():
        kind = "currency_mismatch" if got_currency != order.currency.lower() else "amount_mismatch"
        payment.needs_review = True
        payment.last_error = (
            f"{kind}: {source} reported {amount_minor} {got_currency.upper()}, "
            f"order {order.number} is {expected} {order.currency.upper()} (minor units); order not paid"
        )
        payment.save(update_fields=[*fields, "needs_review", "last_error"])
        logger.error("payment %s for order %s: %s", payment.pk, order.number, payment.last_error)
        return kind
    if order.status == OrderStatus.PENDING:
        payment.save(update_fields=fields)
        order_transition(order_id=order.pk, to_status=OrderStatus.PAID, actor=Actor.SYSTEM, note=source[:255])
        return "order_paid"
    payment.needs_review = True
    payment.last_error = f"payment succeeded while order {order.number} was {order.status}; refunding automatically"
    payment.save(update_fields=[*fields, "needs_review", "last_error"])
    logger.warning("payment %s: %s", payment.pk, payment.last_error)
    from .tasks import payment_auto_refund

    enqueue_on_commit(payment_auto_refund, payment.pk)
    return f"auto_refund_queued: order was {order.status}"


def payment_apply_failure(*, payment_id: int, reason: str) -> str:
    """The provider says the attempt failed. A payment that already succeeded is left alone (events
    come out of order); otherwise it is FAILED with the reason, the order stays payable, and the
    customer gets the payment_failed e-mail."""
    order, payment = lock_order_and_payment(payment_id=payment_id)
    if payment.status in PAID_STATUSES:
        return "ignored: payment already succeeded"
    if payment.status == PaymentStatus.FAILED and payment.last_error == reason:
        return "ignored: failure already recorded"
    payment.status = PaymentStatus.FAILED
    payment.last_error = reason[:2000]
    payment.save(update_fields=["status", "last_error", "updated_at"])
    if order.status == OrderStatus.PENDING:
        from orders.tasks import send_order_email

        enqueue_on_commit(send_order_email, order.pk, "payment_failed")
    return "payment_failed"


def payment_refund_complete(*, payment_id: int, refund_id: str = "", note: str = "") -> str:
    """The provider confirmed a full refund: payment REFUNDED, and the order -> REFUNDED through
    order_transition (which restores stock when it had not shipped) when this was the payment that
    paid it. An order that was never paid by it (cancelled, or paid by another payment) keeps its
    status."""
    order, payment = lock_order_and_payment(payment_id=payment_id, with_products=True)
    if payment.status == PaymentStatus.REFUNDED:
        return "ignored: already refunded"
    if payment.status not in CAPTURED_STATUSES:
        payment.needs_review = True
        payment.last_error = f"refund confirmed for a payment we had as {payment.status}"
    payment.status = PaymentStatus.REFUNDED
    payment.refunded_at = timezone.now()
    if refund_id and not payment.provider_refund_id:
        payment.provider_refund_id = refund_id
    payment.save()
    others_captured = Payment.objects.filter(order=order, status__in=CAPTURED_STATUSES).exclude(pk=payment.pk).exists()
    if order.status in REFUNDABLE_ORDER_STATUSES and not others_captured:
        order_transition(order_id=order.pk, to_status=OrderStatus.REFUNDED, actor=Actor.SYSTEM, note=note[:255])
        return "order_refunded"
    return f"payment_refunded: order stays {order.status}"


# --- Refunds ----------------------------------------------------------------------


@dataclass(frozen=True)
class RefundAnswer:
    order_id: int
    order_status: str
    payment_status: str
    refund_id: str
    refund_status: str

    def as_body(self) -> dict:
        return {
            "order_id": self.order_id,
            "order_status": self.order_status,
            "payment_status": self.payment_status,
            "refund_id": self.refund_id,
            "refund_status": self.refund_status,
        }


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
            payment_refund_complete(payment_id=payment.pk, refund_id=refund.id, note=note)
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
    payment = (
        Payment.objects.filter(order=order, status__in=CAPTURED_STATUSES, needs_review=False)
        .order_by("succeeded_at", "id")
        .first()
    ) or Payment.objects.filter(order=order, status__in=CAPTURED_STATUSES).order_by("succeeded_at", "id").first()
    if payment is None:
        already = Payment.objects.filter(order=order, status=PaymentStatus.REFUNDED).exists()
        raise Conflict(
            f"Order {order.number} " + ("was already refunded." if already else "has no succeeded payment to refund."),
            code=PaymentErrorCode.PAYMENT_NOT_REFUNDABLE,
            attr="order_id",
        )
    who = getattr(user, "email", None) or "system"
    return _refund_through_gateway(
        payment=payment, idempotency_key=f"order-{order.pk}-refund", user=user, note=f"refund requested by {who}"
    )


def payment_refund_automatic(*, payment_id: int) -> RefundAnswer | None:
    """Gives back a payment that arrived for an order that could no longer take it (cancelled on
    expiry, or already paid). Idempotent: key `order-<id>-refund-<payment id>`; a payment no longer
    captured is left alone."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or payment.status not in CAPTURED_STATUSES:
        return None
    return _refund_through_gateway(
        payment=payment,
        idempotency_key=f"order-{payment.order_id}-refund-{payment.pk}",
        note="automatic refund: payment arrived after the order could take it",
    )


# --- Development gateway ------------------------------------------------------------


def dummy_gateway_require() -> None:
    """The development gateway's endpoints do not exist unless it is on: NotFound otherwise."""
    if settings.PAYMENT_GATEWAY != "dummy":
        raise NotFound("Not found.", code=PaymentErrorCode.NOT_FOUND)


def dummy_payment_confirm(*, user, order_id: int) -> dict:
    """Development gateway only: confirms the user's payment by feeding a Stripe-shaped success event
    (`payment_intent.succeeded`, or `checkout.session.completed` for a checkout session) through the
    same dispatcher and handlers as a signed Stripe webhook.

    Raises NotFound when the dummy gateway is off (or the order is not the user's), and what
    payment_intent_create raises for an order that cannot be paid.
    """
    dummy_gateway_require()
    order = _order_for_owner(user=user, order_id=order_id)
    _ensure_payable(order)
    payment = (
        Payment.objects.filter(order=order, provider="dummy", status__in=OPEN_STATUSES)
        .order_by("-created_at", "-id")
        .first()
    )
    if payment is None:
        payment = payment_intent_create(user=user, order_id=order_id).payment
    if payment.provider_checkout_session_id:
        from .gateways import dummy_intent_for_session

        event_type = "checkout.session.completed"
        obj = {
            "id": payment.provider_checkout_session_id,
            "object": "checkout.session",
            "status": "complete",
            "payment_status": "paid",
            "amount_total": payment.amount_minor,
            "currency": payment.currency,
            "payment_intent": dummy_intent_for_session(payment.provider_checkout_session_id),
            "metadata": _order_metadata(order),
        }
    else:
        event_type = "payment_intent.succeeded"
        obj = {
            "id": payment.provider_payment_id,
            "object": "payment_intent",
            "status": "succeeded",
            "amount": payment.amount_minor,
            "amount_received": payment.amount_minor,
            "currency": payment.currency,
            "metadata": _order_metadata(order),
        }
    event = {
        "id": f"evt_dummy_{uuid.uuid4().hex}",
        "object": "event",
        "type": event_type,
        "api_version": settings.STRIPE_API_VERSION,
        "created": int(timezone.now().timestamp()),
        "livemode": False,
        "data": {"object": obj},
    }
    from .webhooks import webhook_process_event

    result = webhook_process_event(event=event)
    order.refresh_from_db(fields=["status"])
    return {"order_id": order.pk, "order_status": order.status, "event_id": event["id"], "outcome": result.outcome}
