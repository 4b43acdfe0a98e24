"""The API docs render from our own static files: an operation is visible, nothing asked of another origin."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_swagger_ui_renders_offline(page, shot):
    page.goto("/api/docs/")

    orders = page.locator(".opblock-tag", has_text="orders")
    orders.first.wait_for()
    shot(page, "swagger-ui")
    assert page.locator(".opblock-summary-path", has_text="/api/orders/").first.is_visible()


def test_redoc_renders_offline(page, shot):
    page.goto("/api/redoc/")

    page.get_by_role("menuitem").filter(has_text="orders").first.wait_for()
    shot(page, "redoc")
