"""The order admin as staff use it: the order page (address, money, links, the buttons the lifecycle
and the user's role allow), the move pages behind the buttons, the list's actions and the CSV export,
each per role, with what staff see and the database after."""

import csv
import io
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from novacart.exceptions import Conflict
from novacart.permissions import FINANCE, ORDER_MANAGERS, SUPPORT
from orders.models import Order, OrderStatus, OrderStatusChange, PaymentMethod
from orders.services import order_transition
from orders.transitions import Actor
from products.models import Product
from tests.factories import (
    OrderFactory,
    OrderItemFactory,
    PaymentFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
    staff_in,
)

from .helpers import place_order

pytestmark = pytest.mark.django_db
S = OrderStatus
CHANGELIST = "admin:orders_order_changelist"
BUTTONS = ("Confirm order", "Ship…", "Mark delivered", "Cancel order…", "Refund…")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_user():
    return UserFactory(is_staff=True, is_superuser=True, email="boss@example.com")


@pytest.fixture
def admin_client(admin_user):
    return login(admin_user)


@pytest.fixture
def managers():
    return login(staff_in(ORDER_MANAGERS))


@pytest.fixture
def finance():
    return login(staff_in(FINANCE))


@pytest.fixture
def support():
    return login(staff_in(SUPPORT))


@pytest.fixture
def nobody():
    return login(StaffFactory(roles=()))


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _paid(user, **kwargs) -> Order:
    order = place_order(user, **kwargs)
    return order_transition(order_id=order.pk, to_status=S.PAID, actor=Actor.SYSTEM)


def _stock(order) -> int:
    return Product.objects.get(pk=order.items.get().product_id).stock


def _change_page(client, order):
    return client.get(reverse("admin:orders_order_change", args=[order.pk]))


def _buttons(response) -> set[str]:
    content = response.content.decode()
    return {label for label in BUTTONS if f'class="order-tool">{label}</a>' in content}


# --- the list -------------------------------------------------------------------------------


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
    assert "10.00 USD" in by_number.content.decode()  # the total as money


def test_the_list_loads_a_small_screen_stylesheet_keeping_number_status_and_total(admin_client, user):
    place_order(user)

    response = admin_client.get(reverse(CHANGELIST))

    assert "orders/admin/orders.css" in response.content.decode()
    rules = (Path(apps.get_app_config("orders").path) / "static/orders/admin/orders.css").read_text()
    hidden = rules.split("@media (max-width: 767px)", 1)[1].split("display: none")[0]
    hidden_columns = set(re.findall(r"#changelist \.(?:column|field)-(\w+)", hidden))
    assert hidden_columns == {"user_email", "payment_method", "created_at", "paid_at"}
    for kept in ("number", "status", "total_display"):
        assert f"column-{kept}" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        (ORDER_MANAGERS, {"mark_shipped", "mark_delivered", "cancel_pending", "export_csv"}),
        (FINANCE, {"export_csv"}),
        (SUPPORT, {"export_csv"}),
    ],
)
def test_list_actions_follow_the_role(role, actions):
    response = login(staff_in(role)).get(reverse(CHANGELIST))

    assert response.status_code == 200
    offered = {name for name, _label in response.context["action_form"].fields["action"].choices if name}
    assert offered == actions


def test_the_sales_report_link_is_shown_only_to_those_who_may_read_it(finance, support, managers):
    link = reverse("admin:orders_order_sales_report").encode()

    assert link in finance.get(reverse(CHANGELIST)).content
    assert link not in support.get(reverse(CHANGELIST)).content
    assert link not in managers.get(reverse(CHANGELIST)).content


def test_staff_without_permissions_get_the_admin_403_page(nobody, user):
    order = place_order(user)

    for url in (
        reverse(CHANGELIST),
        reverse("admin:orders_order_change", args=[order.pk]),
        reverse("admin:orders_order_export"),
        reverse("admin:orders_order_sales_report"),
    ):
        response = nobody.get(url)
        assert response.status_code == 403, url
        assert response["Content-Type"].startswith("text/html")
        assert 'id="site-name"' in response.content.decode()


# --- the order page -----------------------------------------------------------------------


