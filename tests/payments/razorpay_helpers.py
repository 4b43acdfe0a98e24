"""Builders for Razorpay tests: orders in rupees, initiate/verify calls, signed webhook deliveries."""

import json
import uuid

from tests.payments.fake_razorpay import sign_webhook, webhook_event
from tests.payments.helpers import WEBHOOK_URL, make_order

INITIATE_URL = "/api/payments/initiate/"
VERIFY_URL = "/api/payments/verify/"
TOTAL = "2499.00"
TOTAL_PAISE = 249900


def rupee_order(user, **kw):
    return make_order(user, total=TOTAL, currency="inr", **kw)


def initiate(client, order, **extra):
    return client.post(INITIATE_URL, {"order_id": order.pk}, format="json", **extra)


def verify(client, answer: dict):
    return client.post(VERIFY_URL, answer, format="json")


def post_razorpay_event(client, body: dict, *, event_id: str | None = None, signature: str | None = None):
    """POSTs a webhook as Razorpay does: raw JSON, X-Razorpay-Signature over exactly those bytes and
    X-Razorpay-Event-Id."""
    raw = json.dumps(body).encode()
    return client.post(
        WEBHOOK_URL,
        data=raw,
        content_type="application/json",
        HTTP_X_RAZORPAY_SIGNATURE=signature if signature is not None else sign_webhook(raw),
        HTTP_X_RAZORPAY_EVENT_ID=event_id or f"evt_{uuid.uuid4().hex[:14]}",
    )


def captured_event(fake, payment_id: str) -> dict:
    return webhook_event("payment.captured", payment=fake.payment(payment_id))


def order_paid_event(fake, payment_id: str) -> dict:
    payment = fake.payment(payment_id)
    return webhook_event("order.paid", payment=payment, order=dict(fake.state.orders[payment["order_id"]]))
