"""Payment writes: intents, checkout sessions and what provider events do to them (refunds are in
payments.refunds).

The rule that shapes everything here: we never call the provider inside a transaction that holds
row locks. Each write reads what it needs, calls the gateway with an idempotency key derived from
our own ids (so a retry of any step finds the same provider object), then records the answer in a
new short transaction that locks products (when stock may move), order, then payment.

Order statuses change only through orders.services.order_transition.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from novacart.celery import enqueue_on_commit
from novacart.exceptions import Conflict, NotFound, ValidationFailed
from orders.emails import send_order_email
from orders.lock_objects import lock_order
from orders.models import Order, OrderStatus, PaymentMethod
from orders.selectors import order_owner_q
from orders.services import order_transition
from orders.transitions import Actor

from .error_codes import PaymentErrorCode
from .gateways import get_gateway, provider_error
from .lock_objects import lock_order_and_payment
from .models import PAYMENT_CAPTURED_STATUSES, PAYMENT_OPEN_STATUSES, PAYMENT_TAKEN_STATUSES, Payment, PaymentStatus
from .provider_types import (
    GatewayError,
    PaymentGateway,
    ProviderCheckoutSession,
    ProviderIntent,
    SignedCheckoutGateway,
    to_minor_units,
)
from .tasks import payment_auto_refund

logger = logging.getLogger(__name__)


def payment_order_metadata(order: Order) -> dict:
    return {"order_id": str(order.pk), "order_number": order.number}


def payment_order_for_owner(*, user, order_id: int, order_token: str | None = None) -> Order:
    """The requester's order (a guest's: the one their `order_token` opens). Raises NotFound."""
    order = Order.objects.filter(order_owner_q(user=user, order_token=order_token), pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.", code=PaymentErrorCode.NOT_FOUND, attr="order_id")
    return order


def order_amount_minor(order: Order) -> int:
    """The order total in the provider's minor units. Raises Conflict(`amount_not_representable`)."""
    try:
        return to_minor_units(order.total, order.currency)
    except ValueError as exc:
        raise Conflict(str(exc), code=PaymentErrorCode.AMOUNT_NOT_REPRESENTABLE) from exc


def payment_ensure_payable(order: Order) -> None:
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
    if Payment.objects.filter(order=order, status__in=PAYMENT_CAPTURED_STATUSES).exists():
        raise Conflict(
            f"A payment for order {order.number} already went through.",
            code=PaymentErrorCode.ALREADY_PAID,
            attr="order_id",
        )


def _mark_open_payment_failed(*, payment_id: int, reason: str) -> None:
    with transaction.atomic():
        Payment.objects.filter(pk=payment_id, status__in=PAYMENT_OPEN_STATUSES).update(
            status=PaymentStatus.FAILED, last_error=reason[:2000], updated_at=timezone.now()
        )


def _retrieve_unless_gone(retrieve, provider_id: str):
    """What the provider says about an object we recorded, or None when it no longer has it.
    Raises ProviderError / ServiceUnavailable (`payment_provider_error`) for any other failure."""
    try:
        return retrieve(provider_id)
    except GatewayError as exc:
        if not exc.not_found:
            raise provider_error(exc) from exc
        return None


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

    def as_initiate_body(self) -> dict:
        """What the configured gateway's browser side needs to start paying (POST payments/initiate/)."""
        gateway = self.payment.provider
        if gateway == Payment.Provider.STRIPE:
            return {"gateway": gateway, **self.as_body()}
        if gateway == Payment.Provider.RAZORPAY:
            return {
                "gateway": gateway,
                "razorpay_order_id": self.payment.provider_payment_id,
                "amount": self.payment.amount_minor,
                "currency": self.order.currency,
                "key_id": self.publishable_key,
            }
        return {"gateway": gateway}  # the development gateway: confirm with payments/dummy/confirm/


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


def payment_intent_create(*, user, order_id: int, order_token: str | None = None) -> IntentAnswer:
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
    order = payment_order_for_owner(user=user, order_id=order_id, order_token=order_token)
    payment_ensure_payable(order)
    amount_minor = order_amount_minor(order)
    currency = order.currency.lower()

    intents = Payment.objects.filter(
        order=order, provider=gateway.name, provider_payment_id__isnull=False, provider_checkout_session_id__isnull=True
    )
    latest = intents.filter(status__in=PAYMENT_OPEN_STATUSES).order_by("-created_at", "-id").first()
    if latest is not None:
        intent = _retrieve_unless_gone(gateway.retrieve_payment_intent, latest.provider_payment_id)
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
            metadata=payment_order_metadata(order),
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


