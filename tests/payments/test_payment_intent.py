from decimal import Decimal

import pytest
from django.conf import settings

from orders.models import OrderStatus, PaymentMethod
from payments.models import Payment, PaymentStatus
from tests.factories import PaymentFactory
from tests.payments.helpers import INTENT_URL, error_code, make_order

pytestmark = pytest.mark.django_db


def test_intent_is_created_from_the_order_with_a_derived_idempotency_key(stripe_gateway, user, user_client):
    order = make_order(user, total="19.99")

    response = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    payment = Payment.objects.get(order=order)
    assert body == {
        "client_secret": payment.client_secret,
        "payment_intent_id": payment.provider_payment_id,
        "amount": "19.99",
        "currency": "usd",
        "publishable_key": "pk_test_novacart_fake",
    }
    assert body["client_secret"].startswith(body["payment_intent_id"])
    [sent] = stripe_gateway.requests_to("POST", "/v1/payment_intents")
    assert sent.form["amount"] == "1999"
    assert sent.form["currency"] == "usd"
    assert sent.form["metadata"] == {"order_id": str(order.pk), "order_number": order.number}
    assert sent.idempotency_key == f"order-{order.pk}-intent-1"
    assert sent.headers["stripe-version"] == settings.STRIPE_API_VERSION
    assert (payment.amount_minor, payment.currency, payment.status, payment.provider) == (
        1999,
        "usd",
        PaymentStatus.REQUIRES_PAYMENT,
        "stripe",
    )


def test_calling_again_returns_the_same_intent_without_a_second_post(stripe_gateway, user, user_client):
    order = make_order(user)

    first = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json").json()
    second = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json").json()

    assert first == second
    assert len(stripe_gateway.requests_to("POST", "/v1/payment_intents")) == 1
    assert len(stripe_gateway.requests_to("GET", "/v1/payment_intents/")) == 1
    assert Payment.objects.filter(order=order).count() == 1


def test_a_canceled_intent_is_replaced_by_the_next_attempt(stripe_gateway, user, user_client):
    order = make_order(user)
    first = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json").json()
    stripe_gateway.set_intent_status(first["payment_intent_id"], "canceled")

    second = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json").json()

    assert second["payment_intent_id"] != first["payment_intent_id"]
    keys = [r.idempotency_key for r in stripe_gateway.requests_to("POST", "/v1/payment_intents")]
    assert keys == [f"order-{order.pk}-intent-1", f"order-{order.pk}-intent-2"]
    old = Payment.objects.get(provider_payment_id=first["payment_intent_id"])
    assert old.status == PaymentStatus.FAILED and "canceled" in old.last_error


def test_zero_decimal_currency_is_sent_without_minor_units(stripe_gateway, user, user_client):
    order = make_order(user, total="500", currency="jpy")

    response = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["amount"] == "500.00"
    assert response.json()["currency"] == "jpy"
    [sent] = stripe_gateway.requests_to("POST", "/v1/payment_intents")
    assert (sent.form["amount"], sent.form["currency"]) == ("500", "jpy")
    assert Payment.objects.get(order=order).amount_minor == 500


def test_a_total_the_currency_cannot_express_is_refused(stripe_gateway, user, user_client):
    order = make_order(user, total="500.50", currency="jpy")

    response = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "amount_not_representable"
    assert stripe_gateway.state.requests == []


def test_someone_elses_order_is_404(stripe_gateway, other_user, user_client):
    order = make_order(other_user)

    response = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 404
    assert stripe_gateway.state.requests == []
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("status", "method", "code"),
    [
        (OrderStatus.PAID, PaymentMethod.CARD, "invalid_transition"),
        (OrderStatus.CANCELLED, PaymentMethod.CARD, "invalid_transition"),
        (OrderStatus.PENDING, PaymentMethod.COD, "payment_not_allowed"),
    ],
)
def test_only_pending_card_orders_take_a_payment(stripe_gateway, user, user_client, status, method, code):
    order = make_order(user, status=status, payment_method=method)

    response = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 409
    assert error_code(response) == code
    assert stripe_gateway.state.requests == []


def test_an_order_with_a_succeeded_payment_is_not_paid_twice(stripe_gateway, user, user_client):
    order = make_order(user)
    PaymentFactory(order=order, status=PaymentStatus.SUCCEEDED, needs_review=True)

    response = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "already_paid"


def test_bad_input_is_400(stripe_gateway, user_client):
    assert user_client.post(INTENT_URL, {}, format="json").status_code == 400
    assert user_client.post(INTENT_URL, {"order_id": "x"}, format="json").status_code == 400
    response = user_client.post(INTENT_URL, {"order_id": 1}, format="json", HTTP_IDEMPOTENCY_KEY="has space")
    assert response.status_code == 400


