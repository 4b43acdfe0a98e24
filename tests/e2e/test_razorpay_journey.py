"""Seed 004's journey with Razorpay, through the HTTP API only and the official SDK against the fake
Razorpay: register, cart, order, initiate, Razorpay Checkout in the browser (the fake plays it),
verify, PAID, Razorpay's webhook arriving afterwards (and twice), and a staff refund."""

import json
from decimal import Decimal

import pytest
from django.core import mail
from rest_framework.test import APIClient

from products.models import Product
from tests.conftest import auth_client
from tests.e2e.test_checkout_journey import _customer_places_an_order
from tests.factories import ProductFactory, StaffFactory
from tests.payments.fake_razorpay import KEY_ID, sign_webhook, webhook_event

pytestmark = pytest.mark.django_db


def test_a_customer_in_india_pays_with_razorpay_and_is_refunded(razorpay_gateway, django_capture_on_commit_callbacks):
    product = ProductFactory(price=Decimal("1249.50"), stock=5)
    with django_capture_on_commit_callbacks(execute=True):
        customer, order = _customer_places_an_order(product)
    assert (order["total"], order["currency"]) == ("2499.00", "inr")

    # The page asks how to pay, and opens Razorpay Checkout with the answer.
    started = customer.post("/api/payments/initiate/", {"order_id": order["id"]}, format="json")
    assert started.status_code == 200, started.content
    start = started.json()
    assert [start[k] for k in ("gateway", "amount", "currency", "key_id")] == ["razorpay", 249900, "inr", KEY_ID]
    # A reload of the page initiates again and gets the same Razorpay order.
    again = customer.post("/api/payments/initiate/", {"order_id": order["id"]}, format="json")
    assert again.json()["razorpay_order_id"] == start["razorpay_order_id"]

    # The customer pays in Checkout, whose handler passes the signed answer to verify.
    answer = razorpay_gateway.checkout(start["razorpay_order_id"])
    with django_capture_on_commit_callbacks(execute=True):
        verified = customer.post("/api/payments/verify/", answer, format="json")
    assert verified.status_code == 200, verified.content
    assert verified.json()["id"] == order["id"]
    assert verified.json()["status"] == "PAID" and verified.json()["paid_at"]

    # Razorpay's webhook arrives afterwards, and is delivered twice: nothing more happens.
    event = webhook_event("payment.captured", payment=razorpay_gateway.payment(answer["razorpay_payment_id"]))
    body = json.dumps(event).encode()
    outcomes = []
    for _ in range(2):
        delivered = APIClient().post(
            "/api/payments/webhook/",
            data=body,
            content_type="application/json",
            HTTP_X_RAZORPAY_SIGNATURE=sign_webhook(body),
            HTTP_X_RAZORPAY_EVENT_ID="evt_e2e_rzp_1",
        )
        assert delivered.status_code == 200, delivered.content
        outcomes.append((delivered.json()["duplicate"], delivered.json()["outcome"]))
    assert outcomes == [
        (False, "ignored: payment already succeeded"),
        (True, "ignored: payment already succeeded"),
    ]

    # Staff refund it; the money goes back through Razorpay and the stock returns.
    staff = auth_client(StaffFactory())
    with django_capture_on_commit_callbacks(execute=True):
        refunded = staff.post("/api/payments/refund/", {"order_id": order["id"]}, format="json")
    assert refunded.status_code == 200, refunded.content
    assert refunded.json()["order_status"] == "REFUNDED"
    (refund,) = razorpay_gateway.state.refunds.values()
    assert (refund["payment_id"], refund["amount"]) == (answer["razorpay_payment_id"], 249900)

    final = customer.get(f"/api/orders/{order['id']}/").json()
    assert [s["to_status"] for s in final["status_history"]][-2:] == ["PAID", "REFUNDED"]
    assert Product.objects.get(pk=product.pk).stock == 5
    subjects = [m.subject for m in mail.outbox if m.to == ["ada@example.com"]]
    assert f"Payment received for order {order['number']}" in subjects
