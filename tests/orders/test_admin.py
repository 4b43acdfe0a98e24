"""The order admin: read-only records, ship/deliver actions through order_transition, the sales chart."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, OrderStatus, PaymentMethod
from orders.services import order_transition
from orders.transitions import Actor
from tests.factories import OrderFactory, UserFactory

from .helpers import place_order

pytestmark = pytest.mark.django_db
S = OrderStatus
CHANGELIST = "admin:orders_order_changelist"


@pytest.fixture
def admin_user():
    return UserFactory(is_staff=True, is_superuser=True, email="boss@example.com")


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_changelist_search_and_filters(admin_client, user):
    order = place_order(user)
    OrderFactory()

    by_number = admin_client.get(reverse(CHANGELIST), {"q": order.number})
    by_email = admin_client.get(reverse(CHANGELIST), {"q": user.email})
    filtered = admin_client.get(reverse(CHANGELIST), {"status__exact": "PENDING", "payment_method__exact": "card"})

    assert by_number.status_code == by_email.status_code == filtered.status_code == 200
    assert by_number.context["cl"].result_count == 1
    assert by_email.context["cl"].result_count == 1
    assert filtered.context["cl"].result_count == 2
    assert reverse("admin:orders_order_sales_report").encode() in by_number.content


def test_change_page_shows_items_and_history_read_only(admin_client, user):
    order = place_order(user)

    response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert response.status_code == 200
    content = response.content.decode()
    assert order.items.get().product_name in content
    assert "status history" in content.lower()
    assert 'name="status"' not in content  # the status is not an editable field
    assert not response.context["has_add_permission"]
    assert not response.context["has_delete_permission"]


def test_mark_shipped_asks_for_tracking_numbers_then_ships(admin_client, admin_user, user):
    paid = place_order(user)
    order_transition(order_id=paid.pk, to_status=S.PAID, actor=Actor.SYSTEM)
    cod = place_order(user, payment_method=PaymentMethod.COD)
    order_transition(order_id=cod.pk, to_status=S.PROCESSING, actor=Actor.STAFF)
    selected = {"action": "mark_shipped", "_selected_action": [paid.pk, cod.pk]}

    form = admin_client.post(reverse(CHANGELIST), selected)

    assert form.status_code == 200
    assert f'name="tracking_{paid.pk}"' in form.content.decode()
    assert Order.objects.get(pk=paid.pk).status == S.PAID

    done = admin_client.post(
        reverse(CHANGELIST),
        {**selected, "apply": "yes", f"tracking_{paid.pk}": "1Z-PAID", f"tracking_{cod.pk}": "1Z-COD"},
    )

    assert done.status_code == 302
    paid.refresh_from_db()
    cod.refresh_from_db()
    assert (paid.status, paid.tracking_number) == (S.SHIPPED, "1Z-PAID")
    assert (cod.status, cod.tracking_number) == (S.SHIPPED, "1Z-COD")
    change = paid.status_history.last()
    assert (change.actor_label, change.actor) == ("staff", admin_user)


def test_mark_shipped_reports_orders_that_cannot_ship(admin_client, user):
    unpaid = place_order(user)  # a card order that is not paid
    paid = place_order(user)
    order_transition(order_id=paid.pk, to_status=S.PAID, actor=Actor.SYSTEM)

    response = admin_client.post(
        reverse(CHANGELIST),
        {
            "action": "mark_shipped",
            "_selected_action": [unpaid.pk, paid.pk],
            "apply": "yes",
            f"tracking_{unpaid.pk}": "T1",
            f"tracking_{paid.pk}": "",
        },
        follow=True,
    )

    messages = _messages(response)
    assert any(unpaid.number in m and "cannot move from PENDING to SHIPPED" in m for m in messages)
    assert any(paid.number in m and "tracking number is required" in m for m in messages)
    assert Order.objects.get(pk=unpaid.pk).status == S.PENDING
    assert Order.objects.get(pk=paid.pk).status == S.PAID


def test_mark_delivered(admin_client, user):
    shipped = place_order(user, payment_method=PaymentMethod.COD)
    order_transition(order_id=shipped.pk, to_status=S.PROCESSING, actor=Actor.STAFF)
    order_transition(order_id=shipped.pk, to_status=S.SHIPPED, actor=Actor.STAFF, tracking_number="T")
    pending = place_order(user)

    response = admin_client.post(
        reverse(CHANGELIST), {"action": "mark_delivered", "_selected_action": [shipped.pk, pending.pk]}, follow=True
    )

    shipped.refresh_from_db()
    assert shipped.status == S.DELIVERED and shipped.paid_at is not None
    assert Order.objects.get(pk=pending.pk).status == S.PENDING
    messages = _messages(response)
    assert "1 order(s) marked as delivered." in messages
    assert any(pending.number in m for m in messages)


def test_sales_report_chart(admin_client):
    OrderFactory(status=S.PAID, total=Decimal("42.00"), paid_at=timezone.now())
    OrderFactory(status=S.PAID, total=Decimal("8.00"), paid_at=timezone.now() - timedelta(days=1))

    response = admin_client.get(reverse("admin:orders_order_sales_report"), {"days": 7})

    assert response.status_code == 200
    content = response.content.decode()
    assert "<svg" in content and content.count('<rect class="bar"') == 7
    assert "50.00 USD" in content  # total revenue
    assert 'height="220.0"' in content  # the best day fills the chart
    assert "<script" not in content.split('<div id="content"', 1)[1].split("</svg>")[0]


@pytest.mark.parametrize("days", ["0", "abc", "400"])
def test_sales_report_chart_bad_days_falls_back_to_30(admin_client, days):
    response = admin_client.get(reverse("admin:orders_order_sales_report"), {"days": days})

    assert response.status_code == 200
    assert response.context["report"]["days"] == 30
    assert response.context["error"]


def test_sales_report_chart_is_staff_only(user):
    client = Client()
    client.force_login(user)

    response = client.get(reverse("admin:orders_order_sales_report"))

    assert response.status_code == 302
    assert "login" in response["Location"]