def payment_initiate(*, user, order_id: int, order_token: str | None = None) -> IntentAnswer:
    """Starts (or resumes) paying the user's PENDING card order with whichever gateway is configured:
    the gateway's payment intent (a Razorpay order for Razorpay), through payment_intent_create, so
    the same order gives the same provider object, also after a lost answer. Raises what
    payment_intent_create raises."""
    return payment_intent_create(user=user, order_id=order_id, order_token=order_token)


# --- Signed browser checkouts (Razorpay) ------------------------------------------------------------


def _signed_checkout_gateway() -> SignedCheckoutGateway:
    gateway = get_gateway()
    if not isinstance(gateway, SignedCheckoutGateway):
        raise NotFound(
            "This server's payment gateway does not verify signed checkouts.",
            code=PaymentErrorCode.NOT_FOUND,
            attr="razorpay_order_id",
        )
    return gateway


def _flag_for_review(*, payment_id: int, reason: str) -> None:
    with transaction.atomic():
        _order, payment = lock_order_and_payment(payment_id=payment_id)
        if payment.status in PAYMENT_TAKEN_STATUSES:
            return
        payment.needs_review = True
        payment.last_error = reason[:2000]
        payment.save(update_fields=["needs_review", "last_error", "updated_at"])
    logger.error("payment %s: %s", payment_id, reason)


def payment_checkout_signed_verify(
    *, user, provider_order_id: str, charge_id: str, signature: str, order_token: str | None = None
) -> Order:
    """The browser's word that it paid (Razorpay Checkout's `razorpay_order_id`, `razorpay_payment_id`,
    `razorpay_signature`), checked and then confirmed with the provider before anything is applied.

    1. the signature must be HMAC-SHA256(key secret, `order_id|payment_id`) (constant-time compare);
    2. the provider order must be one we recorded for an order of this user;
    3. the payment is fetched from the provider and must belong to that provider order;
    4. an `authorized` payment is captured by us for exactly the order's amount while the order is
       PENDING (orders are auto-captured, so this covers Razorpay's capture lag); one whose amount or
       currency differs is not captured, and is flagged `needs_review`;
    5. a captured payment goes through payment_apply_success (what the `payment.captured` webhook
       does, so the two are idempotent with each other): amount and currency must match the order
       (else `needs_review`, the order stays unpaid); a failed one through payment_apply_failure.

    Returns the order as it is afterwards. Raises ValidationFailed(`invalid_signature`), NotFound
    (not this user's, or the gateway is not Razorpay), Conflict(`payment_mismatch`), ProviderError /
    ServiceUnavailable (`payment_provider_error`: nothing changed, retry).
    """
    gateway = _signed_checkout_gateway()
    if not gateway.checkout_signature_is_valid(order_id=provider_order_id, charge_id=charge_id, signature=signature):
        raise ValidationFailed(
            "The checkout signature does not match the order and payment.",
            code=PaymentErrorCode.INVALID_SIGNATURE,
            attr="razorpay_signature",
        )
    payment = Payment.objects.filter(
        order_owner_q(user=user, order_token=order_token, prefix="order__"),
        provider=gateway.name,
        provider_payment_id=provider_order_id,
    ).first()
    if payment is None:
        raise NotFound("Payment not found.", code=PaymentErrorCode.NOT_FOUND, attr="razorpay_order_id")
    order = Order.objects.get(pk=payment.order_id)
    try:
        charge = gateway.retrieve_charge(charge_id)
    except GatewayError as exc:
        if exc.not_found:
            raise NotFound("Payment not found.", code=PaymentErrorCode.NOT_FOUND, attr="razorpay_payment_id") from exc
        raise provider_error(exc) from exc
    if charge.order_id != provider_order_id:
        raise Conflict(
            "The provider's payment belongs to another order.",
            code=PaymentErrorCode.PAYMENT_MISMATCH,
            attr="razorpay_payment_id",
        )
    source = f"{gateway.name} payment {charge.id} (order {provider_order_id})"
    matches = (charge.amount_minor, charge.currency) == (order_amount_minor(order), order.currency.lower())
    if charge.status == "authorized":
        if not matches:
            _flag_for_review(
                payment_id=payment.pk,
                reason=f"amount_mismatch: {source} authorised {charge.amount_minor} {charge.currency.upper()}, "
                f"order {order.number} is {order_amount_minor(order)} {order.currency.upper()}; not captured",
            )
        elif order.status == OrderStatus.PENDING:
            try:
                charge = gateway.capture_charge(charge_id=charge.id, amount=order.total, currency=order.currency)
            except GatewayError as exc:
                raise provider_error(exc) from exc
    if charge.is_captured:
        with transaction.atomic():
            payment_apply_success(
                payment_id=payment.pk, amount_minor=charge.amount_minor, currency=charge.currency, source=source
            )
    elif charge.status == "failed":
        with transaction.atomic():
            payment_apply_failure(payment_id=payment.pk, reason=charge.last_error or "payment failed")
    order.refresh_from_db()
    return order


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


