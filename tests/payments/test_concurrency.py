"""Real concurrency against PostgreSQL: Stripe delivering the same event twice at the same moment."""

import json
from functools import partial

import pytest
from django.core import mail
from rest_framework.test import APIClient

from orders.models import OrderStatus
from orders.services import order_transition
from orders.transitions import Actor
from payments.models import Payment, PaymentStatus, Refund, WebhookEvent
from products.models import ProductVariant
from tests.concurrency import run_concurrently
from tests.conftest import auth_client, requires_postgres
from tests.factories import PaymentFactory
from tests.payments.fake_stripe import sign_payload
from tests.payments.helpers import (
    INTENT_URL,
    REFUND_URL,
    WEBHOOK_SECRET,
    WEBHOOK_URL,
    make_order,
    succeeded_event,
    transitions,
)

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_event_delivered_concurrently_is_processed_once(stripe_gateway, user):
    order = make_order(user, total="19.99")
    payment = PaymentFactory(order=order, provider_payment_id="pi_test_concurrent", amount_minor=1999)
    body = json.dumps(succeeded_event("pi_test_concurrent", amount=1999)).encode()
    header = sign_payload(body, WEBHOOK_SECRET)

    def deliver():
        client = APIClient(raise_request_exception=False)
        response = client.post(WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)
        return response.status_code, response.json()

    results, errors = run_concurrently(*[deliver] * 4)

    assert errors == []
    assert [status for status, _ in results] == [200] * 4
    assert sorted(body["duplicate"] for _, body in results) == [False, True, True, True]
    assert WebhookEvent.objects.count() == 1
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == (OrderStatus.PAID, PaymentStatus.SUCCEEDED)
    assert transitions(order, OrderStatus.PAID) == 1
    assert [m.subject for m in mail.outbox] == [f"Payment received for order {order.number}"]


def test_two_different_success_events_for_one_intent_pay_once(stripe_gateway, user):
    order = make_order(user, total="19.99")
    PaymentFactory(order=order, provider_payment_id="pi_test_twice", amount_minor=1999)
    bodies = [json.dumps(succeeded_event("pi_test_twice", amount=1999)).encode() for _ in range(3)]

    def deliver(payload):
        client = APIClient(raise_request_exception=False)
        header = sign_payload(payload, WEBHOOK_SECRET)
        return client.post(WEBHOOK_URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)

    results, errors = run_concurrently(*[partial(deliver, body) for body in bodies])

    assert errors == []
    assert [r.status_code for r in results] == [200] * 3
    assert sorted(r.json()["outcome"] for r in results).count("order_paid") == 1
    assert WebhookEvent.objects.count() == 3
    assert transitions(order, OrderStatus.PAID) == 1
    assert len(mail.outbox) == 1


def test_concurrent_intent_requests_create_one_intent(stripe_gateway, user):
    order = make_order(user)

    def request():
        client = auth_client(user)
        client.raise_request_exception = False
        response = client.post(INTENT_URL, {"order_id": order.pk}, format="json")
        return response.status_code, response.json()

    results, errors = run_concurrently(*[request] * 3)

    assert errors == []
    assert [status for status, _ in results] == [200] * 3
    assert len({body["payment_intent_id"] for _, body in results}) == 1
    assert len(stripe_gateway.state.intents) == 1
    assert Payment.objects.filter(order=order).count() == 1


def test_two_staff_refunding_the_last_line_at_once_refund_it_once(stripe_gateway, user, staff):
    """The sum guard under the order's lock: one refund of the line, one 409 `refund_exceeds_paid`;
    Stripe asked once, the stock put back once."""
    order = make_order(user, total="19.99", quantity=2, stock=5)
    intent = stripe_gateway._new_intent(amount=1999, currency="usd", metadata={})  # what the fake refunds
    intent.update(status="succeeded", amount_received=1999)
    PaymentFactory(order=order, provider_payment_id=intent["id"], amount_minor=1999, status=PaymentStatus.SUCCEEDED)
    order_transition(order_id=order.pk, to_status=OrderStatus.PAID, actor=Actor.SYSTEM)
    item = order.items.get()

    def refund():
        client = auth_client(staff)
        client.raise_request_exception = False
        response = client.post(
            REFUND_URL, {"order_id": order.pk, "lines": [{"order_item_id": item.pk, "quantity": 2}]}, format="json"
        )
        return response.status_code, response.json()

    results, errors = run_concurrently(refund, refund)

    assert errors == []
    assert sorted(status for status, _ in results) == [200, 409]
    [(_, refused)] = [(status, body) for status, body in results if status == 409]
    assert refused["errors"][0]["code"] == "refund_exceeds_paid"
    assert Refund.objects.filter(order=order).count() == 1
    assert len(stripe_gateway.requests_to("POST", "/v1/refunds")) == 1
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == (OrderStatus.REFUNDED, order.total)
    assert ProductVariant.objects.get(pk=item.variant_id).stock == 7
