"""Stripe: the only module that imports `stripe` (stripe-python 16).

It turns Stripe's raw data (API answers and webhook events alike) into the provider-neutral types
of `payments.provider_types`, once, in the `*_from_stripe` parsers below. Every POST carries an
idempotency key derived from our own ids (passed in by the caller), so the SDK's own retries and our
clients' retries reuse it and Stripe never creates a second object.
"""

from __future__ import annotations

import logging

import stripe
from django.conf import settings

from novacart.parsers import load_json

from .provider_types import (
    ClientsByConfig,
    EventKind,
    GatewayError,
    ProviderChargeRefund,
    ProviderCheckoutSession,
    ProviderEvent,
    ProviderIntent,
    ProviderRefund,
    WebhookPayloadError,
    WebhookSignatureError,
    to_minor_units,
)
from .provider_types import json_dict as _dict
from .provider_types import json_int_or_none as _int_or_none
from .provider_types import json_str as _str

logger = logging.getLogger(__name__)

# --- Parsing: Stripe's JSON -> our types (lenient: a webhook body is signed, not well-formed) -----


def _plain(obj) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else _dict(obj)


def intent_from_stripe(obj) -> ProviderIntent:
    obj = _plain(obj)
    error = _dict(obj.get("last_payment_error"))
    return ProviderIntent(
        id=_str(obj.get("id")),
        client_secret=_str(obj.get("client_secret")),
        status=_str(obj.get("status")),
        amount_minor=_int_or_none(obj.get("amount")),
        currency=_str(obj.get("currency")).lower(),
        metadata=dict(_dict(obj.get("metadata"))),
        amount_received_minor=_int_or_none(obj.get("amount_received")),
        last_error=str(error.get("message") or error.get("decline_code") or error.get("code") or ""),
        cancellation_reason=str(obj.get("cancellation_reason") or ""),
    )


def session_from_stripe(obj) -> ProviderCheckoutSession:
    obj = _plain(obj)
    payment_intent = obj.get("payment_intent")
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id")  # expanded
    return ProviderCheckoutSession(
        id=_str(obj.get("id")),
        url=obj.get("url") if isinstance(obj.get("url"), str) else None,
        status=_str(obj.get("status")),
        payment_status=_str(obj.get("payment_status")),
        amount_minor=_int_or_none(obj.get("amount_total")),
        currency=_str(obj.get("currency")).lower(),
        payment_intent_id=payment_intent if isinstance(payment_intent, str) and payment_intent else None,
        metadata=dict(_dict(obj.get("metadata"))),
    )


def refund_from_stripe(obj, *, payment_intent_id: str = "") -> ProviderRefund:
    obj = _plain(obj)
    return ProviderRefund(
        id=_str(obj.get("id")),
        status=_str(obj.get("status")),
        payment_intent_id=_str(obj.get("payment_intent")) or payment_intent_id,
        amount_minor=_int_or_none(obj.get("amount")) or 0,
        currency=_str(obj.get("currency")).lower(),
        metadata=dict(_dict(obj.get("metadata"))),
        failure_reason=_str(obj.get("failure_reason")),
    )


def charge_refund_from_stripe(obj) -> ProviderChargeRefund:
    obj = _plain(obj)
    refunds = _dict(obj.get("refunds")).get("data")
    refunds = [r for r in refunds if isinstance(r, dict)] if isinstance(refunds, list) else []
    first = refunds[0] if refunds else {}
    payment_intent_id = _str(obj.get("payment_intent"))
    return ProviderChargeRefund(
        charge_id=_str(obj.get("id")),
        payment_intent_id=_str(obj.get("payment_intent")),
        is_full=obj.get("refunded") is True,
        amount_minor=_int_or_none(obj.get("amount")),
        amount_refunded_minor=_int_or_none(obj.get("amount_refunded")),
        refund_id=str(first.get("id") or ""),
        refunds=tuple(refund_from_stripe(r, payment_intent_id=payment_intent_id) for r in refunds),
    )


