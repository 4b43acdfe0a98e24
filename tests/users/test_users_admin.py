"""The customer's page in the admin (issue 14): their orders (number linking to the order, date, status,
total as money) and addresses, for the staff roles that may see them; nobody without the permission."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from novacart.permissions import CATALOG_MANAGERS, FINANCE, SUPPORT
from orders.models import OrderStatus
from tests.factories import AddressFactory, OrderFactory, StaffFactory, UserFactory, staff_in
from users.admin import RECENT_ORDERS
from users.models import User

pytestmark = pytest.mark.django_db

ROLES = {
    "catalog": lambda: staff_in(CATALOG_MANAGERS),
    "support": lambda: staff_in(SUPPORT),
    "finance": lambda: staff_in(FINANCE),
    "no-role": lambda: StaffFactory(roles=()),
    "superuser": lambda: StaffFactory(roles=(), is_superuser=True),
}


def _page(client, role, customer):
    client.force_login(ROLES[role]())
    return client.get(reverse("admin:users_user_change", args=[customer.pk]))


@pytest.fixture
def customer(db):
    customer = UserFactory(email="ada@example.com")
    OrderFactory(user=customer, number="NC-OLD", total=Decimal("19.99"), status=OrderStatus.DELIVERED)
    OrderFactory(user=customer, number="NC-NEW", total=Decimal("1019.99"), currency="eur", status=OrderStatus.PAID)
    AddressFactory(user=customer, line1="1 Analytical St")
    OrderFactory(number="NC-SOMEONE-ELSE")
    return customer


@pytest.mark.parametrize(
    ("role", "sees_orders", "sees_addresses"),
    [("support", True, True), ("finance", True, False), ("superuser", True, True)],
)
def test_the_customer_page_shows_their_orders_and_addresses_to_who_may_see_them(
    client, customer, role, sees_orders, sees_addresses
):
    response = _page(client, role, customer)

    assert response.status_code == 200
    html = response.content.decode()
    new = customer.orders.get(number="NC-NEW")
    assert (f'<a href="{reverse("admin:orders_order_change", args=[new.pk])}">NC-NEW</a>' in html) is sees_orders
    assert ("1,019.99 EUR" in html) is sees_orders
    assert ("19.99 USD" in html) is sees_orders
    assert ("Paid" in html and "Delivered" in html) is sees_orders
    assert "NC-SOMEONE-ELSE" not in html
    assert (f"?user__id__exact={customer.pk}" in html) is sees_orders
    assert ("1 Analytical St" in html) is sees_addresses
    if sees_orders:  # newest first
        assert html.index("NC-NEW") < html.index("NC-OLD")


@pytest.mark.parametrize("role", ["catalog", "no-role"])
def test_staff_who_may_not_see_customers_get_a_403(client, customer, role):
    assert _page(client, role, customer).status_code == 403


def test_support_sees_the_customer_but_changes_nothing(client, customer):
    client.force_login(staff_in(SUPPORT))
    url = reverse("admin:users_user_change", args=[customer.pk])

    page = client.get(url)
    response = client.post(url, {"email": "changed@example.com", "first_name": "Changed"})

    assert 'name="_save"' not in page.content.decode()
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.email == "ada@example.com"


def test_the_link_to_all_their_orders_filters_the_order_list_to_them(client, customer):
    client.force_login(staff_in(SUPPORT))
    html = client.get(reverse("admin:users_user_change", args=[customer.pk])).content.decode()
    link = re.search(r'href="([^"]*\?user__id__exact=\d+)"', html).group(1).replace("&amp;", "&")

    response = client.get(link)

    assert response.status_code == 200  # OrderAdmin accepts the lookup (no ?e=1 redirect)
    assert {order.number for order in response.context["cl"].result_list} == {"NC-OLD", "NC-NEW"}


def test_a_customer_with_many_orders_shows_the_latest_and_links_to_the_rest(client):
    customer = UserFactory()
    OrderFactory.create_batch(RECENT_ORDERS + 2, user=customer)

    html = _page(client, "support", customer).content.decode()

    assert len(re.findall(r'<a href="/admin/orders/order/\d+/change/">', html)) == RECENT_ORDERS
    assert f"Showing the latest {RECENT_ORDERS} of {RECENT_ORDERS + 2} order(s)." in html


def test_a_customer_without_orders_says_so(client):
    assert "No orders yet." in _page(client, "support", UserFactory()).content.decode()


def test_the_customer_page_costs_the_same_queries_whatever_their_order_count(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    few, many = UserFactory(), UserFactory()
    OrderFactory.create_batch(2, user=few)
    OrderFactory.create_batch(RECENT_ORDERS + 5, user=many)
    client.force_login(staff_in(SUPPORT))

    counts = []
    for customer in (few, many):
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("admin:users_user_change", args=[customer.pk]))
        counts.append(len(captured))

    assert counts[0] == counts[1]


def test_a_new_user_whose_email_differs_only_in_case_gets_a_plain_message(admin_client):
    UserFactory(email="ada@example.com")

    response = admin_client.post(
        reverse("admin:users_user_add"),
        {"email": "Ada@Example.com", "password1": "Str0ng-Passw0rd!", "password2": "Str0ng-Passw0rd!"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "A user with this email address already exists." in html
    assert "Constraint" not in html
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1


def _change_form_data(user, **changes):
    """What the change form posts when a superuser saves `user` with `changes`."""
    data = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone": user.phone,
        "is_active": "on",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    for prefix in ("addresses", "social_accounts"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
    return data | changes


def test_a_new_address_set_in_the_admin_is_not_verified_until_its_link_is_opened(
    admin_client, django_capture_on_commit_callbacks
):
    # Whoever proved the old address has proved nothing about the new one (a typo fixed by staff,
    # or someone else's address): cash on delivery waits until the new address is verified.
    customer = UserFactory(email="ada@example.com", email_verified=True)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:users_user_change", args=[customer.pk]),
            _change_form_data(customer, email="ada.lovelace@example.org"),
        )

    assert response.status_code == 302, response.content.decode()[:3000]
    customer.refresh_from_db()
    assert customer.email == "ada.lovelace@example.org"
    assert customer.email_verified is False
    assert [message.to for message in mail.outbox] == [["ada.lovelace@example.org"]]


def test_saving_a_customer_without_changing_the_address_keeps_it_verified(admin_client):
    customer = UserFactory(email="ada@example.com", email_verified=True)

    response = admin_client.post(
        reverse("admin:users_user_change", args=[customer.pk]), _change_form_data(customer, first_name="Augusta")
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    customer.refresh_from_db()
    assert (customer.first_name, customer.email_verified) == ("Augusta", True)


def test_changing_only_the_case_of_the_address_keeps_it_verified(admin_client):
    customer = UserFactory(email="ada@example.com", email_verified=True)

    response = admin_client.post(
        reverse("admin:users_user_change", args=[customer.pk]), _change_form_data(customer, email="Ada@example.com")
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    customer.refresh_from_db()
    assert customer.email_verified is True
