"""Errors under the admin are the admin's own HTML pages; everywhere else the API's JSON shape stays."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _is_admin_page(response) -> bool:
    content = response.content.decode()
    return response["Content-Type"].startswith("text/html") and 'id="site-name"' in content and "NovaCart" in content


def test_an_admin_403_is_an_html_page_with_the_admins_header():
    response = login(StaffFactory(roles=())).get(reverse("admin:orders_order_changelist"))

    assert response.status_code == 403
    assert _is_admin_page(response)
    assert "Permission denied" in response.content.decode()
    assert 'id="user-tools"' in response.content.decode()  # still signed in, with the usual links


def test_an_admin_404_is_an_html_page_with_the_admins_header():
    client = login(StaffFactory())

    missing_page = client.get(reverse("admin:index") + "no-such-app/")
    missing_order = client.get(reverse("admin:orders_order_deliver", args=[424242]))

    for response in (missing_page, missing_order):
        assert response.status_code == 404
        assert _is_admin_page(response)
        assert "Page not found" in response.content.decode()


def test_the_api_keeps_its_json_errors(api_client):
    missing = api_client.get("/api/orders/424242/")
    outside = Client().get("/no-such-page/")

    for response in (missing, outside):
        assert response.status_code in (401, 404)
        assert response["Content-Type"].startswith("application/json")
        assert "type" in response.json() and "errors" in response.json()
    assert outside.status_code == 404


def test_view_site_points_at_the_api_docs():
    response = login(StaffFactory()).get(reverse("admin:index"))

    assert f'<a href="{reverse("docs")}">View site</a>' in response.content.decode()
