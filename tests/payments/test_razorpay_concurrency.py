"""Real concurrency against PostgreSQL: Razorpay Checkout's verify and Razorpay's webhooks for the
same payment arriving at the same moment."""

import json

import pytest
from django.core import mail
from rest_framework.test import APIClient

from orders.models import OrderStatus
from payments.models import Payment, PaymentStatus
from tests.concurrency import run_concurrently
from tests.conftest import auth_client, requires_postgres
from tests.payments.fake_razorpay import sign_webhook
from tests.payments.helpers import WEBHOOK_URL, transitions
from tests.payments.razorpay_helpers import (
    INITIATE_URL,
    VERIFY_URL,
    captured_event,
    order_paid_event,
    rupee_order,
)

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def _client(user) -> APIClient:
    client = auth_client(user)
    client.raise_request_exception = False
    return client


def test_verify_and_the_webhooks_for_one_payment_at_once_give_one_paid_transition(
    razorpay_gateway, user, django_capture_on_commit_callbacks
):
    order = rupee_order(user)
    rzp_order = _client(user).post(INITIATE_URL, {"order_id": order.pk}, format="json").json()["razorpay_order_id"]
    answer = razorpay_gateway.checkout(rzp_order)
    deliveries = [
        json.dumps(captured_event(razorpay_gateway, answer["razorpay_payment_id"])).encode(),
        json.dumps(order_paid_event(razorpay_gateway, answer["razorpay_payment_id"])).encode(),
    ]

    def verify():
        response = _client(user).post(VERIFY_URL, answer, format="json")
        return response.status_code, response.json()["status"]

    def deliver(body, event_id):
        def post():
            client = APIClient(raise_request_exception=False)
            response = client.post(
                WEBHOOK_URL,
                data=body,
                content_type="application/json",
                HTTP_X_RAZORPAY_SIGNATURE=sign_webhook(body),
                HTTP_X_RAZORPAY_EVENT_ID=event_id,
            )
            return response.status_code, response.json()["outcome"]

        return post

    results, errors = run_concurrently(
        verify, verify, deliver(deliveries[0], "evt_rzp_c1"), deliver(deliveries[1], "evt_rzp_c2")
    )

    assert errors == []
    assert [status for status, _ in results] == [200] * 4
    assert [status for _, status in results[:2]] == [OrderStatus.PAID] * 2
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert transitions(order, OrderStatus.PAID) == 1
    assert Payment.objects.get(order=order).status == PaymentStatus.SUCCEEDED
    assert [m.subject for m in mail.outbox] == [f"Payment received for order {order.number}"]


def test_concurrent_initiates_for_one_order_give_the_same_razorpay_order(razorpay_gateway, user):
    order = rupee_order(user)

    def initiate():
        response = _client(user).post(INITIATE_URL, {"order_id": order.pk}, format="json")
        return response.status_code, response.json()

    results, errors = run_concurrently(*[initiate] * 3)

    assert errors == []
    assert [status for status, _ in results] == [200] * 3
    # Razorpay has no idempotency key: racing first calls may each create an order (they usually do
    # here), and all answer with the oldest one carrying the receipt; the others expire unpaid.
    oldest = min(razorpay_gateway.state.orders.values(), key=lambda o: o["created_at"])
    assert {body["razorpay_order_id"] for _, body in results} == {oldest["id"]}
    assert Payment.objects.filter(order=order).count() == 1
