"""The API docs render from our own static files (item 8): an operation is visible, there is no console
error and no request to another origin (the guard aborts any, so this is the docs offline)."""

import pytest
from playwright.sync_api import expect


def test_swagger_ui_renders_offline(page, shot):
    page.goto("/api/docs/")

    expect(page.locator(".opblock-tag", has_text="orders")).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/orders/create/")).to_be_visible()
    shot(page, "swagger-ui")


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="ReDoc's sidebar badge ('API docs by Redocly') loads https://cdn.redoc.ly/redoc/logo-mini.svg; "
    "the sidecar bundle has no option to turn it off (issue 14 item 8 is not done while it does)",
)
def test_redoc_renders_offline(page, shot):
    page.goto("/api/redoc/")

    expect(page.get_by_role("menuitem").filter(has_text="orders").first).to_be_visible()
    expect(page.get_by_role("heading", name="orders", exact=True)).to_be_visible()
    shot(page, "redoc", full_page=False)
