from decimal import Decimal

import pytest
from django.core import mail

from orders.models import OrderStatus
from orders.services import order_transition
from orders.transitions import Actor
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from tests.admin_forms import submit
from tests.payments.helpers import (
    INTENT_URL,
    REFUND_URL,
    charge_refunded_event,
    error_code,
    make_event,
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
    [refund] = Refund.objects.filter(order=order)
    assert body == {
        "refund_id": refund.pk,
        "amount": "19.99",
        "currency": "usd",
        "status": "succeeded",
        "provider_refund_id": refund.provider_refund_id,
        "order_id": order.pk,
        "order_status": OrderStatus.REFUNDED,
        "payment_status": "refunded",
        "refunded_total": "19.99",
    }
    [sent] = stripe_gateway.requests_to("POST", "/v1/refunds")
    assert sent.idempotency_key == f"refund-{refund.pk}"
    assert sent.form["payment_intent"] == payment.provider_payment_id
    assert sent.form["amount"] == "1999"
    assert sent.form["metadata"]["refund_id"] == str(refund.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.provider_refund_id == refund.provider_refund_id and payment.refunded_at is not None
    assert (refund.amount_minor, refund.status, refund.lines.get().quantity) == (1999, RefundStatus.SUCCEEDED, 2)
    assert _stock(order) == 7  # not shipped: the 2 units are back
    assert [m.subject for m in mail.outbox] == [f"Order {order.number} was refunded"]


def test_a_pending_refund_completes_when_stripe_confirms_and_restores_stock(
    stripe_gateway, staff_client, api_client, paid, django_capture_on_commit_callbacks
):
    order, payment = paid
    stripe_gateway.state.refund_status = "pending"

    response = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["payment_status"]) == ("pending", "paid")
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (order.status, payment.status) == (OrderStatus.PAID, PaymentStatus.REFUND_PENDING)
    assert _stock(order) == 5
    refund = Refund.objects.get(order=order)

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = post_event(
            api_client,
            charge_refunded_event(payment.provider_payment_id, amount=1999, refund_ids=[refund.provider_refund_id]),
        )

    assert confirmed.status_code == 200
    assert confirmed.json()["outcome"] == f"refund {refund.pk}: pending -> succeeded"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == (OrderStatus.REFUNDED, PaymentStatus.REFUNDED)
    assert _stock(order) == 7
    assert transitions(order, OrderStatus.REFUNDED) == 1
    assert len(mail.outbox) == 1


def test_repeating_a_refund_request_never_refunds_twice(stripe_gateway, staff_client, paid):
    """While the first refund of everything is pending, a second one finds nothing left to refund."""
    order, payment = paid
    stripe_gateway.state.refund_status = "pending"

    first = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")
    second = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert first.status_code == 200
    assert second.status_code == 409 and error_code(second) == "refund_exceeds_paid"
    assert "still pending" in second.json()["errors"][0]["detail"]
    assert len(stripe_gateway.state.refunds) == 1
    assert Refund.objects.filter(order=order).count() == 1


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
    order.refresh_from_db()
    [refund] = Refund.objects.filter(order=order)
    assert order.status == OrderStatus.PAID and order.refunded_total == 0
    assert (refund.status, refund.provider_refund_id) == (RefundStatus.PENDING, None)
    assert "no answer from the provider" in refund.last_error

    retried = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert retried.status_code == 200, retried.content
    assert retried.json()["refund_id"] == refund.pk and retried.json()["status"] == "succeeded"
    posts = stripe_gateway.requests_to("POST", "/v1/refunds")
    assert {r.idempotency_key for r in posts} == {f"refund-{refund.pk}"}
    assert len(stripe_gateway.state.refunds) == 1
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == (OrderStatus.REFUNDED, order.total)


def test_a_partial_refund_made_in_the_dashboard_is_recorded_as_a_refund_without_lines(
    stripe_gateway, api_client, user_client, paid
):
    order, payment = paid
    made = stripe_gateway.refund_in_dashboard(payment.provider_payment_id, 500)
    charge = stripe_gateway.charge_of(payment.provider_payment_id)  # no `refunds` list, as Stripe sends it now

    response = post_event(api_client, make_event("charge.refunded", charge))

    assert response.status_code == 200
    assert response.json()["outcome"] == "outside_refund_recorded: 500"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, order.payment_status, order.refunded_total) == (
        OrderStatus.PAID,
        "partially_refunded",
        Decimal("5.00"),
    )
    assert payment.status == PaymentStatus.SUCCEEDED  # 14.99 still held
    [refund] = Refund.objects.filter(order=order)
    assert (refund.source, refund.status, refund.amount_minor, refund.lines.count()) == (
        Refund.Source.PROVIDER,
        RefundStatus.SUCCEEDED,
        500,
        0,
    )
    detail = user_client.get(f"/api/orders/{order.pk}/").json()
    assert detail["payment_status"] == "partially_refunded" and detail["refunded_total"] == "5.00"
    assert [(r["amount"], r["lines"], r["shipping"], r["status"]) for r in detail["refunds"]] == [
        ("5.00", [], False, "succeeded")
    ]
    assert made["id"]  # the dashboard's refund exists at Stripe; the shop never asked for it

    again = post_event(api_client, make_event("charge.refunded", charge))  # a second event, same state
    assert again.json()["outcome"] == "ignored: nothing new"
    assert Refund.objects.filter(order=order).count() == 1


def test_the_admin_refund_action_uses_the_same_service(stripe_gateway, client, paid):
    from tests.factories import StaffFactory

    order, payment = paid
    admin_user = StaffFactory(is_superuser=True)
    client.force_login(admin_user)

    to_confirm = client.post(
        "/admin/payments/payment/", {"action": "refund_payments", "_selected_action": [payment.pk]}, follow=True
    )
    assert stripe_gateway.requests_to("POST", "/v1/refunds") == []  # nothing before the confirmation
    response = submit(client, to_confirm, "order-refund-form", follow=True)  # refund everything left

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    [sent] = stripe_gateway.requests_to("POST", "/v1/refunds")
    assert sent.idempotency_key == f"refund-{Refund.objects.get(order=order).pk}"
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
