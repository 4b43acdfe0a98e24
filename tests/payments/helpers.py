"""Builders for payment tests: orders with stock, Stripe-shaped events, signed webhook posts."""

import json
import uuid
from decimal import Decimal

from orders.models import OrderStatusChange, PaymentMethod
from tests.factories import OrderFactory, OrderItemFactory, ProductFactory
from tests.payments.fake_stripe import sign_payload

WEBHOOK_SECRET = "whsec_test_novacart"
WEBHOOK_URL = "/api/payments/webhook/"
INTENT_URL = "/api/payments/payment-intent/"
REFUND_URL = "/api/payments/refund/"
CHECKOUT_URL = "/api/payments/checkout-session/"
VERIFY_URL = "/api/payments/verify/"
DUMMY_CONFIRM_URL = "/api/payments/dummy/confirm/"


def make_order(user, *, total="19.99", currency="usd", payment_method=PaymentMethod.CARD, quantity=2, stock=5, **kw):
    """A PENDING order whose items took `quantity` units of a product now holding `stock`."""
    total = Decimal(total)
    order = OrderFactory(user=user, total=total, subtotal=total, currency=currency, payment_method=payment_method, **kw)
    product = ProductFactory(stock=stock, price=total / quantity)
    OrderItemFactory(order=order, product=product, quantity=quantity, unit_price=total / quantity, line_total=total)
    return order


def make_event(event_type: str, obj: dict, *, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_test_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": event_type,
        "api_version": "2025-09-30.clover",
        "created": 1_760_000_000,
        "livemode": False,
        "data": {"object": obj},
    }


def intent_object(intent_id: str, *, amount: int, currency: str = "usd", status: str = "succeeded", **extra) -> dict:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": currency,
        "status": status,
        "metadata": {},
        **extra,
    }


def succeeded_event(intent_id: str, *, amount: int, currency: str = "usd", event_id: str | None = None) -> dict:
    return make_event(
        "payment_intent.succeeded", intent_object(intent_id, amount=amount, currency=currency), event_id=event_id
    )


def failed_event(
    intent_id: str, *, amount: int, currency: str = "usd", message: str = "Your card was declined."
) -> dict:
    obj = intent_object(
        intent_id,
        amount=amount,
        currency=currency,
        status="requires_payment_method",
        last_payment_error={"code": "card_declined", "decline_code": "generic_decline", "message": message},
    )
    return make_event("payment_intent.payment_failed", obj)


def charge_refunded_event(
    intent_id: str,
    *,
    amount: int,
    currency: str = "usd",
    refunded: bool = True,
    refund_ids: list[str] | None = None,
) -> dict:
    """Stripe's charge.refunded for a charge of `amount`, refunded in full (or half), listing the
    refunds `refund_ids` (as an API version that expands `charge.refunds` sends it; none: unlisted)."""
    obj = {
        "id": f"ch_test_{uuid.uuid4().hex[:12]}",
        "object": "charge",
        "amount": amount,
        "amount_refunded": amount if refunded else amount // 2,
        "currency": currency,
        "payment_intent": intent_id,
        "refunded": refunded,
    }
    if refund_ids is not None:
        obj["refunds"] = {"object": "list", "data": [{"id": rid, "status": "succeeded"} for rid in refund_ids]}
    return make_event("charge.refunded", obj)


def post_event(client, event, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None, body: bytes | None = None):
    """POSTs `event` as Stripe would: raw JSON body and a Stripe-Signature over exactly those bytes."""
    raw = body if body is not None else json.dumps(event).encode()
    return client.post(
        WEBHOOK_URL,
        data=raw,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_payload(raw, secret, timestamp),
    )


def transitions(order, to_status) -> int:
    return OrderStatusChange.objects.filter(order=order, to_status=to_status).count()


def error_code(response) -> str:
    return response.json()["errors"][0]["code"]
