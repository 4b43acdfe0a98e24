"""The admin as each staff role uses it, through the pages: log in, adjust stock, ship, refund from the
order page, export orders as CSV, read the sales chart; and what a role may not do it is not offered."""

import csv
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from novacart.permissions import CATALOG_MANAGERS, FINANCE, ORDER_MANAGERS, ROLES, SUPPORT
from orders.admin import CSV_HEADER
from orders.models import Order, OrderStatus
from orders.services import order_transition
from orders.transitions import Actor
from payments.models import Payment, PaymentStatus
from products.models import Product, ProductVariant, StockMovement
from tests.factories import PaymentFactory, ProductFactory, UserFactory
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


def test_catalog_manager_adds_a_variant_inline_and_adjusts_its_stock(admin_page_as, shot):
    product = ProductFactory(
        name="Tee",
        sku="TEE",
        variants=[{"sku": "TEE-S", "options": {"Size": "S"}, "price": Decimal("20.00"), "stock": 3}],
    )
    page = admin_page_as(CATALOG_MANAGERS)

    page.goto(f"/admin/products/product/{product.pk}/change/")
    page.get_by_role("button", name="Add another Variant").click()  # Django's inlines.js: a link with role=button
    row = page.locator("#variants-group tr.dynamic-variants").last
    row.locator("input[name$='-sku']").fill("TEE-M")
    row.locator("input[name$='-options']").fill("Size=M")
    row.locator("input[name$='-price']").fill("24.00")
    shot(page, "variant-row-added")
    page.get_by_role("button", name="Save and continue editing").click()

    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(page.locator(".field-price_range .readonly")).to_contain_text("20.00 – 24.00 USD")
    expect(page.locator("#variants-group tbody tr.has_original")).to_have_count(2)
    shot(page, "variant-saved")
    page.get_by_role("link", name="Adjust stock of M (TEE-M)").click()
    expect(page.get_by_role("heading", name="Adjust stock: Tee – M")).to_be_visible()
    page.get_by_label("Units").fill("12")
    page.get_by_label("Reason").fill("received")
    page.get_by_role("button", name="Adjust stock").click()

    page.wait_for_url(f"**/admin/products/product/{product.pk}/change/")
    expect(page.locator(".messagelist")).to_contain_text("Stock of Tee – M: +12 (received), now 12.")
    expect(page.locator("#stock_movements-group tbody tr.has_original").first).to_contain_text("M (TEE-M)")
    shot(page, "variant-stock-adjusted")
    variant = ProductVariant.objects.get(sku="TEE-M")
    assert (variant.product_id, variant.options, variant.stock) == (product.pk, {"Size": "M"}, 12)
    assert Product.objects.get(pk=product.pk).stock == 15


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
    page.get_by_role("button", name="Ship orders").click()

    expect(page.locator(".messagelist")).to_contain_text(f"Shipped: {order.number}.")
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


def test_support_sees_no_ship_action(admin_page_as, shot):
    order = _paid_order()
    page = admin_page_as(SUPPORT)

    page.goto("/admin/orders/order/")
    expect(page.get_by_role("row").filter(has_text=order.number)).to_be_visible()
    shot(page, "order-list")
    actions = page.locator("select[name=action] option").evaluate_all("options => options.map(o => o.value)")
    assert "mark_shipped" not in actions


def test_finance_refunds_from_the_order_page(admin_page_as, shot, settings):
    settings.PAYMENT_GATEWAY = "dummy"  # refunds at once, through the same service as Stripe's
    order = _paid_order(price=Decimal("12.50"))
    PaymentFactory(order=order, provider=Payment.Provider.DUMMY, status=PaymentStatus.SUCCEEDED, amount_minor=1250)
    page = admin_page_as(FINANCE)

    page.goto(f"/admin/orders/order/{order.pk}/change/")
    shot(page, "order-page")
    expect(page.get_by_role("link", name="Ship…")).to_have_count(0)  # Finance refunds; it does not ship
    page.get_by_role("link", name="Refund…").click()
    expect(page.locator(".refund-amount")).to_have_text("12.50 USD")
    expect(page.locator("table.refund-lines")).to_contain_text(order.items.get().sku)
    shot(page, "refund-confirmation")
    page.get_by_role("button", name="Refund 12.50 USD").click()

    expect(page.locator(".messagelist")).to_contain_text(f"{order.number}: 12.50 USD refunded.")
    shot(page, "refunded")
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert Payment.objects.get(order=order).status == PaymentStatus.REFUNDED