def test_anonymous_is_404_or_401_without_guest_checkout(stripe_gateway, api_client, user, settings):
    """An order token might open the order (guest checkout), so without one it is not found; with
    guest checkout off the endpoint needs a login. Either way nothing reaches Stripe."""
    order = make_order(user)
    assert api_client.post(INTENT_URL, {"order_id": order.pk}, format="json").status_code == 404
    settings.GUEST_CHECKOUT = False
    assert api_client.post(INTENT_URL, {"order_id": order.pk}, format="json").status_code == 401
    assert stripe_gateway.requests_to("POST", "/v1/payment_intents") == []


@pytest.mark.parametrize(
    ("fault", "status"),
    [({"status": 500}, 502), ({"status": 429}, 503), (None, 502)],
    ids=["stripe-500", "stripe-429", "timeout"],
)
def test_provider_failure_writes_nothing_and_the_retry_creates_exactly_one_intent(
    stripe_gateway, settings, user, user_client, fault, status
):
    order = make_order(user)
    if fault is None:
        settings.STRIPE_TIMEOUT_SECONDS = 0.5
        stripe_gateway.slow_next(1, seconds=1.5)  # Stripe creates the intent; its answer never arrives in time
    else:
        stripe_gateway.fail_next(1, **fault)

    failed = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")

    assert failed.status_code == status, failed.content
    assert failed.json()["type"] == "server_error"
    assert error_code(failed) == "payment_provider_error"
    assert not Payment.objects.exists()

    retried = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")

    assert retried.status_code == 200, retried.content
    posts = stripe_gateway.requests_to("POST", "/v1/payment_intents")
    assert {r.idempotency_key for r in posts} == {f"order-{order.pk}-intent-1"}
    assert len(stripe_gateway.state.intents) == (1 if fault is None else 1)
    assert list(stripe_gateway.state.intents) == [retried.json()["payment_intent_id"]]
    assert Payment.objects.filter(order=order).count() == 1


def test_sdk_retries_reuse_our_idempotency_key(stripe_gateway, settings, user, user_client):
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    order = make_order(user)
    stripe_gateway.fail_next(1, status=500)

    response = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 200
    posts = stripe_gateway.requests_to("POST", "/v1/payment_intents")
    assert len(posts) == 2
    assert {r.idempotency_key for r in posts} == {f"order-{order.pk}-intent-1"}
    assert len(stripe_gateway.state.intents) == 1


def test_our_idempotency_key_replays_the_first_answer(stripe_gateway, user, user_client):
    order = make_order(user)

    first = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    replay = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    other_order = make_order(user)
    reused = user_client.post(INTENT_URL, {"order_id": other_order.pk}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert replay.status_code == 200 and replay.json() == first.json()
    # The replay says so, as the schema documents (orders/create/ does the same).
    assert replay["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert len(stripe_gateway.state.requests) == 1  # the replay did not even ask Stripe
    assert reused.status_code == 422
    assert error_code(reused) == "idempotency_key_reused"


def test_after_a_declined_card_the_same_usable_intent_is_offered_again(stripe_gateway, user, user_client):
    order = make_order(user)
    first = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json").json()
    Payment.objects.filter(order=order).update(status=PaymentStatus.FAILED, last_error="declined")

    again = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")

    assert again.status_code == 200
    assert again.json()["payment_intent_id"] == first["payment_intent_id"]
    assert Payment.objects.get(order=order).status == PaymentStatus.REQUIRES_PAYMENT


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("post", "/api/payments/payment-intent/", {"order_id": 1}),
        (
            "post",
            "/api/payments/checkout-session/",
            {"order_id": 1, "success_url": "http://localhost:5173/ok", "cancel_url": "http://localhost:5173/no"},
        ),
        ("get", "/api/payments/verify/", {"session_id": "cs_x"}),
    ],
)
def test_without_a_gateway_payment_endpoints_answer_503(user, user_client, method, url, data):
    assert settings.PAYMENT_GATEWAY == ""
    make_order(user)

    response = (
        getattr(user_client, method)(url, data, format="json") if method == "post" else user_client.get(url, data)
    )

    assert response.status_code == 503
    assert error_code(response) == "payment_not_configured"


def test_without_a_gateway_refund_and_webhook_answer_503(staff_client, api_client):
    refund = staff_client.post("/api/payments/refund/", {"order_id": 1}, format="json")
    webhook = api_client.post("/api/payments/webhook/", data=b"{}", content_type="application/json")

    assert refund.status_code == 503 and error_code(refund) == "payment_not_configured"
    assert webhook.status_code == 503 and error_code(webhook) == "payment_not_configured"


def test_money_never_becomes_a_float(stripe_gateway, user, user_client):
    order = make_order(user, total="0.30")
    response = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.json()["amount"] == "0.30"
    assert stripe_gateway.requests_to("POST", "/v1/payment_intents")[0].form["amount"] == "30"
    assert Decimal(response.json()["amount"]) == order.total


def test_a_refunded_payment_does_not_block_paying_again(stripe_gateway, user, user_client):
    order = make_order(user)
    PaymentFactory(order=order, status=PaymentStatus.REFUNDED, needs_review=True)

    response = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 200
    assert Payment.objects.filter(order=order, status=PaymentStatus.REQUIRES_PAYMENT).count() == 1
