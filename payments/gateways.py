"""The payment gateway interface, and the choice of gateway from settings.

Services speak to a gateway, never to Stripe directly. Amounts cross this interface as `Decimal`
in the currency's major unit; the provider objects coming back carry the provider's own integer
minor units (`amount_minor`), converted only by `payments.stripe_client`.

- `StripeGateway` (payments.stripe_client): the real thing, PAYMENT_GATEWAY=stripe.
- `DummyGateway` (below): development only (PAYMENT_GATEWAY=dummy, refused with DEBUG off at
  settings load). It takes no money; its objects are derived from our own Payment rows, and the
  confirm endpoint feeds a Stripe-shaped success event through the webhook dispatcher.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from django.conf import settings

from novacart.exceptions import ServiceUnavailable

from .error_codes import PaymentErrorCode


class GatewayError(Exception):
    """The provider failed, refused or could not be reached.

    `retryable`: a network error, timeout, 5xx or 409 from the provider (the same request may
    succeed later); `rate_limited`: the provider answered 429; `not_found`: the object does not
    exist at the provider.
    """

    def __init__(self, message: str, *, retryable: bool = False, rate_limited: bool = False, not_found: bool = False):
        super().__init__(message)
        self.retryable = retryable
        self.rate_limited = rate_limited
        self.not_found = not_found


@dataclass(frozen=True)
class ProviderIntent:
    id: str
    client_secret: str
    # Stripe's vocabulary: requires_payment_method, requires_confirmation, requires_action,
    # processing, requires_capture, canceled, succeeded.
    status: str
    amount_minor: int
    currency: str
    metadata: dict = field(default_factory=dict)

    @property
    def is_usable(self) -> bool:
        """The customer can still pay with this intent (or already has)."""
        return self.status != "canceled"


@dataclass(frozen=True)
class ProviderRefund:
    id: str
    status: str  # pending, requires_action, succeeded, failed, canceled
    payment_intent_id: str
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class ProviderCheckoutSession:
    id: str
    url: str | None
    status: str  # open, complete, expired
    payment_status: str  # paid, unpaid, no_payment_required
    amount_minor: int | None
    currency: str
    payment_intent_id: str | None
    metadata: dict = field(default_factory=dict)

    def as_event_object(self) -> dict:
        """The session as a `checkout.session.completed` event carries it (the fields we read)."""
        return {
            "id": self.id,
            "object": "checkout.session",
            "status": self.status,
            "payment_status": self.payment_status,
            "amount_total": self.amount_minor,
            "currency": self.currency,
            "payment_intent": self.payment_intent_id,
            "metadata": dict(self.metadata),
        }


class PaymentGateway(Protocol):
    name: str  # a payments.models.Payment.Provider value

    @property
    def publishable_key(self) -> str: ...

    def create_payment_intent(
        self, *, amount: Decimal, currency: str, metadata: dict, idempotency_key: str
    ) -> ProviderIntent: ...

    def retrieve_payment_intent(self, intent_id: str) -> ProviderIntent: ...

    def create_refund(
        self, *, payment_intent_id: str, amount: Decimal, currency: str, metadata: dict, idempotency_key: str
    ) -> ProviderRefund: ...

    def create_checkout_session(
        self,
        *,
        amount: Decimal,
        currency: str,
        description: str,
        success_url: str,
        cancel_url: str,
        metadata: dict,
        customer_email: str,
        idempotency_key: str,
    ) -> ProviderCheckoutSession: ...

    def retrieve_checkout_session(self, session_id: str) -> ProviderCheckoutSession: ...


def _dummy_id(prefix: str, idempotency_key: str) -> str:
    # Derived from the idempotency key, so "the same key -> the same object" holds as at Stripe.
    return f"{prefix}_dummy_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]}"


class DummyGateway:
    """Development gateway: confirms payments locally, never takes money.

    Only reachable with PAYMENT_GATEWAY=dummy, which settings refuse when DEBUG is off.
    """

    name = "dummy"

    @property
    def publishable_key(self) -> str:
        return ""

    def create_payment_intent(self, *, amount, currency, metadata, idempotency_key) -> ProviderIntent:
        from .stripe_client import to_minor_units

        intent_id = _dummy_id("pi", idempotency_key)
        return ProviderIntent(
            id=intent_id,
            client_secret=f"{intent_id}_secret_dummy",
            status="requires_payment_method",
            amount_minor=to_minor_units(amount, currency),
            currency=currency.lower(),
            metadata=dict(metadata),
        )

    def retrieve_payment_intent(self, intent_id: str) -> ProviderIntent:
        from .models import Payment, PaymentStatus

        payment = Payment.objects.filter(provider=self.name, provider_payment_id=intent_id).first()
        if payment is None:
            raise GatewayError(f"No such payment intent: {intent_id}", not_found=True)
        paid = payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUND_PENDING, PaymentStatus.REFUNDED)
        return ProviderIntent(
            id=intent_id,
            client_secret=payment.client_secret,
            status="succeeded" if paid else "requires_payment_method",
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            metadata={"order_id": str(payment.order_id)},
        )

    def create_refund(self, *, payment_intent_id, amount, currency, metadata, idempotency_key) -> ProviderRefund:
        from .stripe_client import to_minor_units

        return ProviderRefund(
            id=_dummy_id("re", idempotency_key),
            status="succeeded",
            payment_intent_id=payment_intent_id,
            amount_minor=to_minor_units(amount, currency),
            currency=currency.lower(),
        )

    def create_checkout_session(
        self, *, amount, currency, description, success_url, cancel_url, metadata, customer_email, idempotency_key
    ) -> ProviderCheckoutSession:
        from .stripe_client import to_minor_units

        session_id = _dummy_id("cs", idempotency_key)
        return ProviderCheckoutSession(
            id=session_id,
            # No payment page: straight back to the shop, which then calls verify or dummy confirm.
            url=success_url.replace("{CHECKOUT_SESSION_ID}", session_id),
            status="open",
            payment_status="unpaid",
            amount_minor=to_minor_units(amount, currency),
            currency=currency.lower(),
            payment_intent_id=None,
            metadata=dict(metadata),
        )

    def retrieve_checkout_session(self, session_id: str) -> ProviderCheckoutSession:
        from .models import Payment, PaymentStatus

        payment = Payment.objects.filter(provider=self.name, provider_checkout_session_id=session_id).first()
        if payment is None:
            raise GatewayError(f"No such checkout session: {session_id}", not_found=True)
        paid = payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUND_PENDING, PaymentStatus.REFUNDED)
        return ProviderCheckoutSession(
            id=session_id,
            url=None,
            status="complete" if paid else "open",
            payment_status="paid" if paid else "unpaid",
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            payment_intent_id=payment.provider_payment_id or dummy_intent_for_session(session_id),
            metadata={"order_id": str(payment.order_id)},
        )


def dummy_intent_for_session(session_id: str) -> str:
    """The payment intent id the development gateway reports for a completed checkout session."""
    return _dummy_id("pi", f"session:{session_id}")


def gateway_is_configured() -> bool:
    return settings.PAYMENT_GATEWAY in ("stripe", "dummy")


def get_gateway() -> PaymentGateway:
    """The gateway chosen by settings.PAYMENT_GATEWAY.

    Raises ServiceUnavailable(`payment_not_configured`) when no gateway is configured.
    """
    choice = settings.PAYMENT_GATEWAY
    if choice == "stripe":
        from .stripe_client import StripeGateway

        return StripeGateway()
    if choice == "dummy":
        return DummyGateway()
    raise ServiceUnavailable(
        "Payments are not configured on this server (set STRIPE_SECRET_KEY).",
        code=PaymentErrorCode.PAYMENT_NOT_CONFIGURED,
    )
