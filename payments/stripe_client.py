"""Stripe: the only module that imports `stripe` (stripe-python 16).

Also the only place that knows about integer minor units and zero-decimal currencies: services
pass `Decimal` amounts in, and compare provider amounts through `to_minor_units`.

Every POST carries an idempotency key derived from our own ids (passed in by the caller), so the
SDK's own retries and our clients' retries reuse it and Stripe never creates a second object.
"""

from __future__ import annotations

import json
import logging
import threading
from decimal import ROUND_DOWN, Decimal

import stripe
from django.conf import settings

from .gateways import GatewayError, ProviderCheckoutSession, ProviderIntent, ProviderRefund

logger = logging.getLogger(__name__)

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
# https://docs.stripe.com/currencies#three-decimal (the last digit must be 0; our totals have 2 places)
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})


def _exponent(currency: str) -> int:
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor_units(amount: Decimal, currency: str) -> int:
    """`Decimal("19.99"), "usd"` -> 1999; `Decimal("500"), "jpy"` -> 500.

    Raises ValueError when the amount has more precision than the currency allows (e.g. 500.50 JPY):
    rounding money silently is how totals drift.
    """
    exponent = _exponent(currency)
    scaled = Decimal(amount) * (Decimal(10) ** exponent)
    whole = scaled.to_integral_value(rounding=ROUND_DOWN)
    if whole != scaled:
        raise ValueError(f"{amount} {currency.upper()} cannot be expressed in the currency's minor unit")
    return int(whole)


def from_minor_units(amount_minor: int, currency: str) -> Decimal:
    """1999, "usd" -> Decimal("19.99"); 500, "jpy" -> Decimal("500")."""
    exponent = _exponent(currency)
    return (Decimal(int(amount_minor)) / (Decimal(10) ** exponent)).quantize(Decimal(1).scaleb(-max(exponent, 0)))


# --- Webhooks -----------------------------------------------------------------


class WebhookSignatureError(Exception):
    """Missing, malformed or wrong Stripe-Signature, or a timestamp outside the tolerance."""


class WebhookPayloadError(Exception):
    """The signed body is not a Stripe event we can read."""


def construct_webhook_event(payload: bytes, sig_header: str | None) -> dict:
    """Verifies `Stripe-Signature` over the raw body with STRIPE_WEBHOOK_SECRET and returns the event.

    Verification is the SDK's (`stripe.Webhook.construct_event`, tolerance from settings); the event
    is returned as a plain dict (the JSON Stripe sent), which is what our handlers read.
    """
    try:
        stripe.Webhook.construct_event(
            payload,
            sig_header,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
            api_key=settings.STRIPE_SECRET_KEY or None,
        )
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureError(str(exc)) from exc
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        # UnicodeDecodeError and json.JSONDecodeError are ValueErrors; a JSON list has no .get().
        raise WebhookPayloadError(f"{type(exc).__name__}: {exc}") from exc
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise WebhookPayloadError(str(exc)) from exc
    if not isinstance(event, dict):
        raise WebhookPayloadError("the event is not a JSON object")
    return event


# --- The API client -----------------------------------------------------------

_clients: dict[tuple, stripe.StripeClient] = {}
_clients_lock = threading.Lock()


def _client() -> stripe.StripeClient:
    """One client per configuration (tests point STRIPE_API_BASE at a fake server per test)."""
    config = (
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_API_VERSION,
        settings.STRIPE_MAX_NETWORK_RETRIES,
        settings.STRIPE_TIMEOUT_SECONDS,
    )
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            api_key, api_base, api_version, retries, timeout = config
            if not api_key:
                raise GatewayError("STRIPE_SECRET_KEY is not set")
            client = stripe.StripeClient(
                api_key,
                stripe_version=api_version,
                base_addresses={"api": api_base} if api_base else None,
                max_network_retries=retries,
                http_client=stripe.RequestsClient(timeout=timeout),
            )
            _clients[config] = client
        return client


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


def _plain(obj) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _intent(obj) -> ProviderIntent:
    obj = _plain(obj)
    return ProviderIntent(
        id=obj["id"],
        client_secret=obj.get("client_secret") or "",
        status=obj.get("status") or "",
        amount_minor=int(obj.get("amount") or 0),
        currency=(obj.get("currency") or "").lower(),
        metadata=dict(obj.get("metadata") or {}),
    )


def _session(obj) -> ProviderCheckoutSession:
    obj = _plain(obj)
    payment_intent = obj.get("payment_intent")
    if payment_intent is not None and not isinstance(payment_intent, str):
        payment_intent = payment_intent["id"]  # expanded
    amount_total = obj.get("amount_total")
    return ProviderCheckoutSession(
        id=obj["id"],
        url=obj.get("url"),
        status=obj.get("status") or "",
        payment_status=obj.get("payment_status") or "",
        amount_minor=int(amount_total) if amount_total is not None else None,
        currency=(obj.get("currency") or "").lower(),
        payment_intent_id=payment_intent,
        metadata=dict(obj.get("metadata") or {}),
    )


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
        return _intent(obj)

    def retrieve_payment_intent(self, intent_id: str) -> ProviderIntent:
        try:
            obj = _client().v1.payment_intents.retrieve(intent_id)
        except stripe.StripeError as exc:
            raise _translate(exc, "payment intent retrieve") from exc
        return _intent(obj)

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
        obj = _plain(obj)
        return ProviderRefund(
            id=obj["id"],
            status=obj.get("status") or "",
            payment_intent_id=obj.get("payment_intent") or payment_intent_id,
            amount_minor=int(obj.get("amount") or 0),
            currency=(obj.get("currency") or "").lower(),
        )

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
        return _session(obj)

    def retrieve_checkout_session(self, session_id: str) -> ProviderCheckoutSession:
        try:
            obj = _client().v1.checkout.sessions.retrieve(session_id)
        except stripe.StripeError as exc:
            raise _translate(exc, "checkout session retrieve") from exc
        return _session(obj)
