"""Real concurrency against PostgreSQL: two return requests racing for the last delivered units."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import OrderReturn, OrderStatus
from tests.concurrency import run_concurrently
from tests.conftest import auth_client, requires_postgres
from tests.factories import OrderFactory, OrderItemFactory

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_two_requests_for_the_last_units_return_them_once(user):
    order = OrderFactory(
        user=user,
        status=OrderStatus.DELIVERED,
        total=Decimal("20.00"),
        subtotal=Decimal("20.00"),
        delivered_at=timezone.now() - timedelta(days=1),
    )
    item = OrderItemFactory(order=order, quantity=2, unit_price=Decimal("10.00"), line_total=Decimal("20.00"))

    def ask():
        client = auth_client(user)
        client.raise_request_exception = False
        body = {"lines": [{"order_item_id": item.pk, "quantity": 2}]}
        response = client.post(f"/api/orders/{order.pk}/returns/", body, format="json")
        return response.status_code, response.json()

    results, errors = run_concurrently(*[ask] * 4)

    assert errors == []
    assert sorted(status for status, _ in results) == [201, 400, 400, 400]
    assert {body["errors"][0]["code"] for status, body in results if status == 400} == {"invalid_return_line"}
    assert OrderReturn.objects.filter(order=order).count() == 1
