import pytest
from django.core import mail

from orders.models import OrderStatus
from orders.services import order_transition
from orders.transitions import Actor
from payments.models import Payment, PaymentStatus
from tests.payments.helpers import (
    INTENT_URL,
    REFUND_URL,
    charge_refunded_event,
    error_code,
    make_order,
    post_event,
    succeeded_event,
    transitions,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(stripe_gateway, user, user_client, api_client, django_capture_on_commit_callbacks):
    """A card order of 2 units (stock 5 -> 5 left after checkout took 2), paid through the real flow."""
    order = make_order(user, total="19.99", quantity=2, stock=5)
    intent_id = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json").json()["payment_intent_id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(api_client, succeeded_event(intent_id, amount=1999)).json()["outcome"] == "order_paid"
    mail.outbox.clear()
    order.refresh_from_db()
    return order, Payment.objects.get(provider_payment_id=intent_id)


def _stock(order):
    return order.items.get().product.__class__.objects.get(pk=order.items.get().product_id).stock


def test_staff_refund_goes_through_stripe_with_a_derived_key_and_refunds_at_once(
    stripe_gateway, staff_client, paid, django_capture_on_commit_callbacks
):
    order, payment = paid

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["order_status"] == OrderStatus.REFUNDED
    assert body["payment_status"] == PaymentStatus.REFUNDED
    assert body["refund_status"] == "succeeded"
    [sent] = stripe_gateway.requests_to("POST", "/v1/refunds")
    assert sent.idempotency_key == f"order-{order.pk}-refund"
    assert sent.form["payment_intent"] == payment.provider_payment_id
    assert sent.form["amount"] == "1999"
    payment.refresh_from_db()
    assert payment.provider_refund_id == body["refund_id"] and payment.refunded_at is not None
    assert _stock(order) == 7  # not shipped: the 2 units are back
    assert [m.subject for m in mail.outbox] == [f"Order {order.number} was refunded"]


def test_a_pending_refund_completes_when_stripe_confirms_and_restores_stock(
    stripe_gateway, staff_client, api_client, paid, django_capture_on_commit_callbacks
):
    order, payment = paid
    stripe_gateway.state.refund_status = "pending"

    response = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["payment_status"] == PaymentStatus.REFUND_PENDING
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert _stock(order) == 5

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = post_event(api_client, charge_refunded_event(payment.provider_payment_id, amount=1999))

    assert confirmed.status_code == 200 and confirmed.json()["outcome"] == "order_refunded"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == (OrderStatus.REFUNDED, PaymentStatus.REFUNDED)
    assert _stock(order) == 7
    assert transitions(order, OrderStatus.REFUNDED) == 1
    assert len(mail.outbox) == 1


def test_repeating_a_refund_request_never_refunds_twice(stripe_gateway, staff_client, paid):
    order, payment = paid
    stripe_gateway.state.refund_status = "pending"

    first = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json").json()
    second = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json").json()

    assert first["refund_id"] == second["refund_id"]
    assert len(stripe_gateway.state.refunds) == 1
    assert {r.idempotency_key for r in stripe_gateway.requests_to("POST", "/v1/refunds")} == {
        f"order-{order.pk}-refund"
    }


def test_refund_of_a_shipped_order_keeps_the_stock_out(stripe_gateway, staff, staff_client, paid):
    order, payment = paid
    order_transition(
        order_id=order.pk, to_status=OrderStatus.SHIPPED, actor=Actor.STAFF, user=staff, tracking_number="TRK1"
    )

    response = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert response.json()["order_status"] == OrderStatus.REFUNDED
    assert _stock(order) == 5


def test_a_customer_cannot_refund(stripe_gateway, user_client, paid):
    order, payment = paid

    response = user_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 403
    assert stripe_gateway.requests_to("POST", "/v1/refunds") == []
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_refund_without_a_succeeded_payment_is_409(stripe_gateway, staff_client, user):
    order = make_order(user)

    response = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "payment_not_refundable"
    assert stripe_gateway.state.requests == []


def test_refund_twice_after_completion_is_409(stripe_gateway, staff_client, paid):
    order, _payment = paid
    staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    again = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert again.status_code == 409
    assert "already refunded" in again.json()["errors"][0]["detail"]


def test_a_retried_refund_with_its_idempotency_key_gets_the_first_answer(stripe_gateway, staff_client, paid):
    """API.md: refund takes an Idempotency-Key. Staff whose first answer was lost retry and see the
    refund they made, not a 409; Stripe was asked once."""
    order, _payment = paid
    headers = {"HTTP_IDEMPOTENCY_KEY": "refund-NC-1-attempt"}

    first = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json", **headers)
    retry = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json", **headers)
    other_body = staff_client.post(REFUND_URL, {"order_id": order.pk + 1}, format="json", **headers)

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json() and retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert len(stripe_gateway.requests_to("POST", "/v1/refunds")) == 1
    assert other_body.status_code == 422
    assert other_body.json()["errors"][0]["code"] == "idempotency_key_reused"


def test_refund_of_an_unknown_order_is_404(stripe_gateway, staff_client):
    assert staff_client.post(REFUND_URL, {"order_id": 999999}, format="json").status_code == 404


@pytest.mark.parametrize(
    ("fault", "status"),
    [({"status": 500}, 502), ({"status": 429}, 503), (None, 502)],
    ids=["stripe-500", "stripe-429", "timeout"],
)
def test_stripe_failing_during_a_refund_changes_nothing_and_the_retry_refunds_once(
    stripe_gateway, settings, staff_client, paid, fault, status
):
    order, payment = paid
    if fault is None:
        settings.STRIPE_TIMEOUT_SECONDS = 0.5
        stripe_gateway.slow_next(1, seconds=1.5)  # Stripe makes the refund; its answer never arrives in time
    else:
        stripe_gateway.fail_next(1, **fault)

    response = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == status, response.content
    assert error_code(response) == "payment_provider_error"
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (order.status, payment.status, payment.provider_refund_id) == (OrderStatus.PAID, PaymentStatus.SUCCEEDED, "")

    retried = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert retried.status_code == 200, retried.content
    posts = stripe_gateway.requests_to("POST", "/v1/refunds")
    assert {r.idempotency_key for r in posts} == {f"order-{order.pk}-refund"}
    assert len(stripe_gateway.state.refunds) == 1


def test_a_partial_refund_in_the_dashboard_is_flagged_not_applied(stripe_gateway, api_client, paid):
    order, payment = paid

    response = post_event(api_client, charge_refunded_event(payment.provider_payment_id, amount=1999, refunded=False))

    assert response.json()["outcome"] == "partial_refund_recorded"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert payment.needs_review is True and "partial refund" in payment.last_error


def test_the_admin_refund_action_uses_the_same_service(stripe_gateway, client, paid):
    from tests.factories import StaffFactory

    order, payment = paid
    admin_user = StaffFactory(is_superuser=True)
    client.force_login(admin_user)

    to_confirm = client.post(
        "/admin/payments/payment/", {"action": "refund_payments", "_selected_action": [payment.pk]}, follow=True
    )
    assert stripe_gateway.requests_to("POST", "/v1/refunds") == []  # nothing before the confirmation
    response = client.post(to_confirm.redirect_chain[-1][0], follow=True)

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    [sent] = stripe_gateway.requests_to("POST", "/v1/refunds")
    assert sent.idempotency_key == f"order-{order.pk}-refund"
    assert b"refund" in response.content


def test_the_admin_shows_payments_and_events_read_only(stripe_gateway, client, paid):
    from tests.factories import StaffFactory

    order, payment = paid
    client.force_login(StaffFactory(is_superuser=True))

    assert client.get("/admin/payments/payment/").status_code == 200
    detail = client.get(f"/admin/payments/payment/{payment.pk}/change/")
    assert detail.status_code == 200
    assert payment.client_secret.encode() not in detail.content
    assert client.get("/admin/payments/webhookevent/").status_code == 200
    assert client.get("/admin/payments/payment/add/").status_code == 403
    assert client.post(f"/admin/payments/payment/{payment.pk}/delete/", {"post": "yes"}).status_code == 403