# Stripe's event types we act on: what each means, and how its data.object is read.
EVENT_KINDS: dict[str, tuple[EventKind, object]] = {
    "payment_intent.succeeded": (EventKind.PAYMENT_SUCCEEDED, intent_from_stripe),
    "payment_intent.payment_failed": (EventKind.PAYMENT_FAILED, intent_from_stripe),
    "payment_intent.canceled": (EventKind.PAYMENT_CANCELED, intent_from_stripe),
    "checkout.session.completed": (EventKind.CHECKOUT_COMPLETED, session_from_stripe),
    "checkout.session.async_payment_succeeded": (EventKind.CHECKOUT_COMPLETED, session_from_stripe),
    "checkout.session.async_payment_failed": (EventKind.CHECKOUT_FAILED, session_from_stripe),
    "checkout.session.expired": (EventKind.CHECKOUT_EXPIRED, session_from_stripe),
    "charge.refunded": (EventKind.CHARGE_REFUNDED, charge_refund_from_stripe),
    "refund.updated": (EventKind.REFUND_UPDATED, refund_from_stripe),
    "refund.failed": (EventKind.REFUND_UPDATED, refund_from_stripe),
}


def event_from_stripe(event) -> ProviderEvent:
    """A Stripe event (the JSON Stripe sent) as a ProviderEvent. Raises WebhookPayloadError for a
    body without an id, a type or a data.object."""
    if not isinstance(event, dict):
        raise WebhookPayloadError("the event is not a JSON object", detail="The event is not a JSON object.")
    event_id, event_type = event.get("id"), event.get("type")
    obj = _dict(event.get("data")).get("object")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise WebhookPayloadError("no valid id", detail="The event has no valid id.", attr="id")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        raise WebhookPayloadError("no valid type", detail="The event has no valid type.", attr="type")
    if not isinstance(obj, dict):
        raise WebhookPayloadError("no data.object", detail="The event has no data.object.", attr="data")
    kind, parse = EVENT_KINDS.get(event_type, (None, None))
    return ProviderEvent(
        provider="stripe",
        id=event_id,
        type=event_type,
        kind=kind,
        subject=parse(obj) if parse else None,
        payload=event,
    )


# --- Webhooks -----------------------------------------------------------------

NOT_AN_EVENT = "The body is not a Stripe event."


