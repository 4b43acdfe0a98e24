"""Refunds by line, by amount and with shipping (API.md "Refunds and returns", POST /api/payments/refund/).

The order below was priced with a voucher and 20% tax on prices without tax, as orders.pricing snapshots it:

    A  3 x 10.00 = 30.00, discount 3.00, tax 5.40 -> line total 32.40
    B  1 x  5.00 =  5.00, discount 1.00, tax 0.80 -> line total  4.80
    shipping 4.00 + tax 0.80                      ->             4.80
    total                                                       42.00
"""

from decimal import Decimal

import pytest
from django.core import mail

from orders.models import OrderStatus
from orders.services import order_transition
from orders.transitions import Actor
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from products.models import ProductVariant
from tests.factories import OrderFactory, OrderItemFactory, ProductFactory
from tests.payments.helpers import INTENT_URL, REFUND_URL, error_code, post_event, succeeded_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def priced(stripe_gateway, user, user_client, api_client, django_capture_on_commit_callbacks):
    order = OrderFactory(
        user=user,
        subtotal=Decimal("35.00"),
        discount_total=Decimal("4.00"),
        shipping_total=Decimal("4.00"),
        tax_total=Decimal("7.00"),
        total=Decimal("42.00"),
        currency="usd",
        shipping_method_name="Standard",
        voucher_code="TENOFF",
    )
    a = OrderItemFactory(
        order=order,
        product=ProductFactory(price=Decimal("10.00"), stock=4),
        unit_price=Decimal("10.00"),
        quantity=3,
        discount=Decimal("3.00"),
        tax=Decimal("5.40"),
        line_total=Decimal("32.40"),
    )
    b = OrderItemFactory(
        order=order,
        product=ProductFactory(price=Decimal("5.00"), stock=2),
        unit_price=Decimal("5.00"),
        quantity=1,
        discount=Decimal("1.00"),
        tax=Decimal("0.80"),
        line_total=Decimal("4.80"),
    )
    intent_id = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json").json()["payment_intent_id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(api_client, succeeded_event(intent_id, amount=4200)).json()["outcome"] == "order_paid"
    mail.outbox.clear()
    order.refresh_from_db()
    return order, a, b


def _stock(item) -> int:
    return ProductVariant.objects.get(pk=item.variant_id).stock


def _refund(client, order, **body):
    return client.post(REFUND_URL, {"order_id": order.pk, **body}, format="json")


def test_one_unit_of_a_line_returns_its_share_of_discount_and_tax_and_restocks_it(
    stripe_gateway, staff_client, user_client, priced, django_capture_on_commit_callbacks
):
    order, a, _b = priced

    with django_capture_on_commit_callbacks(execute=True):
        response = _refund(staff_client, order, lines=[{"order_item_id": a.pk, "quantity": 1}], reason="Damaged")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["amount"], body["status"], body["payment_status"], body["order_status"]) == (
        "10.80",
        "succeeded",
        "partially_refunded",
        OrderStatus.PAID,
    )
    [sent] = stripe_gateway.requests_to("POST", "/v1/refunds")
    assert sent.form["amount"] == "1080"
    assert _stock(a) == 5  # restocked by default with lines
    order.refresh_from_db()
    assert order.refunded_total == Decimal("10.80")
    payment = Payment.objects.get(order=order)
    assert payment.status == PaymentStatus.SUCCEEDED  # 31.20 still held
    [message] = mail.outbox
    assert message.subject == f"Part of order {order.number} was refunded"
    assert "We have refunded 10.80 USD of this order" in message.body
    assert "1 x " + a.product_name in message.body and "Refunded in all: 10.80 of 42.00 USD" in message.body
    detail = user_client.get(f"/api/orders/{order.pk}/").json()
    assert detail["refunds"] == [
        {
            "id": body["refund_id"],
            "amount": "10.80",
            "currency": "usd",
            "status": "succeeded",
            "reason": "Damaged",
            "lines": [{"order_item_id": a.pk, "quantity": 1}],
            "shipping": False,
            "created_at": detail["refunds"][0]["created_at"],
        }
    ]