def payment_checkout_session_create(
    *, user, order_id: int, success_url: str, cancel_url: str, order_token: str | None = None
) -> dict:
    """Returns a hosted checkout session (`{"session_id", "url"}`) for the user's PENDING card order.

    An open session already recorded for the order is returned again; an expired one is replaced.
    The provider's idempotency key is `order-<id>-checkout-<attempt>-<hash of the URLs>`.

    Raises ValidationFailed (`invalid_redirect_url`), and what payment_intent_create raises.
    """
    validate_redirect_url(success_url, attr="success_url")
    validate_redirect_url(cancel_url, attr="cancel_url")
    gateway = get_gateway()
    if isinstance(gateway, SignedCheckoutGateway):
        # Razorpay's checkout opens in the page from the order that payments/initiate/ creates.
        raise NotFound(
            "This server's payment gateway has no hosted checkout sessions; use POST /api/payments/initiate/.",
            code=PaymentErrorCode.NOT_FOUND,
        )
    order = payment_order_for_owner(user=user, order_id=order_id, order_token=order_token)
    payment_ensure_payable(order)
    order_amount_minor(order)

    sessions = Payment.objects.filter(order=order, provider=gateway.name, provider_checkout_session_id__isnull=False)
    latest = sessions.filter(status__in=PAYMENT_OPEN_STATUSES).order_by("-created_at", "-id").first()
    if latest is not None:
        session = _retrieve_unless_gone(gateway.retrieve_checkout_session, latest.provider_checkout_session_id)
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
            metadata=payment_order_metadata(order),
            customer_email=order.customer_email,
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