def parse_webhook(payload: bytes, sig_header: str | None) -> ProviderEvent:
    """Verifies `Stripe-Signature` over the raw body with STRIPE_WEBHOOK_SECRET and returns the event.

    Verification is the SDK's (`stripe.WebhookSignature.verify_header`, tolerance from settings); the
    body is then parsed once, by novacart.parsers.load_json (bounded nesting: a deeply nested body,
    signed or not, is refused instead of running Python's json module out of stack).
    Raises WebhookSignatureError, WebhookPayloadError.
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookPayloadError(f"{type(exc).__name__}: {exc}", detail=NOT_AN_EVENT) from exc
    try:
        stripe.WebhookSignature.verify_header(
            text, sig_header, settings.STRIPE_WEBHOOK_SECRET, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureError(str(exc)) from exc
    try:
        event = load_json(text)
    except ValueError as exc:  # json.JSONDecodeError, JSONRefused
        raise WebhookPayloadError(f"{type(exc).__name__}: {exc}", detail=NOT_AN_EVENT) from exc
    if not isinstance(event, dict):
        raise WebhookPayloadError("the event is not a JSON object", detail=NOT_AN_EVENT)
    return event_from_stripe(event)


# --- The API client -----------------------------------------------------------

_clients: ClientsByConfig[stripe.StripeClient] = ClientsByConfig()


def _build_client(api_key, api_base, api_version, retries, timeout) -> stripe.StripeClient:
    if not api_key:
        raise GatewayError("STRIPE_SECRET_KEY is not set")
    return stripe.StripeClient(
        api_key,
        stripe_version=api_version,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def _client() -> stripe.StripeClient:
    """One client per configuration (tests point STRIPE_API_BASE at a fake server per test)."""
    config = (
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_API_VERSION,
        settings.STRIPE_MAX_NETWORK_RETRIES,
        settings.STRIPE_TIMEOUT_SECONDS,
    )
    return _clients.get(config, _build_client)


def _translate(exc: stripe.StripeError, what: str) -> GatewayError:
    status = getattr(exc, "http_status", None)
    request_id = getattr(exc, "request_id", None)
    logger.warning("stripe %s failed: %s (status=%s request_id=%s)", what, exc, status, request_id)
    message = f"Stripe {what} failed: {getattr(exc, 'user_message', None) or exc}"
    if isinstance(exc, stripe.RateLimitError):
        return GatewayError(message, retryable=True, rate_limited=True)
    if isinstance(exc, stripe.APIConnectionError):
        return GatewayError(message, retryable=True)
    if isinstance(exc, stripe.InvalidRequestError) and getattr(exc, "code", None) == "resource_missing":
        return GatewayError(message, not_found=True)
    if status is not None and (status >= 500 or status == 409):
        return GatewayError(message, retryable=True)
    return GatewayError(message)


def _metadata(metadata: dict) -> dict:
    return {str(k): str(v) for k, v in metadata.items()}


class StripeGateway:
    name = "stripe"

    @property
    def publishable_key(self) -> str:
        return settings.STRIPE_PUBLISHABLE_KEY

    def create_payment_intent(self, *, amount, currency, metadata, idempotency_key) -> ProviderIntent:
        params = {
            "amount": to_minor_units(amount, currency),
            "currency": currency.lower(),
            "metadata": _metadata(metadata),
            "automatic_payment_methods": {"enabled": True},
        }
        try:
            obj = _client().v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise _translate(exc, "payment intent create") from exc
        return intent_from_stripe(obj)

    def retrieve_payment_intent(self, intent_id: str) -> ProviderIntent:
        try:
            obj = _client().v1.payment_intents.retrieve(intent_id)
        except stripe.StripeError as exc:
            raise _translate(exc, "payment intent retrieve") from exc
        return intent_from_stripe(obj)

    def create_refund(self, *, payment_intent_id, amount, currency, metadata, idempotency_key) -> ProviderRefund:
        params = {
            "payment_intent": payment_intent_id,
            "amount": to_minor_units(amount, currency),
            "metadata": _metadata(metadata),
        }
        try:
            obj = _client().v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise _translate(exc, "refund create") from exc
        return refund_from_stripe(obj, payment_intent_id=payment_intent_id)

    def list_refunds(self, payment_intent_id: str) -> list[ProviderRefund]:
        try:
            page = _client().v1.refunds.list(params={"payment_intent": payment_intent_id, "limit": 100})
            return [refund_from_stripe(r, payment_intent_id=payment_intent_id) for r in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise _translate(exc, "refund list") from exc

    def create_checkout_session(
        self, *, amount, currency, description, success_url, cancel_url, metadata, customer_email, idempotency_key
    ) -> ProviderCheckoutSession:
        meta = _metadata(metadata)
        params = {
            "mode": "payment",
            "success_url": success_url,
            "cancel_url": cancel_url,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": to_minor_units(amount, currency),
                        "product_data": {"name": description},
                    },
                }
            ],
            "metadata": meta,
            "payment_intent_data": {"metadata": meta},
        }
        if meta.get("order_id"):
            params["client_reference_id"] = meta["order_id"]
        if customer_email:
            params["customer_email"] = customer_email
        try:
            obj = _client().v1.checkout.sessions.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise _translate(exc, "checkout session create") from exc
        return session_from_stripe(obj)

    def retrieve_checkout_session(self, session_id: str) -> ProviderCheckoutSession:
        try:
            obj = _client().v1.checkout.sessions.retrieve(session_id)
        except stripe.StripeError as exc:
            raise _translate(exc, "checkout session retrieve") from exc
        return session_from_stripe(obj)