def test_refunds_in_steps_add_up_to_exactly_what_was_paid(stripe_gateway, staff_client, priced):
    """10.80 + 21.60 (the other two units) + shipping 4.80 + the rest (line B, 4.80) = 42.00."""
    order, a, b = priced

    amounts = [
        _refund(staff_client, order, lines=[{"order_item_id": a.pk, "quantity": 1}]).json()["amount"],
        _refund(staff_client, order, lines=[{"order_item_id": a.pk, "quantity": 2}]).json()["amount"],
        _refund(staff_client, order, shipping=True).json()["amount"],
    ]
    last = _refund(staff_client, order)  # whatever is left: line B

    assert amounts == ["10.80", "21.60", "4.80"]
    assert last.status_code == 200 and last.json()["amount"] == "4.80"
    assert (last.json()["order_status"], last.json()["payment_status"]) == (OrderStatus.REFUNDED, "refunded")
    order.refresh_from_db()
    assert order.refunded_total == order.total == Decimal("42.00")
    assert sum(int(r.form["amount"]) for r in stripe_gateway.requests_to("POST", "/v1/refunds")) == 4200
    assert Payment.objects.get(order=order).status == PaymentStatus.REFUNDED
    assert [line.quantity for line in Refund.objects.order_by("pk").last().lines.all()] == [1]
    assert (_stock(a), _stock(b)) == (7, 3)  # every unit back, each once
    again = _refund(staff_client, order)
    assert (again.status_code, error_code(again)) == (409, "payment_not_refundable")


def test_a_line_with_its_shipping_and_without_restocking(stripe_gateway, staff_client, priced):
    order, _a, b = priced

    response = _refund(
        staff_client, order, lines=[{"order_item_id": b.pk, "quantity": 1}], shipping=True, restock=False
    )

    assert response.json()["amount"] == "9.60"  # 4.80 + 4.80
    assert _stock(b) == 2
    refund = Refund.objects.get(pk=response.json()["refund_id"])
    assert (refund.shipping, refund.shipping_minor, [line.restock for line in refund.lines.all()]) == (
        True,
        480,
        [False],
    )


def test_a_goodwill_amount_goes_back_on_its_own(stripe_gateway, staff_client, priced):
    order, a, _b = priced

    response = _refund(staff_client, order, amount="5.00", reason="Late delivery")

    assert response.status_code == 200
    refund = Refund.objects.get(pk=response.json()["refund_id"])
    assert (refund.amount_minor, refund.goodwill_minor, refund.lines.count()) == (500, 500, 0)
    assert _stock(a) == 4
    # What is left then is 37.00, not the 42.00 the lines and shipping are worth.
    rest = _refund(staff_client, order)
    assert rest.json()["amount"] == "37.00" and rest.json()["order_status"] == OrderStatus.REFUNDED


@pytest.mark.parametrize(
    ("body", "status", "code", "attr"),
    [
        ({"lines": [{"order_item_id": 999999, "quantity": 1}]}, 400, "invalid_refund_line", "lines.0.order_item_id"),
        ("too_many", 400, "invalid_refund_line", "lines.0.quantity"),
        ("twice", 400, "invalid_refund_line", "lines.1.order_item_id"),
        ("with_amount", 400, "invalid_refund_line", "amount"),
        ({"amount": "42.01"}, 409, "refund_exceeds_paid", None),
        ({"amount": "0.00"}, 400, "min_value", "amount"),
        ({"lines": []}, 400, "empty", "lines"),
        ({"lines": [{"order_item_id": 1, "quantity": 0}]}, 400, "min_value", "lines"),
    ],
)
def test_refusals_refund_nothing(stripe_gateway, staff_client, priced, body, status, code, attr):
    order, a, _b = priced
    body = (
        {
            "too_many": {"lines": [{"order_item_id": a.pk, "quantity": 4}]},
            "twice": {"lines": [{"order_item_id": a.pk, "quantity": 1}, {"order_item_id": a.pk, "quantity": 1}]},
            "with_amount": {"lines": [{"order_item_id": a.pk, "quantity": 1}], "amount": "1.00"},
        }.get(body, body)
        if isinstance(body, str)
        else body
    )

    response = _refund(staff_client, order, **body)

    assert response.status_code == status, response.content
    error = response.json()["errors"][0]
    assert (error["code"], error["attr"]) == (code, attr)
    assert Refund.objects.count() == 0
    assert stripe_gateway.requests_to("POST", "/v1/refunds") == []


def test_an_item_of_another_order_is_not_refundable_here(stripe_gateway, staff_client, priced, user):
    order, _a, _b = priced
    foreign = OrderItemFactory(order=OrderFactory(user=user))

    response = _refund(staff_client, order, lines=[{"order_item_id": foreign.pk, "quantity": 1}])

    assert (response.status_code, error_code(response)) == (400, "invalid_refund_line")


