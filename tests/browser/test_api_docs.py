"""The API docs render from our own static files (item 8): an operation is visible, there is no console
error and no request to another origin (the guard aborts any, so this is the docs offline)."""

import re

from playwright.sync_api import expect


def test_swagger_ui_renders_offline(page, shot):
    page.goto("/api/docs/")

    expect(page.locator(".opblock-tag", has_text="orders")).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/orders/create/")).to_be_visible()
    shot(page, "swagger-ui")


def test_redoc_renders_offline(page, shot):
    page.goto("/api/redoc/")

    orders = page.get_by_role("menuitem", name="orders", exact=True)
    expect(orders).to_be_visible()
    orders.click()
    # ReDoc names a heading by its anchor and its text; an operation's heading carries its summary.
    expect(page.get_by_role("heading", name=re.compile(r"Place an order from your cart$"))).to_be_visible()
    shot(page, "redoc", full_page=False)
