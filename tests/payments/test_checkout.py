import pytest
from django.core import mail

from orders.models import OrderStatus
from payments.models import Payment, PaymentStatus, WebhookEvent
from tests.payments.helpers import CHECKOUT_URL, VERIFY_URL, error_code, make_event, make_order, post_event, transitions

pytestmark = pytest.mark.django_db

OK = "http://localhost:5173/checkout/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://localhost:5173/checkout/cancel"


@pytest.fixture
def origins(settings):
    settings.FRONTEND_ALLOWED_ORIGINS = ["http://localhost:5173", "https://shop.example.com"]


def _create(client, order, success=OK, cancel=CANCEL):
    return client.post(
        CHECKOUT_URL, {"order_id": order.pk, "success_url": success, "cancel_url": cancel}, format="json"
    )


def test_a_checkout_session_is_created_from_the_order(stripe_gateway, origins, user, user_client):
    order = make_order(user, total="19.99")

    response = _create(user_client, order)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["url"].startswith("https://checkout.stripe.test/")
    [sent] = stripe_gateway.requests_to("POST", "/v1/checkout/sessions")
    assert sent.form["mode"] == "payment"
    assert sent.form["success_url"] == OK and sent.form["cancel_url"] == CANCEL
    [line] = sent.form["line_items"]
    assert line["price_data"]["unit_amount"] == "1999" and line["price_data"]["currency"] == "usd"
    assert line["quantity"] == "1"
    assert sent.form["metadata"] == {"order_id": str(order.pk), "order_number": order.number}
    assert sent.form["payment_intent_data"]["metadata"]["order_id"] == str(order.pk)
    assert sent.idempotency_key.startswith(f"order-{order.pk}-checkout-1-")
    payment = Payment.objects.get(order=order)
    assert payment.provider_checkout_session_id == body["session_id"]
    assert (payment.amount_minor, payment.status) == (1999, PaymentStatus.REQUIRES_PAYMENT)


def test_an_open_session_is_returned_again(stripe_gateway, origins, user, user_client):
    order = make_order(user)
    first = _create(user_client, order).json()

    second = _create(user_client, order).json()

    assert first == second
    assert len(stripe_gateway.requests_to("POST", "/v1/checkout/sessions")) == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.com/phish",
        "javascript:alert(1)",
        "//evil.com/path",
        "http://localhost:8080/checkout/success",  # allowed host, another port
        "https://localhost:5173/checkout/success",  # allowed host and port, another scheme
        "http://localhost:5173@evil.com/",
        "http://evil.com\\@localhost:5173/",
        "http://localhost:5173.evil.com/",
        "/checkout/success",
        "",
    ],
)
@pytest.mark.parametrize("field", ["success_url", "cancel_url"])
def test_redirect_urls_must_be_on_an_allowed_origin(stripe_gateway, origins, user, user_client, url, field):
    order = make_order(user)
    data = {"order_id": order.pk, "success_url": OK, "cancel_url": CANCEL, field: url}

    response = user_client.post(CHECKOUT_URL, data, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == field
    if url:
        assert error_code(response) == "invalid_redirect_url"
    assert stripe_gateway.state.requests == []
    assert not Payment.objects.exists()


def test_an_allowed_origin_with_a_default_port_matches(stripe_gateway, origins, user, user_client):
    order = make_order(user)
    response = _create(
        user_client, order, success="https://shop.example.com:443/thanks", cancel="https://SHOP.example.com/"
    )
    assert response.status_code == 200


def test_checkout_for_a_cod_order_is_409(stripe_gateway, origins, user, user_client):
    response = _create(user_client, make_order(user, payment_method="cod"))
    assert response.status_code == 409 and error_code(response) == "payment_not_allowed"


def test_verify_applies_the_payment_and_the_late_webhook_is_then_a_no_op(
    stripe_gateway, origins, user, user_client, api_client, django_capture_on_commit_callbacks
):
    order = make_order(user)
    session_id = _create(user_client, order).json()["session_id"]
    unpaid = user_client.get(VERIFY_URL, {"session_id": session_id})
    assert unpaid.status_code == 200 and unpaid.json()["order_status"] == OrderStatus.PENDING
    session = stripe_gateway.complete_session(session_id)

    with django_capture_on_commit_callbacks(execute=True):
        verified = user_client.get(VERIFY_URL, {"session_id": session_id})
    with django_capture_on_commit_callbacks(execute=True):
        verified_again = user_client.get(VERIFY_URL, {"session_id": session_id})
        late = post_event(api_client, make_event("checkout.session.completed", session))

    assert verified.status_code == 200
    assert verified.json() | {"session_id": session_id} == {
        "session_id": session_id,
        "session_status": "complete",
        "payment_status": "paid",
        "order_id": order.pk,
        "order_number": order.number,
        "order_status": OrderStatus.PAID,
    }
    assert verified_again.json()["order_status"] == OrderStatus.PAID
    assert late.status_code == 200 and late.json()["outcome"].startswith("ignored")
    assert transitions(order, OrderStatus.PAID) == 1
    assert len(mail.outbox) == 1
    payment = Payment.objects.get(order=order)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.provider_payment_id == session["payment_intent"]


def test_the_webhook_first_then_verify_is_a_no_op(stripe_gateway, origins, user, user_client, api_client):
    order = make_order(user)
    session_id = _create(user_client, order).json()["session_id"]
    session = stripe_gateway.complete_session(session_id)

    webhook = post_event(api_client, make_event("checkout.session.completed", session))
    verified = user_client.get(VERIFY_URL, {"session_id": session_id})

    assert webhook.json()["outcome"] == "order_paid"
    assert verified.json()["order_status"] == OrderStatus.PAID
    assert transitions(order, OrderStatus.PAID) == 1


def test_a_completed_session_with_the_wrong_amount_is_not_paid(stripe_gateway, origins, user, user_client, api_client):
    order = make_order(user)
    session_id = _create(user_client, order).json()["session_id"]
    session = stripe_gateway.complete_session(session_id) | {"amount_total": 1}

    response = post_event(api_client, make_event("checkout.session.completed", session))

    assert response.json()["outcome"] == "amount_mismatch"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert Payment.objects.get(order=order).needs_review is True


def test_a_completed_session_we_never_recorded_is_found_by_its_order_metadata(stripe_gateway, user, api_client):
    order = make_order(user, total="19.99")
    session = {
        "id": "cs_test_unrecorded",
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": 1999,
        "currency": "usd",
        "payment_intent": "pi_test_from_session",
        "metadata": {"order_id": str(order.pk), "order_number": order.number},
    }

    response = post_event(api_client, make_event("checkout.session.completed", session))

    assert response.json()["outcome"] == "order_paid"
    payment = Payment.objects.get(order=order)
    assert (payment.provider_checkout_session_id, payment.provider_payment_id) == (
        "cs_test_unrecorded",
        "pi_test_from_session",
    )


def test_verify_needs_a_session_id(stripe_gateway, user_client):
    response = user_client.get(VERIFY_URL)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "session_id"


def test_verify_of_an_unknown_or_foreign_session_is_404(stripe_gateway, origins, other_user, other_client, user_client):
    order = make_order(other_user)
    session_id = _create(other_client, order).json()["session_id"]

    assert user_client.get(VERIFY_URL, {"session_id": session_id}).status_code == 404
    assert user_client.get(VERIFY_URL, {"session_id": "cs_nope"}).status_code == 404
    assert stripe_gateway.requests_to("GET", "/v1/checkout/sessions/") == []
    assert not WebhookEvent.objects.exists()