def test_the_order_page_shows_an_address_money_and_links_and_no_save(admin_client, user):
    order = OrderFactory(user=user, status=S.PAID, total="1019.90", subtotal="1019.90")
    payment = PaymentFactory(order=order, amount_minor=101990, status="SUCCEEDED")
    OrderItemFactory(
        order=order,
        product=ProductFactory(name="Kettle", slug="kettle", sku="KET-1", price="1019.90", stock=3),
        product_name="Kettle",
        sku="KET-1",
        unit_price="1019.90",
        quantity=1,
        line_total="1019.90",
    )

    response = _change_page(admin_client, order)

    assert response.status_code == 200
    content = response.content.decode()
    assert "1 Analytical St<br>N1 1AA London<br>GB" in content  # an address, not JSON
    assert '"line1"' not in content and "{&#x27;full_name" not in content
    assert content.count("1,019.90 USD") >= 3  # the total, the item's price and line, the payment
    assert reverse("admin:payments_payment_change", args=[payment.pk]) in content
    assert reverse("admin:users_user_change", args=[user.pk]) in content
    assert user.email in content
    assert 'name="_save"' not in content and 'name="_continue"' not in content
    assert 'name="status"' not in content
    assert not response.context["has_add_permission"]
    assert not response.context["has_delete_permission"]
    assert "Kettle" in content and "status history" in content.lower()


@pytest.mark.parametrize(
    ("role", "expected"),
    [(ORDER_MANAGERS, {"Confirm order", "Ship…"}), (FINANCE, {"Refund…"}), (SUPPORT, set())],
)
def test_a_paid_orders_buttons_follow_the_role(role, expected, user):
    order = _paid(user)
    PaymentFactory(order=order, amount_minor=1000, status="SUCCEEDED")

    response = _change_page(login(staff_in(role)), order)

    assert response.status_code == 200
    assert _buttons(response) == expected


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("pending card", {"Cancel order…"}),
        ("pending cod", {"Confirm order", "Cancel order…"}),
        ("processing cod", {"Ship…", "Cancel order…"}),
        ("paid", {"Confirm order", "Ship…"}),
        ("shipped", {"Mark delivered"}),
        ("delivered", set()),
        ("cancelled", set()),
    ],
)
def test_the_buttons_are_the_moves_the_lifecycle_allows_now(managers, user, setup, expected):
    method = PaymentMethod.COD if setup.endswith("cod") else PaymentMethod.CARD
    order = place_order(user, payment_method=method)
    steps = {
        "paid": [S.PAID],
        "shipped": [S.PAID, S.SHIPPED],
        "delivered": [S.PAID, S.SHIPPED, S.DELIVERED],
        "cancelled": [S.CANCELLED],
        "processing cod": [S.PROCESSING],
    }.get(setup, [])
    for step in steps:
        actor = Actor.SYSTEM if step == S.PAID else Actor.STAFF
        order_transition(order_id=order.pk, to_status=step, actor=actor, tracking_number="T-1")

    assert _buttons(_change_page(managers, order)) == expected


def test_ship_from_the_order_page_asks_the_tracking_number_then_ships(managers, user):
    order = _paid(user)
    url = reverse("admin:orders_order_ship", args=[order.pk])

    form = managers.get(url)
    empty = managers.post(url, {"tracking_number": "", "shown_status": S.PAID})
    done = managers.post(url, {"tracking_number": "1Z-999", "shown_status": S.PAID}, follow=True)

    assert form.status_code == 200
    assert 'name="tracking_number"' in form.content.decode() and "csrfmiddlewaretoken" in form.content.decode()
    assert empty.status_code == 200 and "This field is required." in empty.content.decode()
    assert done.status_code == 200
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (S.SHIPPED, "1Z-999")
    assert f"{order.number} shipped (tracking number 1Z-999)." in _messages(done)
    assert OrderStatusChange.objects.filter(order=order, to_status=S.SHIPPED, actor_label="staff").count() == 1


