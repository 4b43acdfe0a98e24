"""Staff reports: the sales report per day and the analytics dashboard."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus, PaymentMethod, ShippingMethod, ShippingZone, TaxRate
from orders.services import order_place_from_cart, order_transition
from orders.transitions import Actor
from orders.vouchers import cart_voucher_apply
from tests.factories import AddressFactory, OrderFactory, OrderItemFactory, ProductFactory, UserFactory, VoucherFactory
from tests.orders.helpers import fill_cart

pytestmark = pytest.mark.django_db
S = OrderStatus
D = Decimal
ZERO_DAY = {
    "gross": "0.00",
    "refunds": "0.00",
    "revenue": "0.00",
    "tax": "0.00",
    "shipping_total": "0.00",
    "discounts": "0.00",
    "orders": 0,
    "average_order_value": "0.00",
}


def _paid(days_ago: int, total: str, status=S.PAID, **kwargs):
    paid_at = timezone.now() - timedelta(days=days_ago)
    return OrderFactory(status=status, total=Decimal(total), subtotal=Decimal(total), paid_at=paid_at, **kwargs)


def test_sales_report_per_day_with_totals(staff_client):
    today = timezone.localdate()
    _paid(0, "10.00")
    _paid(0, "20.01", status=S.SHIPPED)
    _paid(2, "5.00", status=S.DELIVERED, payment_method="cod")
    _paid(2, "100.00", status=S.REFUNDED)  # refunded since: counted on the day it was paid, given back
    OrderFactory(status=S.PENDING, total=Decimal("50.00"))  # unpaid: not revenue
    OrderFactory(status=S.SHIPPED, payment_method="cod", total=Decimal("7.00"))  # COD on its way: not yet paid
    _paid(10, "70.00")  # outside a 7-day window

    response = staff_client.get("/api/orders/sales-report/", {"days": 7})

    assert response.status_code == 200
    body = response.json()
    assert body["days"] == 7
    assert body["currency"] == "usd"
    assert body["end_date"] == today.isoformat()
    assert body["start_date"] == (today - timedelta(days=6)).isoformat()
    assert len(body["daily"]) == 7
    by_date = {row["date"]: row for row in body["daily"]}
    assert by_date[today.isoformat()] == {
        "date": today.isoformat(),
        "gross": "30.01",
        "refunds": "0.00",
        "revenue": "30.01",
        "tax": "0.00",
        "shipping_total": "0.00",
        "discounts": "0.00",
        "orders": 2,
        "average_order_value": "15.01",
    }
    two_days_ago = by_date[(today - timedelta(days=2)).isoformat()]
    assert (two_days_ago["gross"], two_days_ago["refunds"], two_days_ago["revenue"]) == ("105.00", "100.00", "5.00")
    assert (two_days_ago["orders"], two_days_ago["average_order_value"]) == (2, "52.50")
    assert by_date[(today - timedelta(days=1)).isoformat()] == {
        "date": (today - timedelta(days=1)).isoformat(),
        **ZERO_DAY,
    }
    assert body["totals"] == {
        **ZERO_DAY,
        "gross": "135.01",
        "refunds": "100.00",
        "revenue": "35.01",
        "orders": 4,
        "average_order_value": "33.75",
    }


def test_sales_report_defaults_to_30_days(staff_client):
    body = staff_client.get("/api/orders/sales-report/").json()

    assert body["days"] == 30 and len(body["daily"]) == 30
    assert body["totals"] == ZERO_DAY


@pytest.mark.parametrize("days", ["0", "366", "-1", "abc", "1.5"])
def test_sales_report_invalid_days_is_400(staff_client, days):
    response = staff_client.get("/api/orders/sales-report/", {"days": days})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "days"


def test_sales_report_query_budget(staff_client, django_assert_max_num_queries):
    for days_ago in range(5):
        _paid(days_ago, "9.99")

    # The staff user, their permissions (Django's ModelBackend: the user's own and their groups'),
    # the aggregate.
    with django_assert_max_num_queries(4):
        response = staff_client.get("/api/orders/sales-report/", {"days": 365})

    assert response.json()["totals"]["orders"] == 5


def test_analytics_dashboard(staff_client, settings):
    settings.LOW_STOCK_THRESHOLD = 3
    mug = ProductFactory(name="Mug", sku="MUG", stock=2)
    lamp = ProductFactory(name="Lamp", sku="LAMP", stock=3)
    ProductFactory(stock=0, is_active=False)  # inactive: not counted as low stock
    ProductFactory(stock=50)
    paid = _paid(0, "40.00")
    OrderItemFactory(order=paid, product=mug, quantity=5, unit_price=Decimal("2.00"), line_total=Decimal("10.00"))
    OrderItemFactory(order=paid, product=lamp, quantity=1, unit_price=Decimal("30.00"), line_total=Decimal("30.00"))
    delivered = _paid(1, "4.00", status=S.DELIVERED)
    OrderItemFactory(order=delivered, product=mug, quantity=2, unit_price=Decimal("2.00"), line_total=Decimal("4.00"))
    cancelled = OrderFactory(status=S.CANCELLED, total=Decimal("300.00"))
    OrderItemFactory(order=cancelled, product=lamp, quantity=10, line_total=Decimal("300.00"))
    OrderFactory(status=S.PENDING)

    response = staff_client.get("/api/analytics/")

    assert response.status_code == 200
    body = response.json()
    assert body["revenue"] == "44.00"
    assert body["currency"] == "usd"
    assert body["orders_total"] == 4
    assert body["orders_by_status"] == {
        "PENDING": 1,
        "PAID": 1,
        "PROCESSING": 0,
        "SHIPPED": 0,
        "DELIVERED": 1,
        "CANCELLED": 1,
        "REFUNDED": 0,
    }
    assert body["top_products_by_quantity"] == [
        {"product": mug.pk, "name": "Mug", "sku": "MUG", "quantity": 7, "revenue": "14.00"},
        {"product": lamp.pk, "name": "Lamp", "sku": "LAMP", "quantity": 1, "revenue": "30.00"},
    ]
    assert [p["product"] for p in body["top_products_by_revenue"]] == [lamp.pk, mug.pk]
    assert body["low_stock_threshold"] == 3
    assert body["low_stock_count"] == 2


def test_analytics_top_products_capped_at_ten(staff_client):
    order = _paid(0, "100.00")
    for quantity in range(1, 13):
        OrderItemFactory(order=order, quantity=quantity, line_total=Decimal(quantity))

    body = staff_client.get("/api/analytics/").json()

    assert [p["quantity"] for p in body["top_products_by_quantity"]] == list(range(12, 2, -1))
    assert len(body["top_products_by_revenue"]) == 10


def test_revenue_is_one_definition_in_the_sales_report_and_the_dashboard(staff_client):
    """A cash-on-delivery parcel on its way is not revenue yet in either report; once delivered
    (paid_at set) it is, in both."""
    _paid(0, "10.00")
    on_its_way = OrderFactory(status=S.SHIPPED, payment_method="cod", total=Decimal("7.00"), subtotal=Decimal("7.00"))
    OrderItemFactory(order=on_its_way, quantity=1, line_total=Decimal("7.00"))

    def revenues():
        report = staff_client.get("/api/orders/sales-report/", {"days": 1}).json()["totals"]["revenue"]
        dashboard = staff_client.get("/api/analytics/").json()
        sold = sum(Decimal(p["revenue"]) for p in dashboard["top_products_by_revenue"])
        return report, dashboard["revenue"], sold

    assert revenues() == ("10.00", "10.00", Decimal("0"))

    on_its_way.status, on_its_way.paid_at = S.DELIVERED, timezone.now()
    on_its_way.save(update_fields=["status", "paid_at"])

    assert revenues() == ("17.00", "17.00", Decimal("7.00"))


# --- Known answers: orders priced at checkout (shipping, tax, a voucher), one refunded -------------


@pytest.fixture
def shop():
    """GB: Royal Mail 3.95 (free over 50.00), a courier 7.95, VAT 20%; a mug at 12.50, a towel at
    4.99; a voucher for 10% off the whole cart."""
    zone = ShippingZone.objects.create(name="UK", countries=["GB"])
    return {
        "post": ShippingMethod.objects.create(zone=zone, name="Royal Mail", price=D("3.95"), free_over=D("50.00")),
        "courier": ShippingMethod.objects.create(zone=zone, name="Courier", price=D("7.95")),
        "vat": TaxRate.objects.create(country="GB", name="VAT 20%", rate=D("0.20")),
        "mug": ProductFactory(name="Mug", sku="MUG", price=D("12.50"), stock=50),
        "towel": ProductFactory(name="Towel", sku="TWL", price=D("4.99"), stock=50),
        "voucher": VoucherFactory(code="TENOFF", value=D("10")),
    }


def _sell(*lines, method, voucher=None, paid_days_ago=0, refunded=False) -> Order:
    """A customer's order placed from their cart (priced by orders.pricing), paid `paid_days_ago`
    days ago; `refunded`: the provider confirmed a full refund since (today)."""
    customer = UserFactory()
    fill_cart(customer, *lines)
    if voucher is not None:
        cart_voucher_apply(user=customer, cart_token=None, code=voucher.code)
    address = AddressFactory(user=customer, country="GB", state="")
    order = order_place_from_cart(
        user=customer, address_id=address.pk, payment_method=PaymentMethod.CARD, shipping_method_id=method.pk
    )
    order_transition(order_id=order.pk, to_status=S.PAID, actor=Actor.SYSTEM)
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=paid_days_ago))
    if refunded:
        order_transition(order_id=order.pk, to_status=S.REFUNDED, actor=Actor.SYSTEM)
    return Order.objects.get(pk=order.pk)


def _amounts(order: Order) -> tuple[str, ...]:
    return tuple(str(getattr(order, f)) for f in ("subtotal", "discount_total", "shipping_total", "tax_total", "total"))


def test_the_report_and_the_dashboard_with_tax_on_top(staff_client, shop):
    # Prices exclude tax (the default): tax goes on top of each line and of the shipping.
    voucher_order = _sell((shop["mug"], 2), method=shop["post"], voucher=shop["voucher"])
    # 25.00 less 2.50; VAT 4.50 on the lines and 0.79 on the shipping
    assert _amounts(voucher_order) == ("25.00", "2.50", "3.95", "5.29", "31.74")
    courier_order = _sell((shop["towel"], 3), method=shop["courier"])
    assert _amounts(courier_order) == ("14.97", "0.00", "7.95", "4.58", "27.50")  # VAT 2.99 + 1.59
    refunded = _sell((shop["towel"], 1), method=shop["post"], paid_days_ago=2, refunded=True)
    assert _amounts(refunded) == ("4.99", "0.00", "3.95", "1.79", "10.73")  # VAT 1.00 + 0.79

    body = staff_client.get("/api/orders/sales-report/", {"days": 3}).json()

    today, yesterday, paid_day = reversed(body["daily"])
    assert today == {
        "date": timezone.localdate().isoformat(),
        "gross": "59.24",
        "refunds": "0.00",
        "revenue": "59.24",
        "tax": "9.87",
        "shipping_total": "11.90",
        "discounts": "2.50",
        "orders": 2,
        "average_order_value": "29.62",
    }
    assert yesterday == {"date": (timezone.localdate() - timedelta(days=1)).isoformat(), **ZERO_DAY}
    # Refunded today, counted on the day it was paid: its total and its tax given back.
    assert paid_day == {
        "date": (timezone.localdate() - timedelta(days=2)).isoformat(),
        "gross": "10.73",
        "refunds": "10.73",
        "revenue": "0.00",
        "tax": "0.00",
        "shipping_total": "3.95",
        "discounts": "0.00",
        "orders": 1,
        "average_order_value": "10.73",
    }
    takings = {
        "gross": "69.97",
        "refunds": "10.73",
        "revenue": "59.24",
        "tax": "9.87",
        "shipping_total": "15.85",
        "discounts": "2.50",
    }
    assert body["totals"] == {**takings, "orders": 3, "average_order_value": "23.32"}

    dashboard = staff_client.get("/api/analytics/").json()

    assert {key: dashboard[key] for key in takings} == takings
    assert (dashboard["orders_paid"], dashboard["average_order_value"]) == (3, "23.32")
    # A product's revenue is what its lines brought in less their tax, refunded lines left out.
    assert dashboard["top_products_by_revenue"] == [
        {"product": shop["mug"].pk, "name": "Mug", "sku": "MUG", "quantity": 2, "revenue": "22.50"},
        {"product": shop["towel"].pk, "name": "Towel", "sku": "TWL", "quantity": 3, "revenue": "14.97"},
    ]
    assert [p["product"] for p in dashboard["top_products_by_quantity"]] == [shop["towel"].pk, shop["mug"].pk]


def test_the_report_and_the_dashboard_with_tax_inside_prices(staff_client, shop, settings):
    settings.PRICES_INCLUDE_TAX = True
    voucher_order = _sell((shop["mug"], 2), method=shop["post"], voucher=shop["voucher"])
    # 25.00 less 2.50, shipping 3.95; the VAT inside: 3.75 in the lines and 0.66 in the shipping
    assert _amounts(voucher_order) == ("25.00", "2.50", "3.95", "4.41", "26.45")
    refunded = _sell((shop["towel"], 1), method=shop["post"], refunded=True)
    assert _amounts(refunded) == ("4.99", "0.00", "3.95", "1.49", "8.94")  # VAT inside: 0.83 + 0.66

    body = staff_client.get("/api/orders/sales-report/", {"days": 1}).json()

    takings = {
        "gross": "35.39",
        "refunds": "8.94",
        "revenue": "26.45",
        "tax": "4.41",
        "shipping_total": "7.90",
        "discounts": "2.50",
    }
    [today] = body["daily"]
    assert today == {"date": timezone.localdate().isoformat(), **takings, "orders": 2, "average_order_value": "17.70"}
    assert body["totals"] == {**takings, "orders": 2, "average_order_value": "17.70"}

    dashboard = staff_client.get("/api/analytics/").json()

    assert {key: dashboard[key] for key in takings} == takings
    assert dashboard["revenue"] == body["totals"]["revenue"]
    # 22.50 paid for the mugs, 3.75 of it VAT; the refunded towel sold nothing.
    assert dashboard["top_products_by_revenue"] == [
        {"product": shop["mug"].pk, "name": "Mug", "sku": "MUG", "quantity": 2, "revenue": "18.75"},
    ]
    assert dashboard["top_products_by_quantity"] == dashboard["top_products_by_revenue"]


def test_a_partial_refund_comes_off_revenue_tax_and_its_line(
    staff_client, stripe_gateway, django_capture_on_commit_callbacks
):
    """The order of tests/payments/test_partial_refunds.py (42.00, tax 7.00; line A 3 x 10.00 at 32.40
    with 5.40 tax), one unit of A refunded (10.80): revenue 31.20, tax 7.00 less its share that went
    back (1.80), A's units 2 and its revenue net of tax (32.40 - 5.40) less the refunded unit net of
    its tax (10.80 - 1.80) = 18.00."""
    from payments.models import Payment
    from payments.refunds import RefundLineRequest, refund_create
    from tests.factories import OrderItemFactory, PaymentFactory, ProductFactory

    order = _paid(0, "42.00", tax_total=Decimal("7.00"), discount_total=Decimal("4.00"))
    a = OrderItemFactory(
        order=order,
        product=ProductFactory(price=Decimal("10.00")),
        unit_price=Decimal("10.00"),
        quantity=3,
        discount=Decimal("3.00"),
        tax=Decimal("5.40"),
        line_total=Decimal("32.40"),
    )
    intent = stripe_gateway._new_intent(amount=4200, currency="usd", metadata={})
    intent.update(status="succeeded", amount_received=4200)
    PaymentFactory(order=order, provider_payment_id=intent["id"], amount_minor=4200, status="SUCCEEDED")

    refund_create(order_id=order.pk, lines=[RefundLineRequest(a.pk, 1)])

    assert Payment.objects.get(order=order).status == "SUCCEEDED"
    totals = staff_client.get("/api/orders/sales-report/?days=1").json()["totals"]
    assert (totals["gross"], totals["refunds"], totals["revenue"], totals["tax"], totals["orders"]) == (
        "42.00",
        "10.80",
        "31.20",
        "5.20",
        1,
    )
    [top] = staff_client.get("/api/analytics/").json()["top_products_by_revenue"]
    assert (top["product"], top["quantity"], top["revenue"]) == (a.product_id, 2, "18.00")