def test_units_or_shipping_refunded_before_are_a_409(stripe_gateway, staff_client, priced):
    order, a, _b = priced
    assert (
        _refund(staff_client, order, lines=[{"order_item_id": a.pk, "quantity": 2}], shipping=True).status_code == 200
    )

    units = _refund(staff_client, order, lines=[{"order_item_id": a.pk, "quantity": 2}])
    shipping = _refund(staff_client, order, shipping=True)

    assert (units.status_code, error_code(units), units.json()["errors"][0]["attr"]) == (
        409,
        "refund_exceeds_paid",
        "lines.0.quantity",
    )
    assert "only 1 not refunded yet" in units.json()["errors"][0]["detail"]
    assert (shipping.status_code, error_code(shipping)) == (409, "refund_exceeds_paid")


def test_a_failed_refund_gives_nothing_back_and_frees_its_amount(stripe_gateway, staff_client, priced):
    order, a, _b = priced
    stripe_gateway.state.refund_status = "failed"

    failed = _refund(staff_client, order, lines=[{"order_item_id": a.pk, "quantity": 3}])

    assert (failed.status_code, error_code(failed)) == (502, "refund_failed")
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.FAILED
    order.refresh_from_db()
    assert (order.refunded_total, order.payment_status, _stock(a)) == (0, "paid", 4)
    assert Payment.objects.get(order=order).status == PaymentStatus.SUCCEEDED
    stripe_gateway.state.refund_status = "succeeded"
    assert _refund(staff_client, order, lines=[{"order_item_id": a.pk, "quantity": 3}]).json()["amount"] == "32.40"


def test_a_pending_refund_that_fails_later_is_released_by_the_refund_failed_event(
    stripe_gateway, staff_client, api_client, priced
):
    from tests.payments.helpers import make_event

    order, a, _b = priced
    stripe_gateway.state.refund_status = "pending"
    pending = _refund(staff_client, order, lines=[{"order_item_id": a.pk, "quantity": 1}]).json()
    refund = Refund.objects.get(pk=pending["refund_id"])
    obj = dict(
        stripe_gateway.state.refunds[refund.provider_refund_id], status="failed", failure_reason="lost_or_stolen_card"
    )

    response = post_event(api_client, make_event("refund.failed", obj))

    assert response.json()["outcome"] == f"refund {refund.pk}: pending -> failed"
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED and "lost_or_stolen_card" in refund.last_error
    assert Payment.objects.get(order=order).status == PaymentStatus.SUCCEEDED
    assert _stock(a) == 4


def test_lines_of_a_shipped_order_restock_only_when_asked(stripe_gateway, staff, staff_client, priced):
    order, a, _b = priced
    order_transition(
        order_id=order.pk, to_status=OrderStatus.SHIPPED, actor=Actor.STAFF, user=staff, tracking_number="T1"
    )

    everything = _refund(staff_client, order)  # the goods are with the customer: nothing restocked

    assert everything.json()["order_status"] == OrderStatus.REFUNDED
    assert _stock(a) == 4


def test_a_voucher_use_is_not_given_back_by_a_refund(stripe_gateway, staff_client, priced):
    from orders.models import VoucherRedemption
    from tests.factories import VoucherFactory

    order, a, _b = priced
    voucher = VoucherFactory(code="TENOFF", used_count=1)
    VoucherRedemption.objects.create(voucher=voucher, order=order, user=order.user)

    _refund(staff_client, order, lines=[{"order_item_id": a.pk, "quantity": 1}])
    _refund(staff_client, order)

    voucher.refresh_from_db()
    assert voucher.used_count == 1 and VoucherRedemption.objects.filter(order=order).exists()


def test_a_zero_decimal_currency_is_refunded_in_whole_units(
    stripe_gateway, settings, staff_client, user, user_client, api_client
):
    settings.STORE_CURRENCY = "jpy"
    order = OrderFactory(user=user, subtotal=Decimal("3000"), total=Decimal("3000"), currency="jpy")
    item = OrderItemFactory(order=order, unit_price=Decimal("1000"), quantity=3, line_total=Decimal("3000"))
    intent_id = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json").json()["payment_intent_id"]
    post_event(api_client, succeeded_event(intent_id, amount=3000, currency="jpy"))

    response = _refund(staff_client, order, lines=[{"order_item_id": item.pk, "quantity": 1}])

    assert response.status_code == 200, response.content
    [sent] = stripe_gateway.requests_to("POST", "/v1/refunds")
    assert sent.form["amount"] == "1000"  # yen have no minor unit: never x100
    order.refresh_from_db()
    assert order.refunded_total == Decimal("1000")
