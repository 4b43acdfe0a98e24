"""We never call the provider inside a database transaction (so never while holding row locks).

Runs with real transactions (`transaction=True`): in an ordinary pytest-django test the whole test
is one transaction and the check would be meaningless.
"""

import pytest
from django.db import connection

from orders.models import OrderStatus
from orders.services import order_transition
from orders.transitions import Actor
from payments.razorpay_client import RazorpayGateway
from payments.stripe_client import StripeGateway
from tests.payments.fake_razorpay import webhook_event
from tests.payments.helpers import (
    CHECKOUT_URL,
    INTENT_URL,
    REFUND_URL,
    VERIFY_URL,
    make_order,
    post_event,
    succeeded_event,
)
from tests.payments.razorpay_helpers import captured_event, initiate, post_razorpay_event, rupee_order, verify

pytestmark = pytest.mark.django_db(transaction=True)

CALLS = [
    "create_payment_intent",
    "retrieve_payment_intent",
    "create_refund",
    "create_checkout_session",
    "retrieve_checkout_session",
]


# Razorpay's hosted checkout is opened in the browser from the order: it has no session calls.
RAZORPAY_CALLS = [
    "create_payment_intent",
    "retrieve_payment_intent",
    "create_refund",
    "checkout_signature_is_valid",
    "retrieve_charge",
    "capture_charge",
]


def _spy_on(monkeypatch, gateway_class, names) -> list[tuple[str, bool]]:
    seen: list[tuple[str, bool]] = []
    for name in names:
        real = getattr(gateway_class, name)

        def spy(self, *args, _real=real, _name=name, **kwargs):
            seen.append((_name, connection.in_atomic_block))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(gateway_class, name, spy)
    return seen


@pytest.fixture
def provider_calls(monkeypatch):
    return _spy_on(monkeypatch, StripeGateway, CALLS)


@pytest.fixture
def razorpay_calls(monkeypatch):
    return _spy_on(monkeypatch, RazorpayGateway, RAZORPAY_CALLS)


def test_every_provider_call_happens_outside_a_transaction(
    stripe_gateway, settings, provider_calls, user, user_client, staff_client, api_client
):
    settings.FRONTEND_ALLOWED_ORIGINS = ["http://localhost:5173"]
    paid = make_order(user)
    intent_id = user_client.post(INTENT_URL, {"order_id": paid.pk}, format="json").json()["payment_intent_id"]
    user_client.post(INTENT_URL, {"order_id": paid.pk}, format="json")  # retrieves the existing intent
    assert post_event(api_client, succeeded_event(intent_id, amount=1999)).json()["outcome"] == "order_paid"
    assert staff_client.post(REFUND_URL, {"order_id": paid.pk}, format="json").status_code == 200

    via_checkout = make_order(user)
    session_id = user_client.post(
        CHECKOUT_URL,
        {
            "order_id": via_checkout.pk,
            "success_url": "http://localhost:5173/ok",
            "cancel_url": "http://localhost:5173/",
        },
        format="json",
    ).json()["session_id"]
    stripe_gateway.complete_session(session_id)
    assert user_client.get(VERIFY_URL, {"session_id": session_id}).json()["order_status"] == OrderStatus.PAID

    expired = make_order(user)
    late_intent = user_client.post(INTENT_URL, {"order_id": expired.pk}, format="json").json()["payment_intent_id"]
    order_transition(order_id=expired.pk, to_status=OrderStatus.CANCELLED, actor=Actor.SYSTEM)
    assert post_event(api_client, succeeded_event(late_intent, amount=1999)).status_code == 200  # auto refund

    names = [name for name, _ in provider_calls]
    assert names.count("create_refund") == 2
    assert set(names) == set(CALLS)
    assert [call for call in provider_calls if call[1]] == []


def test_every_razorpay_call_happens_outside_a_transaction(
    razorpay_gateway, razorpay_calls, user, user_client, staff_client, api_client
):
    paid = rupee_order(user)
    rzp_order = initiate(user_client, paid).json()["razorpay_order_id"]
    initiate(user_client, paid)  # retrieves the existing Razorpay order
    answer = razorpay_gateway.checkout(rzp_order, capture=False)
    assert verify(user_client, answer).json()["status"] == OrderStatus.PAID  # fetches, then captures
    assert staff_client.post(REFUND_URL, {"order_id": paid.pk}, format="json").status_code == 200

    expired = rupee_order(user)
    late = razorpay_gateway.checkout(initiate(user_client, expired).json()["razorpay_order_id"])
    order_transition(order_id=expired.pk, to_status=OrderStatus.CANCELLED, actor=Actor.SYSTEM)
    event = captured_event(razorpay_gateway, late["razorpay_payment_id"])
    assert post_razorpay_event(api_client, event).status_code == 200  # auto refund
    assert post_razorpay_event(api_client, webhook_event("payment.authorized", payment={})).status_code == 200

    names = [name for name, _ in razorpay_calls]
    assert names.count("create_refund") == 2
    assert set(names) == set(RAZORPAY_CALLS)
    assert [call for call in razorpay_calls if call[1]] == []