def payment_checkout_verify(*, user, session_id: str, order_token: str | None = None) -> dict:
    """Asks the provider about the user's checkout session and, when it is paid, applies exactly what
    the `checkout.session.completed` webhook applies (payment_checkout_completed), so the two are
    idempotent with each other. Raises NotFound for an unknown or foreign session."""
    gateway = get_gateway()
    payment = (
        Payment.objects.select_related("order")
        .filter(order_owner_q(user=user, order_token=order_token, prefix="order__"))
        .filter(provider_checkout_session_id=session_id)
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
    if session.is_paid:
        with transaction.atomic():
            payment_checkout_completed(session=session)
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


# --- What provider events do (payments.webhooks dispatches to these, inside its transaction) ---


def _payment_by_intent(intent_id: str) -> Payment | None:
    return Payment.objects.filter(provider_payment_id=intent_id).first() if intent_id else None


def payment_intent_succeeded(*, intent: ProviderIntent) -> str:
    """The provider took the money of a payment intent: payment_apply_success with what it took."""
    payment = _payment_by_intent(intent.id)
    if payment is None:
        logger.warning("payment_intent.succeeded for unknown intent %r", intent.id)
        return "ignored: unknown payment intent"
    return payment_apply_success(
        payment_id=payment.pk,
        amount_minor=intent.taken_minor,
        currency=intent.currency,
        source=f"{payment.provider} payment intent {payment.provider_payment_id}",
    )


def payment_intent_failed(*, intent: ProviderIntent) -> str:
    payment = _payment_by_intent(intent.id)
    if payment is None:
        logger.warning("payment_intent.payment_failed for unknown intent %r", intent.id)
        return "ignored: unknown payment intent"
    return payment_apply_failure(payment_id=payment.pk, reason=intent.last_error or "payment failed")


def payment_intent_canceled(*, intent: ProviderIntent) -> str:
    payment = _payment_by_intent(intent.id)
    if payment is None:
        return "ignored: unknown payment intent"
    reason = f"payment intent canceled ({intent.cancellation_reason or 'no reason given'})"
    return payment_apply_failure(payment_id=payment.pk, reason=reason)


def _payment_for_session(session: ProviderCheckoutSession) -> Payment | None:
    """By session id; failing that, by metadata.order_id (a session we created but did not get to
    record): the event is signed, so the order it names is recorded as paid through this session."""
    if not session.id:
        return None
    payment = Payment.objects.filter(provider_checkout_session_id=session.id).first()
    if payment is not None:
        return payment
    raw_order_id = str(session.metadata.get("order_id") or "")
    if not raw_order_id.isdigit() or session.amount_minor is None:
        return None
    order = Order.objects.filter(pk=int(raw_order_id), payment_method=PaymentMethod.CARD).first()
    if order is None:
        return None
    payment, _ = Payment.objects.get_or_create(
        provider_checkout_session_id=session.id,
        defaults={
            "order": order,
            "provider": settings.PAYMENT_GATEWAY or Payment.Provider.STRIPE,
            "amount_minor": session.amount_minor,
            "currency": session.currency[:3],
        },
    )
    return payment


def payment_checkout_completed(*, session: ProviderCheckoutSession) -> str:
    """A checkout session was paid (the webhook, or verify asking the provider): payment_apply_success
    for the session's payment, recording the payment intent it produced."""
    payment = _payment_for_session(session)
    if payment is None:
        logger.warning("checkout session event for unknown session %r", session.id)
        return "ignored: unknown checkout session"
    if not session.is_paid:
        return f"ignored: session payment_status {session.payment_status!r}"
    payment_intent = session.payment_intent_id
    if payment_intent and Payment.objects.filter(provider_payment_id=payment_intent).exclude(pk=payment.pk).exists():
        payment_intent = None
    return payment_apply_success(
        payment_id=payment.pk,
        amount_minor=session.amount_minor,
        currency=session.currency,
        provider_payment_id=payment_intent,
        source=f"{payment.provider} checkout session {session.id}",
    )


def _payment_by_session(session: ProviderCheckoutSession) -> Payment | None:
    return Payment.objects.filter(provider_checkout_session_id=session.id).first() if session.id else None


def payment_checkout_failed(*, session: ProviderCheckoutSession) -> str:
    payment = _payment_by_session(session)
    if payment is None:
        return "ignored: unknown checkout session"
    return payment_apply_failure(payment_id=payment.pk, reason="checkout session payment failed")


def payment_checkout_expired(*, session: ProviderCheckoutSession) -> str:
    """The session's page expired unpaid: its payment is FAILED (the order stays payable)."""
    payment = _payment_by_session(session)
    if payment is None:
        return "ignored: unknown checkout session"
    _order, locked = lock_order_and_payment(payment_id=payment.pk)
    if locked.status not in PAYMENT_OPEN_STATUSES:
        return "ignored: payment not open"
    locked.status = PaymentStatus.FAILED
    locked.last_error = "checkout session expired"
    locked.save(update_fields=["status", "last_error", "updated_at"])
    return "session_expired"


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
    if payment.status in PAYMENT_TAKEN_STATUSES:
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
    enqueue_on_commit(payment_auto_refund, payment.pk)
    return f"auto_refund_queued: order was {order.status}"


def payment_apply_failure(*, payment_id: int, reason: str) -> str:
    """The provider says the attempt failed. A payment that already succeeded is left alone (events
    come out of order); otherwise it is FAILED with the reason, the order stays payable, and the
    customer gets the payment_failed e-mail."""
    order, payment = lock_order_and_payment(payment_id=payment_id)
    if payment.status in PAYMENT_TAKEN_STATUSES:
        return "ignored: payment already succeeded"
    if payment.status == PaymentStatus.FAILED and payment.last_error == reason:
        return "ignored: failure already recorded"
    payment.status = PaymentStatus.FAILED
    payment.last_error = reason[:2000]
    payment.save(update_fields=["status", "last_error", "updated_at"])
    if order.status == OrderStatus.PENDING:
        enqueue_on_commit(send_order_email, order.pk, "payment_failed")
    return "payment_failed"
