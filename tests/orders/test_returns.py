"""Returns (API.md "Refunds and returns"): the customer asks, staff approve or reject and receive,
finance refunds the received units, each step recorded and mailed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from novacart.permissions import FINANCE, ORDER_MANAGERS, SUPPORT
from orders.models import OrderReturn, OrderStatus, ReturnStatus
from payments.models import PaymentStatus, Refund, RefundStatus
from products.models import ProductVariant
from tests.conftest import auth_client
from tests.factories import OrderFactory, OrderItemFactory, PaymentFactory, ProductFactory, UserFactory, staff_in
from tests.payments.helpers import make_event, post_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(stripe_gateway, user):
    """A card order delivered yesterday: 3 x 10.00 (line total 30.00) and 1 x 5.00, paid 35.00 at the fake Stripe."""
    now = timezone.now()
    order = OrderFactory(
        user=user,
        status=OrderStatus.DELIVERED,
        subtotal=Decimal("35.00"),
        total=Decimal("35.00"),
        currency="usd",
        paid_at=now - timedelta(days=3),
        delivered_at=now - timedelta(days=1),
    )
    shirt = OrderItemFactory(
        order=order, product=ProductFactory(price=Decimal("10.00"), stock=2), quantity=3, line_total=Decimal("30.00")
    )
    mug = OrderItemFactory(
        order=order, product=ProductFactory(price=Decimal("5.00"), stock=1), quantity=1, line_total=Decimal("5.00")
    )
    intent = stripe_gateway._new_intent(amount=3500, currency="usd", metadata={})
    intent.update(status="succeeded", amount_received=3500)
    PaymentFactory(order=order, provider_payment_id=intent["id"], amount_minor=3500, status=PaymentStatus.SUCCEEDED)
    return order, shirt, mug


def _ask(client, order, *lines, reason="Too small"):
    body = {"lines": [{"order_item_id": item.pk, "quantity": quantity} for item, quantity in lines], "reason": reason}
    return client.post(f"/api/orders/{order.pk}/returns/", body, format="json")


def _move(client, order_return_id, status, **extra):
    return client.patch(f"/api/returns/{order_return_id}/", {"status": status, **extra}, format="json")


def _stock(item) -> int:
    return ProductVariant.objects.get(pk=item.variant_id).stock


@pytest.fixture
def managers():
    return auth_client(staff_in(ORDER_MANAGERS))


@pytest.fixture
def finance():
    client = auth_client(staff_in(FINANCE))
    client.raise_request_exception = False
    return client


def test_the_whole_way_requested_approved_received_refunded(
    delivered, user_client, managers, finance, stripe_gateway, django_capture_on_commit_callbacks
):
    order, shirt, mug = delivered

    with django_capture_on_commit_callbacks(execute=True):
        asked = _ask(user_client, order, (shirt, 2), (mug, 1))
    assert asked.status_code == 201, asked.content
    body = asked.json()
    return_id = body["id"]
    assert (body["status"], body["order_number"], body["refund_id"]) == ("REQUESTED", order.number, None)
    assert [(line["order_item_id"], line["quantity"], line["restock"]) for line in body["lines"]] == [
        (shirt.pk, 2, True),
        (mug.pk, 1, True),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        assert _move(managers, return_id, "APPROVED").json()["status"] == "APPROVED"
        received = _move(
            managers, return_id, "RECEIVED", lines=[{"order_item_id": mug.pk, "restock": False}], note="Mug chipped"
        )
    assert received.status_code == 200
    assert [line["restock"] for line in received.json()["lines"]] == [True, False]
    assert stripe_gateway.requests_to("POST", "/v1/refunds") == []  # nothing is refunded before finance does it

    with django_capture_on_commit_callbacks(execute=True):
        refunded = finance.post(f"/api/returns/{return_id}/refund/")

    assert refunded.status_code == 200, refunded.content
    after = refunded.json()
    assert after["status"] == "REFUNDED" and after["refund_id"] is not None
    refund = Refund.objects.get(pk=after["refund_id"])
    assert (refund.amount_minor, refund.status) == (2500, RefundStatus.SUCCEEDED)  # 2 x 10.00 + 5.00
    [sent] = stripe_gateway.requests_to("POST", "/v1/refunds")
    assert sent.form["amount"] == "2500"
    assert (_stock(shirt), _stock(mug)) == (4, 1)  # the shirts back on sale, the chipped mug not
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.refunded_total) == (
        OrderStatus.DELIVERED,
        "partially_refunded",
        Decimal("25.00"),
    )
    assert [c["to_status"] for c in after["status_history"]] == ["REQUESTED", "APPROVED", "RECEIVED", "REFUNDED"]
    assert {c["actor"] for c in after["status_history"]} == {"customer", "staff", "system"}
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        f"We have your return request for order {order.number}",
        f"Your return for order {order.number} is approved",
        f"The goods you sent back from order {order.number} have arrived",
        f"Your return for order {order.number} is refunded",
        f"Part of order {order.number} was refunded",
    ]
    assert "2 x " + shirt.product_name in mail.outbox[0].body
    assert user_client.get(f"/api/orders/{order.pk}/returns/").json()[0]["status"] == "REFUNDED"


def test_a_pending_refund_leaves_the_return_received_until_stripe_confirms(
    delivered, user_client, managers, finance, api_client, stripe_gateway
):
    order, shirt, _mug = delivered
    stripe_gateway.state.refund_status = "pending"
    return_id = _ask(user_client, order, (shirt, 1)).json()["id"]
    _move(managers, return_id, "APPROVED")
    _move(managers, return_id, "RECEIVED")

    pending = finance.post(f"/api/returns/{return_id}/refund/")
    again = finance.post(f"/api/returns/{return_id}/refund/")

    assert pending.status_code == 200 and pending.json()["status"] == "RECEIVED"
    assert (again.status_code, again.json()["errors"][0]["code"]) == (409, "invalid_transition")
    refund = Refund.objects.get(pk=pending.json()["refund_id"])
    obj = dict(stripe_gateway.state.refunds[refund.provider_refund_id], status="succeeded")
    assert post_event(api_client, make_event("refund.updated", obj)).status_code == 200
    assert OrderReturn.objects.get(pk=return_id).status == ReturnStatus.REFUNDED
    assert _stock(shirt) == 3


def test_a_rejected_return_gives_its_units_up(delivered, user_client, managers):
    order, shirt, _mug = delivered
    first = _ask(user_client, order, (shirt, 3)).json()["id"]
    refused = _ask(user_client, order, (shirt, 1))
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (400, "invalid_return_line")
    assert refused.json()["errors"][0]["attr"] == "lines.0.quantity"

    assert _move(managers, first, "REJECTED", note="Worn").json()["status"] == "REJECTED"

    assert _ask(user_client, order, (shirt, 3)).status_code == 201


@pytest.mark.parametrize(
    ("lines", "attr"),
    [
        ("foreign", "lines.0.order_item_id"),
        ("too_many", "lines.0.quantity"),
        ("twice", "lines.1.order_item_id"),
    ],
)
def test_lines_past_what_was_delivered_are_refused(delivered, user_client, user, lines, attr):
    order, shirt, _mug = delivered
    foreign = OrderItemFactory(order=OrderFactory(user=user))
    lines = {"foreign": [(foreign, 1)], "too_many": [(shirt, 4)], "twice": [(shirt, 1), (shirt, 1)]}[lines]

    response = _ask(user_client, order, *lines)

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["code"], error["attr"]) == ("invalid_return_line", attr)
    assert OrderReturn.objects.count() == 0


def test_units_refunded_outside_a_return_cannot_be_returned(delivered, user_client, finance):
    order, shirt, _mug = delivered
    refunded = finance.post(
        "/api/payments/refund/",
        {"order_id": order.pk, "lines": [{"order_item_id": shirt.pk, "quantity": 2}]},
        format="json",
    )
    assert refunded.status_code == 200, refunded.content

    assert _ask(user_client, order, (shirt, 2)).status_code == 400
    assert _ask(user_client, order, (shirt, 1)).status_code == 201


def test_past_the_window_is_a_409(delivered, user_client, settings):
    order, shirt, _mug = delivered
    settings.RETURN_WINDOW_DAYS = 30
    order.delivered_at = timezone.now() - timedelta(days=31)
    order.save(update_fields=["delivered_at"])

    response = _ask(user_client, order, (shirt, 1))

    assert (response.status_code, response.json()["errors"][0]["code"]) == (409, "return_window_closed")
    assert "30 days after it was delivered" in response.json()["errors"][0]["detail"]


def test_an_order_not_delivered_cannot_be_returned(delivered, user_client):
    order, shirt, _mug = delivered
    order.status = OrderStatus.SHIPPED
    order.save(update_fields=["status"])

    response = _ask(user_client, order, (shirt, 1))

    assert (response.status_code, response.json()["errors"][0]["code"]) == (409, "invalid_transition")


def test_another_customers_order_and_its_returns_are_404(delivered, user_client):
    order, shirt, _mug = delivered
    stranger = auth_client(UserFactory())
    _ask(user_client, order, (shirt, 1))

    assert _ask(stranger, order, (shirt, 1)).status_code == 404
    assert stranger.get(f"/api/orders/{order.pk}/returns/").status_code == 404
    assert OrderReturn.objects.count() == 1


def test_moves_out_of_order_are_409_and_change_nothing(delivered, user_client, managers, finance):
    order, shirt, _mug = delivered
    return_id = _ask(user_client, order, (shirt, 1)).json()["id"]

    received = _move(managers, return_id, "RECEIVED")
    refund = finance.post(f"/api/returns/{return_id}/refund/")

    assert (received.status_code, received.json()["errors"][0]["code"]) == (409, "invalid_transition")
    assert "allowed: APPROVED, REJECTED" in received.json()["errors"][0]["detail"]
    assert (refund.status_code, refund.json()["errors"][0]["code"]) == (409, "invalid_transition")
    assert OrderReturn.objects.get(pk=return_id).status == ReturnStatus.REQUESTED
    assert Refund.objects.count() == 0
    assert _move(managers, return_id, "REFUNDED").status_code == 400  # not a status staff set by hand


@pytest.mark.parametrize(
    ("role", "list_status", "patch_status", "refund_status"),
    [
        (ORDER_MANAGERS, 200, 200, 403),
        (FINANCE, 200, 403, 409),  # may refund: refused here only because the return is not received
        (SUPPORT, 200, 403, 403),
        (None, 403, 403, 403),
    ],
)
def test_staff_roles(delivered, user_client, role, list_status, patch_status, refund_status):
    order, shirt, _mug = delivered
    return_id = _ask(user_client, order, (shirt, 1)).json()["id"]
    client = auth_client(staff_in(role) if role else UserFactory())
    client.raise_request_exception = False

    assert client.get("/api/returns/?status=REQUESTED").status_code == list_status
    assert _move(client, return_id, "APPROVED").status_code == patch_status
    assert client.post(f"/api/returns/{return_id}/refund/").status_code == refund_status


def test_the_staff_queue_filters_by_status_oldest_first(delivered, user_client, managers):
    order, shirt, mug = delivered
    first = _ask(user_client, order, (shirt, 1)).json()["id"]
    second = _ask(user_client, order, (mug, 1)).json()["id"]
    _move(managers, second, "APPROVED")

    requested = managers.get("/api/returns/?status=REQUESTED").json()
    everything = managers.get("/api/returns/").json()

    assert [r["id"] for r in requested["results"]] == [first]
    assert [r["id"] for r in everything["results"]] == [first, second]
    assert managers.get("/api/returns/?status=LOST").status_code == 400
