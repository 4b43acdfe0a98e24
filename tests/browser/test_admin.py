"""The admin as each staff role uses it, through the pages: log in, adjust stock, ship, read the sales chart."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from novacart.permissions import CATALOG_MANAGERS, FINANCE, ORDER_MANAGERS, ROLES, SUPPORT
from orders.models import Order, OrderStatus
from orders.services import order_transition
from orders.transitions import Actor
from products.models import Product, StockMovement
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import place_order


def _paid_order(**kwargs) -> Order:
    order = place_order(UserFactory(), **kwargs)
    order_transition(order_id=order.pk, to_status=OrderStatus.PAID, actor=Actor.SYSTEM)
    return order


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_logs_in_through_the_admin_form(admin_page_as, shot, role):
    page = admin_page_as(role)

    shot(page, "admin-index")
    expect(page.locator("#user-tools")).to_contain_text(f"Welcome, {page.user.get_short_name()}")


def test_catalog_manager_adjusts_stock_from_the_product_page(admin_page_as, shot):
    product = ProductFactory(name="Blue Mug", sku="MUG-BLUE", stock=10)
    page = admin_page_as(CATALOG_MANAGERS)

    page.goto(f"/admin/products/product/{product.pk}/change/")
    shot(page, "product-change-form")
    page.get_by_role("link", name="Adjust stock…").click()
    expect(page.get_by_role("heading", name="Adjust stock: Blue Mug")).to_be_visible()
    page.get_by_label("Units").fill("20")
    page.get_by_label("Reason").fill("received")
    shot(page, "adjust-stock-form")
    page.get_by_role("button", name="Adjust stock").click()

    page.wait_for_url(f"**/admin/products/product/{product.pk}/change/")
    expect(page.locator(".messagelist")).to_contain_text("Stock of Blue Mug: +20 (received), now 30.")
    expect(page.locator(".field-stock_with_adjust_link .readonly")).to_contain_text("30")
    movements = page.locator("#stock_movements-group tbody tr.has_original")
    expect(movements).to_have_count(1)
    expect(movements.first).to_contain_text("received")
    expect(movements.first).to_contain_text("30")
    shot(page, "stock-adjusted")
    assert Product.objects.get(pk=product.pk).stock == 30
    movement = StockMovement.objects.get(product=product)
    assert (movement.delta, movement.reason, movement.stock_after, movement.actor) == (20, "received", 30, page.user)


def test_order_manager_ships_an_order_with_a_tracking_number(admin_page_as, shot):
    order = _paid_order()
    page = admin_page_as(ORDER_MANAGERS)

    page.goto("/admin/orders/order/")
    page.get_by_role("row").filter(has_text=order.number).get_by_role("checkbox").check()
    page.locator("select[name=action]").select_option("mark_shipped")
    shot(page, "order-list-action")
    page.get_by_role("button", name="Go").click()
    tracking = page.locator(f"input[name=tracking_{order.pk}]")
    tracking.fill("1Z999AA10123456784")
    shot(page, "tracking-form")
    page.get_by_role("button", name="Mark as shipped").click()

    expect(page.locator(".messagelist")).to_contain_text("1 order(s) marked as shipped.")
    expect(page.get_by_role("row").filter(has_text=order.number)).to_contain_text("Shipped")
    shot(page, "order-shipped")
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (OrderStatus.SHIPPED, "1Z999AA10123456784")


def test_finance_opens_the_sales_report_chart(admin_page_as, shot):
    _paid_order(price=Decimal("25.00"))
    _paid_order(price=Decimal("15.00"))
    page = admin_page_as(FINANCE)

    page.goto("/admin/orders/order/")
    page.get_by_role("link", name="Sales report").click()

    expect(page.get_by_role("heading", name="Sales in the last 30 days")).to_be_visible()
    chart = page.locator("svg.sales-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar")).to_have_count(30)
    # Today's bar carries both orders and is the tallest: the chart is scaled to the best day.
    today = chart.locator("rect.bar").last
    expect(today.locator("title")).to_have_text(re.compile(r": 40\.00 USD, 2 orders$"))
    assert today.bounding_box()["height"] > 100
    shot(page, "sales-report")


def test_support_sees_no_adjust_stock_link(admin_page_as, shot):
    product = ProductFactory(name="Blue Mug", stock=10)
    page = admin_page_as(SUPPORT)

    page.goto(f"/admin/products/product/{product.pk}/change/")
    expect(page.get_by_role("heading", name="Blue Mug")).to_be_visible()
    shot(page, "product-page")
    expect(page.get_by_role("link", name=re.compile("Adjust stock"))).to_have_count(0)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="issue 14 item 2: orders/admin.py's mark_shipped declares no permission, so view-only staff get it",
)
def test_support_sees_no_ship_action(admin_page_as, shot):
    order = _paid_order()
    page = admin_page_as(SUPPORT)

    page.goto("/admin/orders/order/")
    expect(page.get_by_role("row").filter(has_text=order.number)).to_be_visible()
    shot(page, "order-list")
    actions = page.locator("select[name=action] option").evaluate_all("options => options.map(o => o.value)")
    assert "mark_shipped" not in actions
