"""Real concurrency against PostgreSQL: Stripe delivering the same event twice at the same moment."""

import json
import threading

import pytest
from django.core import mail
from django.db import connection
from rest_framework.test import APIClient

from orders.models import OrderStatus
from payments.models import Payment, PaymentStatus, WebhookEvent
from tests.conftest import auth_client, requires_postgres
from tests.factories import PaymentFactory
from tests.payments.fake_stripe import sign_payload
from tests.payments.helpers import INTENT_URL, WEBHOOK_SECRET, WEBHOOK_URL, make_order, succeeded_event, transitions

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def _in_threads(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index):
        try:
            barrier.wait(timeout=10)
            results[index] = work(index)
        except Exception as exc:  # surfaced by the assertions below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_the_same_event_delivered_concurrently_is_processed_once(stripe_gateway, user):
    order = make_order(user, total="19.99")
    payment = PaymentFactory(order=order, provider_payment_id="pi_test_concurrent", amount_minor=1999)
    body = json.dumps(succeeded_event("pi_test_concurrent", amount=1999)).encode()
    header = sign_payload(body, WEBHOOK_SECRET)

    def deliver(_index):
        client = APIClient(raise_request_exception=False)
        response = client.post(WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)
        return response.status_code, response.json()

    results = _in_threads(4, deliver)

    assert all(not isinstance(r, Exception) for r in results), results
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

    def deliver(index):
        client = APIClient(raise_request_exception=False)
        header = sign_payload(bodies[index], WEBHOOK_SECRET)
        return client.post(
            WEBHOOK_URL, data=bodies[index], content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )

    results = _in_threads(3, deliver)

    assert [r.status_code for r in results] == [200] * 3
    assert sorted(r.json()["outcome"] for r in results).count("order_paid") == 1
    assert WebhookEvent.objects.count() == 3
    assert transitions(order, OrderStatus.PAID) == 1
    assert len(mail.outbox) == 1


def test_concurrent_intent_requests_create_one_intent(stripe_gateway, user):
    order = make_order(user)

    def request(_index):
        client = auth_client(user)
        client.raise_request_exception = False
        response = client.post(INTENT_URL, {"order_id": order.pk}, format="json")
        return response.status_code, response.json()

    results = _in_threads(3, request)

    assert all(not isinstance(r, Exception) for r in results), results
    assert [status for status, _ in results] == [200] * 3
    assert len({body["payment_intent_id"] for _, body in results}) == 1
    assert len(stripe_gateway.state.intents) == 1
    assert Payment.objects.filter(order=order).count() == 1
