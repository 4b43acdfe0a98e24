import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

from orders.models import OrderStatus
from payments import webhooks
from payments.models import Payment, PaymentStatus, WebhookEvent
from payments.provider_types import EventKind
from tests.payments.helpers import (
    CHECKOUT_URL,
    DUMMY_CONFIRM_URL,
    INTENT_URL,
    REFUND_URL,
    VERIFY_URL,
    error_code,
    make_order,
    transitions,
)

pytestmark = pytest.mark.django_db

BASE_DIR = Path(settings.BASE_DIR) if hasattr(settings, "BASE_DIR") else Path(__file__).resolve().parents[2]


def test_the_whole_journey_with_the_development_gateway(
    dummy_gateway, user, user_client, staff_client, monkeypatch, django_capture_on_commit_callbacks
):
    order = make_order(user, total="19.99", quantity=2, stock=5)
    seen = []
    real = webhooks.webhook_process_event
    monkeypatch.setattr(webhooks, "webhook_process_event", lambda *, event: seen.append(event) or real(event=event))

    intent = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = user_client.post(DUMMY_CONFIRM_URL, {"order_id": order.pk}, format="json")

    assert intent.status_code == 200
    assert intent.json()["payment_intent_id"].startswith("pi_dummy_")
    assert intent.json()["amount"] == "19.99"
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["order_status"] == OrderStatus.PAID
    assert confirmed.json()["outcome"] == "order_paid"
    # The same code path as a Stripe webhook: a succeeded-intent event through the dispatcher, recorded once.
    [event] = seen
    assert (event.type, event.kind) == ("payment_intent.succeeded", EventKind.PAYMENT_SUCCEEDED)
    assert event.subject.id == intent.json()["payment_intent_id"]
    assert event.subject.amount_minor == 1999
    assert event.payload["data"]["object"]["amount_minor"] == 1999
    assert WebhookEvent.objects.get(event_id=event.id).outcome == "order_paid"
    payment = Payment.objects.get(order=order)
    assert (payment.provider, payment.status) == ("dummy", PaymentStatus.SUCCEEDED)
    assert transitions(order, OrderStatus.PAID) == 1
    assert [m.subject for m in mail.outbox] == [f"Payment received for order {order.number}"]

    again = user_client.post(DUMMY_CONFIRM_URL, {"order_id": order.pk}, format="json")
    assert again.status_code == 409
    assert transitions(order, OrderStatus.PAID) == 1

    with django_capture_on_commit_callbacks(execute=True):
        refund = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")
    assert refund.status_code == 200
    assert refund.json()["order_status"] == OrderStatus.REFUNDED


def test_confirm_without_an_intent_creates_one_first(dummy_gateway, user, user_client):
    order = make_order(user)

    response = user_client.post(DUMMY_CONFIRM_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["order_status"] == OrderStatus.PAID


def test_checkout_and_verify_with_the_development_gateway(dummy_gateway, settings, user, user_client):
    settings.FRONTEND_ALLOWED_ORIGINS = ["http://localhost:5173"]
    order = make_order(user)
    session = user_client.post(
        CHECKOUT_URL,
        {
            "order_id": order.pk,
            "success_url": "http://localhost:5173/ok?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://localhost:5173/cancel",
        },
        format="json",
    ).json()
    assert session["url"] == f"http://localhost:5173/ok?session_id={session['session_id']}"
    assert user_client.get(VERIFY_URL, {"session_id": session["session_id"]}).json()["payment_status"] == "unpaid"

    confirmed = user_client.post(DUMMY_CONFIRM_URL, {"order_id": order.pk}, format="json")
    verified = user_client.get(VERIFY_URL, {"session_id": session["session_id"]})

    assert confirmed.json()["outcome"] == "order_paid"
    assert WebhookEvent.objects.get().type == "checkout.session.completed"
    assert verified.json()["order_status"] == OrderStatus.PAID
    assert verified.json()["payment_status"] == "paid"
    assert transitions(order, OrderStatus.PAID) == 1


def test_confirm_is_only_for_the_owner(dummy_gateway, other_user, user_client):
    order = make_order(other_user)
    assert user_client.post(DUMMY_CONFIRM_URL, {"order_id": order.pk}, format="json").status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_confirm_is_404_when_the_development_gateway_is_off(stripe_gateway, user, user_client):
    order = make_order(user)

    response = user_client.post(DUMMY_CONFIRM_URL, {"order_id": order.pk}, format="json")
    no_body = user_client.post(DUMMY_CONFIRM_URL, {}, format="json")

    assert response.status_code == 404 and no_body.status_code == 404
    assert error_code(response) == "not_found"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_confirm_is_404_without_any_gateway(user, user_client):
    order = make_order(user)
    assert user_client.post(DUMMY_CONFIRM_URL, {"order_id": order.pk}, format="json").status_code == 404


def _load_settings(**env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PAYMENT_", "STRIPE_", "DEBUG"))}
    base.update(
        {
            "DJANGO_SETTINGS_MODULE": "novacart.settings.base",
            "SECRET_KEY": "x" * 50,
            "ALLOWED_HOSTS": "shop.example.com",
            "NOVACART_DEV": "0",
            "DATABASE_URL": "sqlite:///:memory:",
            **env,
        }
    )
    code = "import django; django.setup(); from django.conf import settings; print(settings.PAYMENT_GATEWAY)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_the_development_gateway_is_refused_at_start_up_with_debug_off():
    refused = _load_settings(DEBUG="0", PAYMENT_GATEWAY="dummy")
    allowed = _load_settings(DEBUG="1", PAYMENT_GATEWAY="dummy")

    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr and "PAYMENT_GATEWAY=dummy" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == "dummy"


@pytest.mark.slow
def test_make_run_defaults_to_the_development_gateway_and_a_secret_key_to_stripe():
    dev = _load_settings(NOVACART_DEV="1")
    live = _load_settings(DEBUG="0", STRIPE_SECRET_KEY="sk_test_abc")

    assert dev.returncode == 0 and dev.stdout.strip() == "dummy", dev.stderr
    assert live.returncode == 0 and live.stdout.strip() == "stripe", live.stderr