def test_mark_delivered_from_the_order_page(managers, user):
    order = place_order(user, payment_method=PaymentMethod.COD)
    order_transition(order_id=order.pk, to_status=S.PROCESSING, actor=Actor.STAFF)
    order_transition(order_id=order.pk, to_status=S.SHIPPED, actor=Actor.STAFF, tracking_number="T")
    url = reverse("admin:orders_order_deliver", args=[order.pk])

    confirm = managers.get(url)
    done = managers.post(url, {"shown_status": S.SHIPPED}, follow=True)

    assert "Mark delivered" in confirm.content.decode()
    assert 'name="shown_status" value="SHIPPED"' in confirm.content.decode()
    order.refresh_from_db()
    assert order.status == S.DELIVERED and order.paid_at is not None
    assert f"{order.number} delivered." in _messages(done)


def test_cancel_a_pending_order_from_its_page_restores_stock(managers, user):
    order = place_order(user, stock=5)
    assert _stock(order) == 4
    url = reverse("admin:orders_order_cancel", args=[order.pk])

    confirm = managers.get(url)
    done = managers.post(url, {"shown_status": S.PENDING}, follow=True)

    assert confirm.status_code == 200 and "back in stock" in confirm.content.decode()
    order.refresh_from_db()
    assert order.status == S.CANCELLED and _stock(order) == 5
    assert f"{order.number} cancelled; its items are back in stock." in _messages(done)
    assert managers.post(url, {"shown_status": S.PENDING}, follow=True).status_code == 200  # again: nothing more
    assert _stock(order) == 5


def test_a_move_the_lifecycle_does_not_allow_now_changes_nothing_and_says_why(managers, user):
    order = place_order(user)  # a card order, not paid

    response = managers.post(reverse("admin:orders_order_ship", args=[order.pk]), {"tracking_number": "X"}, follow=True)

    assert response.status_code == 200
    assert f"{order.number} is pending: only paid or processing orders can be shipped." in _messages(response)
    order.refresh_from_db()
    assert order.status == S.PENDING and order.tracking_number == ""


@pytest.mark.parametrize("role", [FINANCE, SUPPORT, None])
@pytest.mark.parametrize("move", ["ship", "deliver", "cancel"])
def test_posting_a_move_without_the_permission_is_an_admin_403_that_changes_nothing(user, role, move):
    order = place_order(user, payment_method=PaymentMethod.COD, stock=5)
    client = login(staff_in(role) if role else StaffFactory(roles=()))

    response = client.post(reverse(f"admin:orders_order_{move}", args=[order.pk]), {"tracking_number": "X"})

    assert response.status_code == 403
    assert 'id="site-name"' in response.content.decode()  # the admin's page, not JSON
    order.refresh_from_db()
    assert order.status == S.PENDING and _stock(order) == 4
    assert not OrderStatusChange.objects.filter(order=order).exclude(to_status=S.PENDING).exists()


def test_a_move_page_for_a_missing_order_is_the_admin_404(managers):
    response = managers.get(reverse("admin:orders_order_ship", args=[987654]))

    assert response.status_code == 404
    assert 'id="site-name"' in response.content.decode()


def test_a_service_refusal_is_shown_in_plain_words(managers, user, monkeypatch):
    order = _paid(user)

    def refuse(**kwargs):
        raise Conflict("The order is changing too quickly; try again.", code="invalid_transition")

    monkeypatch.setattr("orders.admin.order_transition", refuse)
    response = managers.post(
        reverse("admin:orders_order_ship", args=[order.pk]), {"tracking_number": "T", "shown_status": S.PAID}
    )

    assert response.status_code == 200
    assert "The order is changing too quickly; try again." in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == S.PAID


# --- the list's actions ----------------------------------------------------------------------


def test_mark_shipped_asks_tracking_numbers_only_for_orders_it_can_ship(managers, user):
    paid = _paid(user)
    cod = place_order(user, payment_method=PaymentMethod.COD)
    order_transition(order_id=cod.pk, to_status=S.PROCESSING, actor=Actor.STAFF)
    unpaid = place_order(user)
    selected = {"action": "mark_shipped", "_selected_action": [paid.pk, cod.pk, unpaid.pk]}

    form = managers.post(reverse(CHANGELIST), selected)

    content = form.content.decode()
    assert form.status_code == 200
    assert f'name="tracking_{paid.pk}"' in content and f'name="tracking_{cod.pk}"' in content
    assert f'name="tracking_{unpaid.pk}"' not in content
    assert f"{unpaid.number} is pending: only paid or processing orders can be shipped." in content
    assert Order.objects.get(pk=paid.pk).status == S.PAID


