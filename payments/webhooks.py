"""Provider events: verify, record once, dispatch to services.

1. The signature is checked on the raw body by the provider's module, chosen by the signature
   header it carries (payments.gateways.WEBHOOK_PARSERS), which returns a ProviderEvent.
2. The event id is inserted into WebhookEvent (unique) in the same transaction as the handler's
   work. A concurrent delivery of the same event waits on that row and then sees it processed;
   a sequential duplicate finds it processed. Both answer 200 and change nothing.
3. The service is looked up in HANDLERS by the event's provider-neutral kind. Events of other
   types are recorded and answered 200.
4. A handler that raises rolls everything back; the event is recorded as NOT processed (with the
   error) in a separate transaction and the endpoint answers 500, so the provider delivers it again.

The development gateway's confirm endpoint feeds its own success event through the same pipeline.
This module calls services; services never call it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from novacart.exceptions import NotFound, ServiceError, ServiceUnavailable, ValidationFailed

from . import refunds, services
from .dummy_gateway import DummyGateway
from .error_codes import PaymentErrorCode
from .gateways import WEBHOOK_PARSERS, gateway_is_configured
from .lock_objects import lock_webhook_event
from .models import PAYMENT_OPEN_STATUSES, Payment, WebhookEvent
from .provider_types import EventKind, ProviderEvent, WebhookPayloadError, WebhookSignatureError

logger = logging.getLogger(__name__)


class WebhookProcessingFailed(ServiceError):
    """A handler failed; the event stays unprocessed and the provider retries it (500)."""

    status_code = 500
    default_code = PaymentErrorCode.WEBHOOK_PROCESSING_FAILED


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    duplicate: bool
    outcome: str


# What each kind of event does: a service taking the event's typed subject, returning the outcome.
HANDLERS: dict[EventKind, Callable[[object], str]] = {
    EventKind.PAYMENT_SUCCEEDED: lambda intent: services.payment_intent_succeeded(intent=intent),
    EventKind.PAYMENT_FAILED: lambda intent: services.payment_intent_failed(intent=intent),
    EventKind.PAYMENT_CANCELED: lambda intent: services.payment_intent_canceled(intent=intent),
    EventKind.CHECKOUT_COMPLETED: lambda session: services.payment_checkout_completed(session=session),
    EventKind.CHECKOUT_FAILED: lambda session: services.payment_checkout_failed(session=session),
    EventKind.CHECKOUT_EXPIRED: lambda session: services.payment_checkout_expired(session=session),
    EventKind.CHARGE_REFUNDED: lambda refund: refunds.payment_charge_refunded(refund=refund),
    EventKind.REFUND_UPDATED: lambda refund: refunds.refund_provider_update(refund=refund),
}


def _claim(*, event: ProviderEvent) -> tuple[WebhookEvent, bool]:
    """Inserts the event row, or locks the existing one. Inside the processing transaction."""
    try:
        with transaction.atomic():
            row = WebhookEvent.objects.create(
                provider=event.provider, event_id=event.id, type=event.type, payload=event.payload
            )
            return row, True
    except IntegrityError:
        # Another delivery inserted it: wait for its transaction (row lock), then look.
        return lock_webhook_event(event_id=event.id), False


def _record_failure(*, event: ProviderEvent, error: BaseException) -> None:
    outcome = f"failed: {type(error).__name__}: {error}"[:255]
    try:
        with transaction.atomic():
            row, created = WebhookEvent.objects.get_or_create(
                event_id=event.id,
                defaults={"provider": event.provider, "type": event.type, "payload": event.payload, "outcome": outcome},
            )
            if not created and row.processed_at is None:
                WebhookEvent.objects.filter(pk=row.pk).update(outcome=outcome)
    except DatabaseError:
        logger.exception("could not record the failure of webhook event %s", event.id)


def webhook_process_event(*, event: ProviderEvent) -> WebhookResult:
    """Processes one (already verified) event exactly once; see the module docstring.

    Raises WebhookProcessingFailed (500) when its handler failed (nothing it did is kept).
    """
    try:
        with transaction.atomic():
            row, fresh = _claim(event=event)
            if not fresh and row.processed_at is not None:
                logger.info("webhook event %s (%s) already processed", event.id, event.type)
                return WebhookResult(event.id, True, row.outcome)
            handler = HANDLERS.get(event.kind) if event.kind else None
            outcome = handler(event.subject) if handler else "ignored: unhandled event type"
            row.processed_at = timezone.now()
            row.outcome = outcome[:255]
            row.save(update_fields=["processed_at", "outcome"])
    except Exception as exc:
        logger.exception("webhook event %s (%s) failed; the provider will retry it", event.id, event.type)
        _record_failure(event=event, error=exc)
        raise WebhookProcessingFailed(
            "The event could not be processed; it will be retried.",
            code=PaymentErrorCode.WEBHOOK_PROCESSING_FAILED,
        ) from exc
    logger.info("webhook event %s (%s): %s", event.id, event.type, outcome)
    return WebhookResult(event.id, False, outcome)


def webhook_receive(*, payload: bytes, headers) -> WebhookResult:
    """The webhook endpoint's service. The provider is the one whose signature header the request
    carries (Stripe's when none does). 503 `payment_not_configured` without a gateway or that
    provider's webhook secret; 400 `invalid_signature` (missing, wrong, stale) or `invalid_payload`
    (not an event), with nothing recorded; otherwise webhook_process_event."""
    header = next((name for name in WEBHOOK_PARSERS if headers.get(name) is not None), "Stripe-Signature")
    _provider, secret_setting, parse = WEBHOOK_PARSERS[header]
    if not gateway_is_configured() or not getattr(settings, secret_setting):
        raise ServiceUnavailable(
            f"Payment webhooks are not configured on this server (set {secret_setting}).",
            code=PaymentErrorCode.PAYMENT_NOT_CONFIGURED,
        )
    try:
        event = parse(payload, headers)
    except WebhookSignatureError as exc:
        logger.warning("webhook signature rejected: %s", exc)
        raise ValidationFailed(
            f"The {header} header is missing or does not match the body.",
            code=PaymentErrorCode.INVALID_SIGNATURE,
            attr=header,
        ) from exc
    except WebhookPayloadError as exc:
        logger.warning("webhook payload rejected: %s", exc)
        raise ValidationFailed(exc.detail, code=PaymentErrorCode.INVALID_PAYLOAD, attr=exc.attr) from exc
    return webhook_process_event(event=event)


# --- The development gateway ----------------------------------------------------------------------


def dummy_gateway_require() -> None:
    """The development gateway's endpoints do not exist unless it is on: NotFound otherwise."""
    if DummyGateway.name != settings.PAYMENT_GATEWAY:
        raise NotFound("Not found.", code=PaymentErrorCode.NOT_FOUND)


def dummy_payment_confirm(*, user, order_id: int, order_token: str | None = None) -> dict:
    """Development gateway only: confirms the user's payment by feeding the success event a provider
    would send (a succeeded payment intent, or a completed checkout session for a session payment)
    through the same pipeline and services as a signed webhook.

    Raises NotFound when the dummy gateway is off (or the order is not the user's), and what
    payment_intent_create raises for an order that cannot be paid.
    """
    dummy_gateway_require()
    order = services.payment_order_for_owner(user=user, order_id=order_id, order_token=order_token)
    services.payment_ensure_payable(order)
    payment = (
        Payment.objects.filter(order=order, provider=DummyGateway.name, status__in=PAYMENT_OPEN_STATUSES)
        .order_by("-created_at", "-id")
        .first()
    )
    if payment is None:
        payment = services.payment_intent_create(user=user, order_id=order_id, order_token=order_token).payment
    event = DummyGateway().success_event(payment=payment, metadata=services.payment_order_metadata(order))
    result = webhook_process_event(event=event)
    order.refresh_from_db(fields=["status"])
    return {"order_id": order.pk, "order_status": order.status, "event_id": event.id, "outcome": result.outcome}
