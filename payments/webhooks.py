"""Stripe webhooks: verify, record once, dispatch by type.

1. The signature is checked on the raw body (payments.stripe_client, the SDK's verification).
2. The event id is inserted into WebhookEvent (unique) in the same transaction as the handler's
   work. A concurrent delivery of the same event waits on that row and then sees it processed;
   a sequential duplicate finds it processed. Both answer 200 and change nothing.
3. The handler is looked up in HANDLERS. Unknown types are recorded and answered 200.
4. A handler that raises rolls everything back; the event is recorded as NOT processed (with the
   error) in a separate transaction and the endpoint answers 500, so Stripe delivers it again.

Handlers read plain dicts shaped like Stripe's objects: the development gateway's confirm endpoint
and the checkout verify fallback feed the same handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from novacart.exceptions import ServiceUnavailable, ValidationFailed
from orders.models import Order, PaymentMethod

from . import services
from .error_codes import PaymentErrorCode
from .gateways import gateway_is_configured
from .lock_objects import lock_order_and_payment, lock_webhook_event
from .models import Payment, PaymentStatus, WebhookEvent
from .stripe_client import WebhookPayloadError, WebhookSignatureError, construct_webhook_event

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    duplicate: bool
    outcome: str


def _payment_by_intent(intent_id) -> Payment | None:
    if not isinstance(intent_id, str) or not intent_id:
        return None
    return Payment.objects.filter(provider_payment_id=intent_id).first()


def _int_or_none(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return None


# --- Handlers: each takes the event's data.object and returns the outcome to record ------------


def handle_payment_intent_succeeded(obj: dict) -> str:
    payment = _payment_by_intent(obj.get("id"))
    if payment is None:
        logger.warning("payment_intent.succeeded for unknown intent %r", obj.get("id"))
        return "ignored: unknown payment intent"
    amount = _int_or_none(obj.get("amount_received"))
    if amount is None:
        amount = _int_or_none(obj.get("amount"))
    return services.payment_apply_success(
        payment_id=payment.pk,
        amount_minor=amount,
        currency=str(obj.get("currency") or ""),
        source=f"{payment.provider} payment intent {payment.provider_payment_id}",
    )


def handle_payment_intent_failed(obj: dict) -> str:
    payment = _payment_by_intent(obj.get("id"))
    if payment is None:
        logger.warning("payment_intent.payment_failed for unknown intent %r", obj.get("id"))
        return "ignored: unknown payment intent"
    error = obj.get("last_payment_error") or {}
    if not isinstance(error, dict):
        error = {}
    reason = str(error.get("message") or error.get("decline_code") or error.get("code") or "payment failed")
    return services.payment_apply_failure(payment_id=payment.pk, reason=reason)


def handle_payment_intent_canceled(obj: dict) -> str:
    payment = _payment_by_intent(obj.get("id"))
    if payment is None:
        return "ignored: unknown payment intent"
    reason = f"payment intent canceled ({obj.get('cancellation_reason') or 'no reason given'})"
    return services.payment_apply_failure(payment_id=payment.pk, reason=reason)


def _payment_for_session(obj: dict) -> Payment | None:
    """By session id; failing that, by metadata.order_id (a session we created but did not get to
    record): the event is signed, so the order it names is recorded as paid through this session."""
    session_id = obj.get("id")
    if not isinstance(session_id, str) or not session_id:
        return None
    payment = Payment.objects.filter(provider_checkout_session_id=session_id).first()
    if payment is not None:
        return payment
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    raw_order_id = str(metadata.get("order_id") or "")
    amount = _int_or_none(obj.get("amount_total"))
    if not raw_order_id.isdigit() or amount is None:
        return None
    order = Order.objects.filter(pk=int(raw_order_id), payment_method=PaymentMethod.CARD).first()
    if order is None:
        return None
    payment, _ = Payment.objects.get_or_create(
        provider_checkout_session_id=session_id,
        defaults={
            "order": order,
            "provider": settings.PAYMENT_GATEWAY or Payment.Provider.STRIPE,
            "amount_minor": amount,
            "currency": str(obj.get("currency") or "").lower()[:3],
        },
    )
    return payment


def handle_checkout_session_completed(obj: dict) -> str:
    payment = _payment_for_session(obj)
    if payment is None:
        logger.warning("checkout session event for unknown session %r", obj.get("id"))
        return "ignored: unknown checkout session"
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        return f"ignored: session payment_status {obj.get('payment_status')!r}"
    payment_intent = obj.get("payment_intent")
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id")
    if isinstance(payment_intent, str) and payment_intent:
        clash = Payment.objects.filter(provider_payment_id=payment_intent).exclude(pk=payment.pk).exists()
        if clash:
            payment_intent = None
    else:
        payment_intent = None
    return services.payment_apply_success(
        payment_id=payment.pk,
        amount_minor=_int_or_none(obj.get("amount_total")),
        currency=str(obj.get("currency") or ""),
        provider_payment_id=payment_intent,
        source=f"{payment.provider} checkout session {obj.get('id')}",
    )


def handle_checkout_session_failed(obj: dict) -> str:
    session_id = obj.get("id")
    payment = Payment.objects.filter(provider_checkout_session_id=session_id).first() if session_id else None
    if payment is None:
        return "ignored: unknown checkout session"
    return services.payment_apply_failure(payment_id=payment.pk, reason="checkout session payment failed")


def handle_checkout_session_expired(obj: dict) -> str:
    session_id = obj.get("id")
    payment = Payment.objects.filter(provider_checkout_session_id=session_id).first() if session_id else None
    if payment is None:
        return "ignored: unknown checkout session"
    with transaction.atomic():
        _order, locked = lock_order_and_payment(payment_id=payment.pk)
        if locked.status not in services.OPEN_STATUSES:
            return "ignored: payment not open"
        locked.status = PaymentStatus.FAILED
        locked.last_error = "checkout session expired"
        locked.save(update_fields=["status", "last_error", "updated_at"])
    return "session_expired"


def handle_charge_refunded(obj: dict) -> str:
    payment = _payment_by_intent(obj.get("payment_intent"))
    if payment is None:
        logger.warning("charge.refunded for unknown payment intent %r", obj.get("payment_intent"))
        return "ignored: unknown payment intent"
    if obj.get("refunded") is not True:
        # A partial refund (made in the Stripe dashboard): the order is not fully refunded.
        with transaction.atomic():
            _order, locked = lock_order_and_payment(payment_id=payment.pk)
            locked.needs_review = True
            locked.last_error = f"partial refund at the provider: {obj.get('amount_refunded')} of {obj.get('amount')}"
            locked.save(update_fields=["needs_review", "last_error", "updated_at"])
        return "partial_refund_recorded"
    refunds = (obj.get("refunds") or {}).get("data") if isinstance(obj.get("refunds"), dict) else None
    refund_id = ""
    if isinstance(refunds, list) and refunds and isinstance(refunds[0], dict):
        refund_id = str(refunds[0].get("id") or "")
    return services.payment_refund_complete(
        payment_id=payment.pk, refund_id=refund_id, note=f"refund confirmed by provider (charge {obj.get('id')})"
    )


HANDLERS: dict[str, Callable[[dict], str]] = {
    "payment_intent.succeeded": handle_payment_intent_succeeded,
    "payment_intent.payment_failed": handle_payment_intent_failed,
    "payment_intent.canceled": handle_payment_intent_canceled,
    "checkout.session.completed": handle_checkout_session_completed,
    "checkout.session.async_payment_succeeded": handle_checkout_session_completed,
    "checkout.session.async_payment_failed": handle_checkout_session_failed,
    "checkout.session.expired": handle_checkout_session_expired,
    "charge.refunded": handle_charge_refunded,
}


# --- Receiving and processing --------------------------------------------------------------------


def _validated(event) -> tuple[str, str, dict]:
    if not isinstance(event, dict):
        raise ValidationFailed("The event is not a JSON object.", code=PaymentErrorCode.INVALID_PAYLOAD)
    event_id, event_type = event.get("id"), event.get("type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise ValidationFailed("The event has no valid id.", code=PaymentErrorCode.INVALID_PAYLOAD, attr="id")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        raise ValidationFailed("The event has no valid type.", code=PaymentErrorCode.INVALID_PAYLOAD, attr="type")
    if not isinstance(obj, dict):
        raise ValidationFailed("The event has no data.object.", code=PaymentErrorCode.INVALID_PAYLOAD, attr="data")
    return event_id, event_type, obj


def _claim(*, event_id: str, event_type: str, event: dict) -> tuple[WebhookEvent, bool]:
    """Inserts the event row, or locks the existing one. Inside the processing transaction."""
    try:
        with transaction.atomic():
            return WebhookEvent.objects.create(event_id=event_id, type=event_type, payload=event), True
    except IntegrityError:
        # Another delivery inserted it: wait for its transaction (row lock), then look.
        return lock_webhook_event(event_id=event_id), False


def _record_failure(*, event_id: str, event_type: str, event: dict, error: BaseException) -> None:
    outcome = f"failed: {type(error).__name__}: {error}"[:255]
    try:
        with transaction.atomic():
            row, created = WebhookEvent.objects.get_or_create(
                event_id=event_id, defaults={"type": event_type, "payload": event, "outcome": outcome}
            )
            if not created and row.processed_at is None:
                WebhookEvent.objects.filter(pk=row.pk).update(outcome=outcome)
    except DatabaseError:
        logger.exception("could not record the failure of webhook event %s", event_id)


def webhook_process_event(*, event) -> WebhookResult:
    """Processes one (already verified) event exactly once; see the module docstring.

    Raises ValidationFailed(`invalid_payload`) for an event without id, type or data.object, and
    WebhookProcessingFailed (500) when its handler failed (nothing it did is kept).
    """
    event_id, event_type, obj = _validated(event)
    try:
        with transaction.atomic():
            row, fresh = _claim(event_id=event_id, event_type=event_type, event=event)
            if not fresh and row.processed_at is not None:
                logger.info("webhook event %s (%s) already processed", event_id, event_type)
                return WebhookResult(event_id, True, row.outcome)
            handler = HANDLERS.get(event_type)
            outcome = handler(obj) if handler else "ignored: unhandled event type"
            row.processed_at = timezone.now()
            row.outcome = outcome[:255]
            row.save(update_fields=["processed_at", "outcome"])
    except Exception as exc:
        logger.exception("webhook event %s (%s) failed; the provider will retry it", event_id, event_type)
        _record_failure(event_id=event_id, event_type=event_type, event=event, error=exc)
        raise services.WebhookProcessingFailed(
            "The event could not be processed; it will be retried.",
            code=PaymentErrorCode.WEBHOOK_PROCESSING_FAILED,
        ) from exc
    logger.info("webhook event %s (%s): %s", event_id, event_type, outcome)
    return WebhookResult(event_id, False, outcome)


def webhook_receive(*, payload: bytes, signature: str | None) -> WebhookResult:
    """The webhook endpoint's service: 503 `payment_not_configured` without a gateway or webhook
    secret; 400 `invalid_signature` (missing, wrong, stale) or `invalid_payload` (not an event),
    with nothing recorded; otherwise webhook_process_event."""
    if not gateway_is_configured() or not settings.STRIPE_WEBHOOK_SECRET:
        raise ServiceUnavailable(
            "Payment webhooks are not configured on this server (set STRIPE_WEBHOOK_SECRET).",
            code=PaymentErrorCode.PAYMENT_NOT_CONFIGURED,
        )
    try:
        event = construct_webhook_event(payload, signature)
    except WebhookSignatureError as exc:
        logger.warning("webhook signature rejected: %s", exc)
        raise ValidationFailed(
            "The Stripe-Signature header is missing or does not match the body.",
            code=PaymentErrorCode.INVALID_SIGNATURE,
            attr="Stripe-Signature",
        ) from exc
    except WebhookPayloadError as exc:
        logger.warning("webhook payload rejected: %s", exc)
        raise ValidationFailed("The body is not a Stripe event.", code=PaymentErrorCode.INVALID_PAYLOAD) from exc
    return webhook_process_event(event=event)
