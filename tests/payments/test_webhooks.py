import json
import time

import pytest
from django.core import mail

from orders.models import Order, OrderStatus
from orders.services import order_transition
from orders.transitions import Actor
from payments import services, stripe_client, webhooks
from payments.models import Payment, PaymentStatus, Refund, WebhookEvent
from payments.provider_types import EventKind
from tests.factories import PaymentFactory
from tests.payments.fake_stripe import sign_payload
from tests.payments.helpers import (
    INTENT_URL,
    WEBHOOK_URL,
    error_code,
    failed_event,
    make_event,
    make_order,
    post_event,
    succeeded_event,
    transitions,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(user):
    """A PENDING card order of 19.99 USD with a recorded Stripe intent."""
    order = make_order(user, total="19.99")
    payment = PaymentFactory(order=order, provider_payment_id="pi_test_pending", amount_minor=1999, currency="usd")
    return order, payment


def _state(order, payment):
    order.refresh_from_db()
    payment.refresh_from_db()
    return order.status, payment.status


def test_a_signed_success_pays_the_order_once_with_one_email(
    stripe_gateway, api_client, pending, django_capture_on_commit_callbacks
):
    order, payment = pending
    event = succeeded_event("pi_test_pending", amount=1999)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(api_client, event)

    assert response.status_code == 200, response.content
    assert response.json() == {"received": True, "duplicate": False, "outcome": "order_paid"}
    assert _state(order, payment) == (OrderStatus.PAID, PaymentStatus.SUCCEEDED)
    assert payment.succeeded_at is not None and order.paid_at is not None
    assert transitions(order, OrderStatus.PAID) == 1
    assert order.status_history.get(to_status=OrderStatus.PAID).actor_label == "system"
    assert [m.subject for m in mail.outbox] == [f"Payment received for order {order.number}"]
    row = WebhookEvent.objects.get(event_id=event["id"])
    assert row.processed_at is not None and row.outcome == "order_paid" and row.type == "payment_intent.succeeded"


def test_a_duplicate_delivery_answers_200_and_changes_nothing(
    stripe_gateway, api_client, pending, django_capture_on_commit_callbacks
):
    order, payment = pending
    event = succeeded_event("pi_test_pending", amount=1999)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(api_client, event)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = post_event(api_client, event)

    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert callbacks == []
    assert transitions(order, OrderStatus.PAID) == 1
    assert len(mail.outbox) == 1
    assert WebhookEvent.objects.filter(event_id=event["id"]).count() == 1


def test_a_second_success_event_for_the_same_intent_is_harmless(stripe_gateway, api_client, pending):
    order, payment = pending
    post_event(api_client, succeeded_event("pi_test_pending", amount=1999))

    response = post_event(api_client, succeeded_event("pi_test_pending", amount=1999))

    assert response.status_code == 200
    assert response.json()["outcome"].startswith("ignored")
    assert transitions(order, OrderStatus.PAID) == 1


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda e: e["data"]["object"].update(amount=1000, amount_received=1000), "amount_mismatch"),
        (lambda e: e["data"]["object"].update(currency="eur"), "currency_mismatch"),
    ],
    ids=["amount", "currency"],
)
def test_a_mismatch_is_recorded_for_review_and_the_order_is_not_paid(
    stripe_gateway, api_client, pending, caplog, mutate, expected
):
    order, payment = pending
    event = succeeded_event("pi_test_pending", amount=1999)
    mutate(event)

    response = post_event(api_client, event)

    assert response.status_code == 200
    assert response.json()["outcome"] == expected
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert payment.needs_review is True
    assert expected in payment.last_error
    assert transitions(order, OrderStatus.PAID) == 0
    assert any(expected in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


def test_a_failure_is_recorded_the_order_stays_payable_and_the_customer_is_told(
    stripe_gateway, user_client, api_client, pending, django_capture_on_commit_callbacks
):
    order, payment = pending
    stripe_gateway.state.intents.clear()  # the recorded intent is unknown at the fake: a new one is made

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(api_client, failed_event("pi_test_pending", amount=1999))

    assert response.status_code == 200 and response.json()["outcome"] == "payment_failed"
    assert _state(order, payment) == (OrderStatus.PENDING, PaymentStatus.FAILED)
    assert payment.last_error == "Your card was declined."
    assert [m.subject for m in mail.outbox] == [f"Payment for order {order.number} did not go through"]
    again = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")
    assert again.status_code == 200
    assert again.json()["payment_intent_id"] != "pi_test_pending"


def test_a_failure_arriving_after_the_success_changes_nothing(
    stripe_gateway, api_client, pending, django_capture_on_commit_callbacks
):
    order, payment = pending
    post_event(api_client, succeeded_event("pi_test_pending", amount=1999))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(api_client, failed_event("pi_test_pending", amount=1999))

    assert response.status_code == 200
    assert response.json()["outcome"].startswith("ignored")
    assert _state(order, payment) == (OrderStatus.PAID, PaymentStatus.SUCCEEDED)
    assert payment.last_error == ""
    assert mail.outbox == []


def test_a_success_after_the_order_expired_is_refunded_automatically(
    stripe_gateway, user, user_client, api_client, django_capture_on_commit_callbacks
):
    order = make_order(user, total="19.99")
    intent_id = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json").json()["payment_intent_id"]
    order_transition(order_id=order.pk, to_status=OrderStatus.CANCELLED, actor=Actor.SYSTEM, note="expired")

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(api_client, succeeded_event(intent_id, amount=1999))

    assert response.status_code == 200
    assert response.json()["outcome"].startswith("auto_refund_queued")
    [refund_request] = stripe_gateway.requests_to("POST", "/v1/refunds")
    payment = Payment.objects.get(provider_payment_id=intent_id)
    assert refund_request.form["payment_intent"] == intent_id
    assert refund_request.form["amount"] == "1999"
    assert refund_request.idempotency_key == f"refund-{Refund.objects.get(payment=payment).pk}"
    assert payment.status == PaymentStatus.REFUNDED  # the fake's refund succeeded at once
    assert payment.provider_refund_id == next(iter(stripe_gateway.state.refunds))
    assert payment.needs_review is True and "refunding automatically" in payment.last_error
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert transitions(order, OrderStatus.PAID) == 0


def test_an_unknown_event_type_is_recorded_and_answered_200(stripe_gateway, api_client, pending):
    event = make_event("customer.created", {"id": "cus_123", "object": "customer"})

    response = post_event(api_client, event)

    assert response.status_code == 200
    row = WebhookEvent.objects.get(event_id=event["id"])
    assert row.processed_at is not None and row.outcome == "ignored: unhandled event type"
    assert row.payload == event


def test_an_event_for_an_unknown_intent_is_recorded_and_changes_nothing(stripe_gateway, api_client, pending):
    order, payment = pending
    event = succeeded_event("pi_somebody_else", amount=1999)

    response = post_event(api_client, event)

    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored: unknown payment intent"
    assert WebhookEvent.objects.get(event_id=event["id"]).processed_at is not None
    assert _state(order, payment) == (OrderStatus.PENDING, PaymentStatus.REQUIRES_PAYMENT)


# --- Signature and body checks: 400 in the error shape, nothing recorded, nothing changed -------------


def _assert_rejected(response, code, order, payment):
    assert response.status_code == 400, response.content
    assert response.json()["type"] == "validation_error"
    assert error_code(response) == code
    assert not WebhookEvent.objects.exists()
    assert _state(order, payment) == (OrderStatus.PENDING, PaymentStatus.REQUIRES_PAYMENT)


def test_wrong_secret_is_rejected(stripe_gateway, api_client, pending):
    response = post_event(api_client, succeeded_event("pi_test_pending", amount=1999), secret="whsec_wrong")
    _assert_rejected(response, "invalid_signature", *pending)


def test_missing_signature_is_rejected(stripe_gateway, api_client, pending):
    body = json.dumps(succeeded_event("pi_test_pending", amount=1999)).encode()
    response = api_client.post(WEBHOOK_URL, data=body, content_type="application/json")
    _assert_rejected(response, "invalid_signature", *pending)


def test_garbage_signature_header_is_rejected(stripe_gateway, api_client, pending):
    body = json.dumps(succeeded_event("pi_test_pending", amount=1999)).encode()
    response = api_client.post(
        WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE="nonsense"
    )
    _assert_rejected(response, "invalid_signature", *pending)


def test_stale_timestamp_is_rejected(stripe_gateway, settings, api_client, pending):
    stale = int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS - 60
    response = post_event(api_client, succeeded_event("pi_test_pending", amount=1999), timestamp=stale)
    _assert_rejected(response, "invalid_signature", *pending)


def test_body_changed_after_signing_is_rejected(stripe_gateway, api_client, pending):
    event = succeeded_event("pi_test_pending", amount=1)
    signed = json.dumps(event).encode()
    header = sign_payload(signed, "whsec_test_novacart")
    tampered = signed.replace(b'"amount": 1,', b'"amount": 1999,')
    assert tampered != signed

    response = api_client.post(
        WEBHOOK_URL, data=tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )

    _assert_rejected(response, "invalid_signature", *pending)


@pytest.mark.parametrize("body", [b"not json at all", b"[1, 2, 3]", b'{"id": "evt_1"}', b"\xff\xfe"])
def test_a_signed_body_that_is_not_an_event_is_rejected(stripe_gateway, api_client, pending, body):
    response = post_event(api_client, None, body=body)
    _assert_rejected(response, "invalid_payload", *pending)


def test_without_a_webhook_secret_the_endpoint_is_not_configured(stripe_gateway, settings, api_client, pending):
    settings.STRIPE_WEBHOOK_SECRET = ""
    response = post_event(api_client, succeeded_event("pi_test_pending", amount=1999))
    assert response.status_code == 503
    assert error_code(response) == "payment_not_configured"


def test_the_webhook_needs_no_auth_csrf_or_throttle(stripe_gateway, pending):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    response = post_event(client, succeeded_event("pi_test_pending", amount=1999))
    assert response.status_code == 200


# --- A handler failing halfway ------------------------------------------------------------------------


def test_a_failing_handler_rolls_back_answers_500_and_the_retry_succeeds(
    stripe_gateway, api_client, pending, monkeypatch, django_capture_on_commit_callbacks
):
    order, payment = pending
    event = succeeded_event("pi_test_pending", amount=1999)
    real = services.payment_apply_success

    def half_then_boom(**kwargs):
        real(**kwargs)  # the payment and order are written...
        raise RuntimeError("database went away")  # ...then the handler dies

    monkeypatch.setattr(services, "payment_apply_success", half_then_boom)
    with django_capture_on_commit_callbacks(execute=True):
        failed = post_event(api_client, event)

    assert failed.status_code == 500
    assert failed.json()["type"] == "server_error"
    assert error_code(failed) == "webhook_processing_failed"
    assert _state(order, payment) == (OrderStatus.PENDING, PaymentStatus.REQUIRES_PAYMENT)
    assert transitions(order, OrderStatus.PAID) == 0
    assert mail.outbox == []
    row = WebhookEvent.objects.get(event_id=event["id"])
    assert row.processed_at is None and "database went away" in row.outcome

    monkeypatch.setattr(services, "payment_apply_success", real)
    with django_capture_on_commit_callbacks(execute=True):
        retried = post_event(api_client, event)

    assert retried.status_code == 200
    assert retried.json() == {"received": True, "duplicate": False, "outcome": "order_paid"}
    assert _state(order, payment) == (OrderStatus.PAID, PaymentStatus.SUCCEEDED)
    assert len(mail.outbox) == 1
    assert WebhookEvent.objects.get(event_id=event["id"]).processed_at is not None


def test_payment_intent_canceled_marks_the_payment_failed(stripe_gateway, api_client, pending):
    order, payment = pending
    obj = {
        "id": "pi_test_pending",
        "object": "payment_intent",
        "status": "canceled",
        "cancellation_reason": "abandoned",
    }

    response = post_event(api_client, make_event("payment_intent.canceled", obj))

    assert response.status_code == 200
    assert _state(order, payment) == (OrderStatus.PENDING, PaymentStatus.FAILED)
    assert "abandoned" in payment.last_error


def test_events_are_dispatched_through_one_table():
    stripe_types = {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "checkout.session.completed",
        "charge.refunded",
    }
    assert stripe_types <= set(stripe_client.EVENT_KINDS)
    # Every kind of event a provider module can report has its one handler.
    assert {kind for kind, _parse in stripe_client.EVENT_KINDS.values()} == set(webhooks.HANDLERS) == set(EventKind)
    assert Order  # the module under test reads orders only through services