def test_mark_shipped_ships_and_reports_by_number(managers, user):
    paid = _paid(user)
    cod = place_order(user, payment_method=PaymentMethod.COD)
    order_transition(order_id=cod.pk, to_status=S.PROCESSING, actor=Actor.STAFF)
    unpaid = place_order(user)

    done = managers.post(
        reverse(CHANGELIST),
        {
            "action": "mark_shipped",
            "_selected_action": [paid.pk, cod.pk, unpaid.pk],
            "apply": "yes",
            f"tracking_{paid.pk}": "1Z-PAID",
            f"tracking_{cod.pk}": "1Z-COD",
            f"tracking_{unpaid.pk}": "1Z-NO",
            f"shown_status_{paid.pk}": S.PAID,
            f"shown_status_{cod.pk}": S.PROCESSING,
        },
        follow=True,
    )

    paid.refresh_from_db()
    cod.refresh_from_db()
    unpaid.refresh_from_db()
    assert (paid.status, paid.tracking_number) == (S.SHIPPED, "1Z-PAID")
    assert (cod.status, cod.tracking_number) == (S.SHIPPED, "1Z-COD")
    assert (unpaid.status, unpaid.tracking_number) == (S.PENDING, "")
    messages = _messages(done)
    assert f"Shipped: {paid.number}, {cod.number}." in messages
    assert f"Skipped {unpaid.number} is pending: only paid or processing orders can be shipped." in messages


def test_mark_shipped_without_a_tracking_number_says_so(managers, user):
    paid = _paid(user)

    done = managers.post(
        reverse(CHANGELIST),
        {
            "action": "mark_shipped",
            "_selected_action": [paid.pk],
            "apply": "yes",
            f"tracking_{paid.pk}": "",
            f"shown_status_{paid.pk}": S.PAID,
        },
        follow=True,
    )

    assert f"{paid.number} was not shipped: A tracking number is required to ship an order." in _messages(done)
    assert Order.objects.get(pk=paid.pk).status == S.PAID


def test_mark_delivered(managers, user):
    shipped = place_order(user, payment_method=PaymentMethod.COD)
    order_transition(order_id=shipped.pk, to_status=S.PROCESSING, actor=Actor.STAFF)
    order_transition(order_id=shipped.pk, to_status=S.SHIPPED, actor=Actor.STAFF, tracking_number="T")
    pending = place_order(user)

    response = managers.post(
        reverse(CHANGELIST), {"action": "mark_delivered", "_selected_action": [shipped.pk, pending.pk]}, follow=True
    )

    shipped.refresh_from_db()
    assert shipped.status == S.DELIVERED and shipped.paid_at is not None
    assert Order.objects.get(pk=pending.pk).status == S.PENDING
    messages = _messages(response)
    assert f"Delivered: {shipped.number}." in messages
    assert f"Skipped {pending.number} is pending: only shipped orders can be delivered." in messages


def test_cancel_pending_orders_confirms_then_cancels_and_restores_stock(managers, user):
    pending = place_order(user, stock=5)
    paid = _paid(user)
    selected = {"action": "cancel_pending", "_selected_action": [pending.pk, paid.pk]}

    confirm = managers.post(reverse(CHANGELIST), selected)

    assert confirm.status_code == 200
    assert pending.number in confirm.content.decode()
    assert f"{paid.number} is paid: only pending orders can be cancelled." in confirm.content.decode()
    assert Order.objects.get(pk=pending.pk).status == S.PENDING

    assert f'name="shown_status_{pending.pk}" value="PENDING"' in confirm.content.decode()
    done = managers.post(
        reverse(CHANGELIST), {**selected, "apply": "yes", f"shown_status_{pending.pk}": S.PENDING}, follow=True
    )

    assert Order.objects.get(pk=pending.pk).status == S.CANCELLED and _stock(pending) == 5
    assert Order.objects.get(pk=paid.pk).status == S.PAID
    assert f"Cancelled: {pending.number}." in _messages(done)


