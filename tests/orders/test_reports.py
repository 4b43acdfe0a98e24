"""Staff reports: the sales report per day and the analytics dashboard."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import OrderStatus
from tests.factories import OrderFactory, OrderItemFactory, ProductFactory

pytestmark = pytest.mark.django_db
S = OrderStatus


def _paid(days_ago: int, total: str, status=S.PAID, **kwargs):
    paid_at = timezone.now() - timedelta(days=days_ago)
    return OrderFactory(status=status, total=Decimal(total), subtotal=Decimal(total), paid_at=paid_at, **kwargs)


def test_sales_report_per_day_with_totals(staff_client):
    today = timezone.localdate()
    _paid(0, "10.00")
    _paid(0, "20.01", status=S.SHIPPED)
    _paid(2, "5.00", status=S.DELIVERED, payment_method="cod")
    _paid(2, "100.00", status=S.REFUNDED)  # refunded: not revenue
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
        "revenue": "30.01",
        "orders": 2,
        "average_order_value": "15.01",
    }
    assert by_date[(today - timedelta(days=2)).isoformat()]["revenue"] == "5.00"
    assert by_date[(today - timedelta(days=1)).isoformat()] == {
        "date": (today - timedelta(days=1)).isoformat(),
        "revenue": "0.00",
        "orders": 0,
        "average_order_value": "0.00",
    }
    assert body["totals"] == {"revenue": "35.01", "orders": 3, "average_order_value": "11.67"}


def test_sales_report_defaults_to_30_days(staff_client):
    body = staff_client.get("/api/orders/sales-report/").json()

    assert body["days"] == 30 and len(body["daily"]) == 30
    assert body["totals"] == {"revenue": "0.00", "orders": 0, "average_order_value": "0.00"}


@pytest.mark.parametrize("days", ["0", "366", "-1", "abc", "1.5"])
def test_sales_report_invalid_days_is_400(staff_client, days):
    response = staff_client.get("/api/orders/sales-report/", {"days": days})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "days"


def test_sales_report_query_budget(staff_client, django_assert_max_num_queries):
    for days_ago in range(5):
        _paid(days_ago, "9.99")

    with django_assert_max_num_queries(2):  # the staff user, the aggregate
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