def test_support_sees_the_order_without_refund_or_moves(admin_page_as, shot):
    order = _paid_order()
    PaymentFactory(order=order, provider=Payment.Provider.DUMMY, status=PaymentStatus.SUCCEEDED, amount_minor=1000)
    page = admin_page_as(SUPPORT)

    page.goto(f"/admin/orders/order/{order.pk}/change/")
    expect(page.locator("#content")).to_contain_text(order.number)
    shot(page, "order-page")
    for button in ("Refund…", "Ship…", "Mark delivered", "Cancel order…"):
        expect(page.get_by_role("link", name=button)).to_have_count(0)
    expect(page.locator("input[type=submit]")).to_have_count(0)  # no Save on a page that changes nothing


def test_order_manager_exports_the_filtered_orders_as_csv(admin_page_as, shot):
    paid = _paid_order()
    pending = place_order(UserFactory())
    page = admin_page_as(ORDER_MANAGERS)

    page.goto("/admin/orders/order/?status__exact=PAID")
    expect(page.get_by_role("row").filter(has_text=paid.number)).to_be_visible()
    shot(page, "filtered-order-list")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()

    with open(download.value.path(), encoding="utf-8", newline="") as export:
        header, *rows = list(csv.reader(export))
    assert header == list(CSV_HEADER)
    assert [row[0] for row in rows] == [paid.number]  # the filter was kept: the pending order is not in it
    assert pending.number not in str(rows)


def test_the_order_list_fits_a_phone(admin_page_as, shot):
    order = _paid_order()
    page = admin_page_as(ORDER_MANAGERS)
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto("/admin/orders/order/")
    row = page.get_by_role("row").filter(has_text=order.number)
    expect(row).to_contain_text("Paid")
    expect(row).to_contain_text("10.00")
    shot(page, "order-list-390px")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the order list scrolls sideways on a phone ({width}px)"


def test_the_product_list_fits_a_phone(admin_page_as, shot):
    product = ProductFactory(name="Blue Mug", price=Decimal("7.50"), stock=12)
    catalog = admin_page_as(CATALOG_MANAGERS)
    catalog.set_viewport_size({"width": 390, "height": 844})

    catalog.goto("/admin/products/product/")
    row = catalog.get_by_role("row").filter(has_text="Blue Mug")
    expect(row.locator("td.field-price input")).to_have_value("7.50")  # editable on the list
    expect(row.locator("td.field-price input")).to_be_visible()
    expect(row.locator("td.field-stock")).to_have_text(str(product.stock))
    expect(row.locator("td.field-stock")).to_be_visible()
    expect(row.locator("td.field-sku")).to_be_hidden()
    shot(catalog, "product-list-390px")
    assert catalog.evaluate("document.documentElement.scrollWidth") <= 391


def test_the_ship_form_fits_a_phone(admin_page_as, shot):
    order = _paid_order()
    ship = admin_page_as(ORDER_MANAGERS)
    ship.set_viewport_size({"width": 390, "height": 844})
    ship.goto(f"/admin/orders/order/{order.pk}/change/")
    ship.get_by_role("link", name="Ship…").click()
    tracking = ship.get_by_label(re.compile("Tracking number", re.I))
    tracking.fill("1Z-PHONE")
    box = tracking.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    shot(ship, "ship-form-390px")
    ship.locator("input[type=submit]").first.click()
    expect(ship.locator(".messagelist")).to_contain_text(order.number)
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (OrderStatus.SHIPPED, "1Z-PHONE")