@pytest.mark.parametrize("role", [FINANCE, SUPPORT])
def test_an_action_the_role_lacks_changes_nothing(user, role):
    order = _paid(user)

    response = login(staff_in(role)).post(
        reverse(CHANGELIST),
        {"action": "mark_shipped", "_selected_action": [order.pk], "apply": "yes", f"tracking_{order.pk}": "T"},
    )

    assert response.status_code in (200, 302)
    order.refresh_from_db()
    assert order.status == S.PAID and order.tracking_number == ""


# --- CSV export -----------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_export_link_keeps_the_filters_and_search(support, user):
    paid = _paid(user)
    place_order(user)  # pending: filtered out
    _paid(UserFactory())  # another customer: searched out

    page = support.get(reverse(CHANGELIST), {"status__exact": "PAID", "q": user.email})
    content = page.content.decode()
    link = content.split('class="export-csv"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert ">Export CSV</a>" in content
    assert "status__exact=PAID" in link and "q=" in link

    rows = _csv(support.get(link))

    assert rows[0] == ["number", "date", "customer_email", "status", "payment_method", "subtotal", "total", "currency"]
    assert rows[1:] == [[paid.number, rows[1][1], user.email, "Paid", "Card", "10.00", "10.00", "USD"]]
    assert rows[1][1].startswith(str(paid.created_at.year))


def test_the_export_defuses_spreadsheet_formulas(support):
    OrderFactory(user=UserFactory(email="=HYPERLINK(1)@example.com"), number="NC-SAFE-1")
    OrderFactory(user=UserFactory(email="+1@example.com"), number="NC-SAFE-2")
    OrderFactory(user=UserFactory(email="-2@example.com"), number="NC-SAFE-3")
    OrderFactory(user=UserFactory(email="@x@example.com"), number="NC-SAFE-4")

    rows = _csv(support.get(reverse("admin:orders_order_export"), {"q": "NC-SAFE"}))

    assert sorted(row[2] for row in rows[1:]) == sorted(
        ["'=HYPERLINK(1)@example.com", "'+1@example.com", "'-2@example.com", "'@x@example.com"]
    )


def test_the_export_action_exports_the_selected_orders(support, user):
    first, second = place_order(user), place_order(user)
    place_order(user)

    rows = _csv(support.post(reverse(CHANGELIST), {"action": "export_csv", "_selected_action": [first.pk, second.pk]}))

    assert sorted(row[0] for row in rows[1:]) == sorted([first.number, second.number])


def test_the_export_with_a_bad_filter_says_so(support):
    response = support.get(reverse("admin:orders_order_export"), {"status__exact": "NOPE", "created_at__gte": "x"})

    assert response.status_code == 302


def test_confirm_a_cash_on_delivery_order_from_its_page(managers, user):
    order = place_order(user, payment_method=PaymentMethod.COD)

    done = managers.post(
        reverse("admin:orders_order_confirm", args=[order.pk]), {"shown_status": S.PENDING}, follow=True
    )

    order.refresh_from_db()
    assert order.status == S.PROCESSING
    assert f"{order.number} confirmed." in _messages(done)
    assert _buttons(done) == {"Ship…", "Cancel order…"}


# --- forged and stale posts: never a 500, never a move from a status the page did not show ----------


def test_cancel_shown_for_a_pending_order_does_not_cancel_it_once_confirmed(managers, user):
    # The page showed a pending cash-on-delivery order; another staff member confirmed it meanwhile.
    order = place_order(user, payment_method=PaymentMethod.COD, stock=5)
    url = reverse("admin:orders_order_cancel", args=[order.pk])
    page = managers.get(url)
    assert 'name="shown_status" value="PENDING"' in page.content.decode()
    order_transition(order_id=order.pk, to_status=S.PROCESSING, actor=Actor.STAFF)

    response = managers.post(url, {"shown_status": S.PENDING})

    assert response.status_code == 200
    assert f"Order {order.number} is processing now, not pending as shown; nothing was changed." in (
        response.content.decode()
    )
    order.refresh_from_db()
    assert order.status == S.PROCESSING and _stock(order) == 4


def test_a_move_post_without_the_status_shown_changes_nothing(managers, user):
    order = place_order(user, payment_method=PaymentMethod.COD, stock=5)

    for shown in ({}, {"shown_status": "NOT-A-STATUS"}):
        response = managers.post(reverse("admin:orders_order_cancel", args=[order.pk]), shown)
        assert response.status_code == 200
        assert f"Order {order.number} is pending now, which the page did not show; nothing was changed." in (
            response.content.decode()
        )

    order.refresh_from_db()
    assert order.status == S.PENDING and _stock(order) == 4


def test_bulk_cancel_skips_an_order_confirmed_since_the_confirmation_page(managers, user):
    confirmed = place_order(user, payment_method=PaymentMethod.COD, stock=5)
    pending = place_order(user, payment_method=PaymentMethod.COD, stock=5)
    selected = {"action": "cancel_pending", "_selected_action": [confirmed.pk, pending.pk]}
    page = managers.post(reverse(CHANGELIST), selected)
    assert f'name="shown_status_{confirmed.pk}" value="PENDING"' in page.content.decode()
    order_transition(order_id=confirmed.pk, to_status=S.PROCESSING, actor=Actor.STAFF)

    done = managers.post(
        reverse(CHANGELIST),
        {
            **selected,
            "apply": "yes",
            f"shown_status_{confirmed.pk}": S.PENDING,
            f"shown_status_{pending.pk}": S.PENDING,
        },
        follow=True,
    )

    assert done.status_code == 200
    assert Order.objects.get(pk=confirmed.pk).status == S.PROCESSING and _stock(confirmed) == 4
    assert Order.objects.get(pk=pending.pk).status == S.CANCELLED and _stock(pending) == 5
    assert (
        f"{confirmed.number} was not cancelled: Order {confirmed.number} is processing now, not pending as shown; "
        "nothing was changed."
    ) in _messages(done)
    assert f"Cancelled: {pending.number}." in _messages(done)


def test_bulk_ship_with_an_overlong_tracking_number_says_so_and_ships_nothing(managers, user):
    paid = _paid(user)

    done = managers.post(
        reverse(CHANGELIST),
        {
            "action": "mark_shipped",
            "_selected_action": [paid.pk],
            "apply": "yes",
            f"tracking_{paid.pk}": "T" * 101,
            f"shown_status_{paid.pk}": S.PAID,
        },
        follow=True,
    )

    assert done.status_code == 200
    assert f"{paid.number} was not shipped: the tracking number is longer than 100 characters." in _messages(done)
    paid.refresh_from_db()
    assert (paid.status, paid.tracking_number) == (S.PAID, "")


def test_their_orders_from_the_order_page_lists_only_that_customers_orders(admin_client):
    bob = UserFactory(email="bob@example.com")
    jimbob = UserFactory(email="jimbob@example.com")  # the e-mail contains bob's
    mine, theirs = OrderFactory(user=bob), OrderFactory(user=jimbob)
    page = _change_page(admin_client, mine).content.decode()
    link = page.split(">their orders</a>")[0].rsplit('href="', 1)[1].rstrip('"').replace("&amp;", "&")

    listed = admin_client.get(link)

    assert listed.status_code == 200
    assert {order.pk for order in listed.context["cl"].result_list} == {mine.pk}
    assert theirs.number not in listed.content.decode()


def test_a_guest_order_shows_its_email_in_the_list_the_page_and_the_export(admin_client, support):
    guest = OrderFactory(user=None, email="grace@example.com", guest_token_hash="a" * 64, guest_token_nonce="b" * 32)

    listed = admin_client.get(reverse(CHANGELIST), {"q": "grace@example.com"})
    page = admin_client.get(reverse("admin:orders_order_change", args=[guest.pk]))
    rows = _csv(support.post(reverse(CHANGELIST), {"action": "export_csv", "_selected_action": [guest.pk]}))

    assert listed.status_code == 200 and listed.context["cl"].result_count == 1
    assert "grace@example.com (guest)" in listed.content.decode()
    assert page.status_code == 200 and "a guest, no account" in page.content.decode()
    assert rows[1][2] == "grace@example.com"
