"""The development gateway (PAYMENT_GATEWAY=dummy): confirms payments locally, never takes money.

Settings refuse it when DEBUG is off. Its objects are derived from our own Payment rows, and its
confirm endpoint produces the success event a real provider would send, which goes through the
same webhook pipeline (payments.webhooks) as a signed delivery.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict

from django.utils import timezone

from .models import PAYMENT_TAKEN_STATUSES, Payment, Refund, RefundStatus
from .provider_types import (
    EventKind,
    GatewayError,
    ProviderCheckoutSession,
    ProviderEvent,
    ProviderIntent,
    ProviderRefund,
    to_minor_units,
)


def _dummy_id(prefix: str, idempotency_key: str) -> str:
    # Derived from the idempotency key, so "the same key -> the same object" holds as at Stripe.
    return f"{prefix}_dummy_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]}"


def dummy_intent_for_session(session_id: str) -> str:
    """The payment intent id the development gateway reports for a completed checkout session."""
    return _dummy_id("pi", f"session:{session_id}")


class DummyGateway:
    name = "dummy"

    @property
    def publishable_key(self) -> str:
        return ""

    def create_payment_intent(self, *, amount, currency, metadata, idempotency_key) -> ProviderIntent:
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
        payment = Payment.objects.filter(provider=self.name, provider_payment_id=intent_id).first()
        if payment is None:
            raise GatewayError(f"No such payment intent: {intent_id}", not_found=True)
        return ProviderIntent(
            id=intent_id,
            client_secret=payment.client_secret,
            status="succeeded" if payment.status in PAYMENT_TAKEN_STATUSES else "requires_payment_method",
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            metadata={"order_id": str(payment.order_id)},
        )

    def create_refund(self, *, payment_intent_id, amount, currency, metadata, idempotency_key) -> ProviderRefund:
        return ProviderRefund(
            id=_dummy_id("re", idempotency_key),
            status="succeeded",
            payment_intent_id=payment_intent_id,
            amount_minor=to_minor_units(amount, currency),
            currency=currency.lower(),
            metadata=dict(metadata),
        )

    def list_refunds(self, payment_intent_id: str) -> list[ProviderRefund]:
        """The development gateway holds no money: its refunds are the ones this shop recorded."""
        return [
            ProviderRefund(
                id=refund.provider_refund_id,
                status="succeeded",
                payment_intent_id=payment_intent_id,
                amount_minor=refund.amount_minor,
                currency=refund.currency.lower(),
                metadata={"refund_id": str(refund.pk)},
            )
            for refund in Refund.objects.filter(
                payment__provider_payment_id=payment_intent_id,
                provider_refund_id__isnull=False,
                status=RefundStatus.SUCCEEDED,
            )
        ]

    def create_checkout_session(
        self, *, amount, currency, description, success_url, cancel_url, metadata, customer_email, idempotency_key
    ) -> ProviderCheckoutSession:
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
        payment = Payment.objects.filter(provider=self.name, provider_checkout_session_id=session_id).first()
        if payment is None:
            raise GatewayError(f"No such checkout session: {session_id}", not_found=True)
        paid = payment.status in PAYMENT_TAKEN_STATUSES
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

    def success_event(self, *, payment: Payment, metadata: dict) -> ProviderEvent:
        """The event a provider sends when this payment succeeds: a completed checkout session for a
        session payment, else a succeeded payment intent. Recorded like any delivery, with the
        subject as its payload's data.object."""
        subject: ProviderCheckoutSession | ProviderIntent
        if payment.provider_checkout_session_id:
            event_type, kind = "checkout.session.completed", EventKind.CHECKOUT_COMPLETED
            subject = ProviderCheckoutSession(
                id=payment.provider_checkout_session_id,
                url=None,
                status="complete",
                payment_status="paid",
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                payment_intent_id=dummy_intent_for_session(payment.provider_checkout_session_id),
                metadata=dict(metadata),
            )
        else:
            event_type, kind = "payment_intent.succeeded", EventKind.PAYMENT_SUCCEEDED
            subject = ProviderIntent(
                id=payment.provider_payment_id,
                client_secret=payment.client_secret,
                status="succeeded",
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                metadata=dict(metadata),
                amount_received_minor=payment.amount_minor,
            )
        event_id = f"evt_dummy_{uuid.uuid4().hex}"
        payload = {
            "id": event_id,
            "type": event_type,
            "created": int(timezone.now().timestamp()),
            "livemode": False,
            "data": {"object": asdict(subject)},
        }
        return ProviderEvent(
            provider=self.name, id=event_id, type=event_type, kind=kind, subject=subject, payload=payload
        )
