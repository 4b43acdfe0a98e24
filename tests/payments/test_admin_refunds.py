"""Refunds from the admin: the order page's "Refund…" button, its confirmation page (the amount as
money, the lines, what happens to the stock), the same service as the API, per role; the payments list
leads to the same page and shows amounts as money."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from novacart.exceptions import Conflict, ProviderError
from novacart.permissions import CATALOG_MANAGERS, FINANCE, ORDER_MANAGERS, SUPPORT
from orders.models import OrderStatus
from orders.services import order_transition
from orders.transitions import Actor
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.refunds import RefundLineRequest, refund_create, refund_preview
from products.models import Product
from tests.factories import OrderFactory, OrderItemFactory, PaymentFactory, ProductFactory, StaffFactory, staff_in
from tests.payments.helpers import INTENT_URL, make_event, make_order, post_event, succeeded_event

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _stock(order) -> int:
    return Product.objects.get(pk=order.items.get().product_id).stock


def _refund_url(order) -> str:
    return reverse("admin:orders_order_refund", args=[order.pk])


def _change_url(order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


@pytest.fixture
def paid(stripe_gateway, user, user_client, api_client, django_capture_on_commit_callbacks):
    """A card order of 2 units for 1,019.98 USD (stock 5 after checkout took 2), paid through the real flow."""
    order = make_order(user, total="1019.98", quantity=2, stock=5)
    intent_id = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json").json()["payment_intent_id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(api_client, succeeded_event(intent_id, amount=101998)).json()["outcome"] == "order_paid"
    order.refresh_from_db()
    return order, Payment.objects.get(provider_payment_id=intent_id)


@pytest.mark.parametrize(("role", "sees"), [(FINANCE, True), (ORDER_MANAGERS, False), (SUPPORT, False)])
def test_only_those_who_may_refund_see_the_button(paid, role, sees):
    order, _payment = paid

    response = login(staff_in(role)).get(reverse("admin:orders_order_change", args=[order.pk]))

    assert response.status_code == 200
    assert ('class="order-tool">Refund…</a>' in response.content.decode()) is sees


def test_the_confirmation_page_shows_what_will_be_refunded_and_refunds_nothing_yet(stripe_gateway, paid):
    order, payment = paid

    response = login(staff_in(FINANCE)).get(_refund_url(order))

    content = response.content.decode()
    assert response.status_code == 200
    assert "1,019.98 USD" in content and "101998" not in content
    assert order.items.get().product_name in content and "509.99 USD" in content  # the line, as money
    assert "go back in stock" in content
    assert "csrfmiddlewaretoken" in content and 'method="post"' in content
    assert stripe_gateway.requests_to("POST", "/v1/refunds") == []
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_confirming_refunds_through_the_same_service_as_the_api(
    stripe_gateway, paid, django_capture_on_commit_callbacks
):
    order, payment = paid
    finance = staff_in(FINANCE)

    with django_capture_on_commit_callbacks(execute=True):
        response = login(finance).post(_refund_url(order), follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("admin:orders_order_change", args=[order.pk])
    assert f"{order.number}: 1,019.98 USD refunded." in _messages(response)
    [sent] = stripe_gateway.requests_to("POST", "/v1/refunds")
    assert sent.idempotency_key == f"refund-{Refund.objects.get(order=order).pk}" and sent.form["amount"] == "101998"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == (OrderStatus.REFUNDED, PaymentStatus.REFUNDED)
    assert _stock(order) == 7  # not shipped: the 2 units are back
    assert order.status_history.get(to_status=OrderStatus.REFUNDED).actor == finance
    # Refunded: no refund button any more.
    assert "Refund…" not in response.content.decode()


def test_a_pending_refund_says_so_in_words(stripe_gateway, paid):
    order, payment = paid
    stripe_gateway.state.refund_status = "pending"

    response = login(staff_in(FINANCE)).post(_refund_url(order), follow=True)

    [message] = [m for m in _messages(response) if order.number in m]
    assert "refund of 1,019.98 USD asked for" in message and "pending" in message
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUND_PENDING
    assert "already asked for" in login(staff_in(FINANCE)).get(_refund_url(order)).content.decode()


def test_a_provider_refusal_is_shown_in_plain_words_not_a_500(stripe_gateway, paid):
    order, payment = paid
    stripe_gateway.state.refund_status = "failed"

    response = login(staff_in(FINANCE)).post(_refund_url(order))

    assert response.status_code == 200
    assert "The provider reported the refund as failed." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and _stock(order) == 5


def test_a_shipped_order_is_refunded_without_restocking(dummy_gateway, user):
    order = make_order(user, total="19.99", quantity=2, stock=5)
    order_transition(order_id=order.pk, to_status=OrderStatus.PAID, actor=Actor.SYSTEM)
    order_transition(order_id=order.pk, to_status=OrderStatus.SHIPPED, actor=Actor.STAFF, tracking_number="T")
    PaymentFactory(order=order, provider=Payment.Provider.DUMMY, status=PaymentStatus.SUCCEEDED, amount_minor=1999)
    client = login(staff_in(FINANCE))

    confirm = client.get(_refund_url(order))
    done = client.post(_refund_url(order), follow=True)

    assert "stay out of stock" in confirm.content.decode()
    assert f"{order.number}: 19.99 USD refunded." in _messages(done)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and _stock(order) == 5


@pytest.mark.parametrize("role", [ORDER_MANAGERS, SUPPORT, None])
def test_posting_the_refund_page_without_the_permission_is_a_403_that_changes_nothing(stripe_gateway, paid, role):
    order, payment = paid
    client = login(staff_in(role) if role else StaffFactory(roles=()))

    response = client.post(_refund_url(order))

    assert response.status_code == 403
    assert 'id="site-name"' in response.content.decode()
    assert stripe_gateway.requests_to("POST", "/v1/refunds") == []
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (order.status, payment.status) == (OrderStatus.PAID, PaymentStatus.SUCCEEDED)


def test_an_order_without_money_held_has_no_refund_page(dummy_gateway, user):
    order = make_order(user)

    response = login(staff_in(FINANCE)).get(_refund_url(order), follow=True)

    assert f"{order.number} has no payment to refund: no money is held for it." in _messages(response)
    assert "Refund…" not in response.content.decode()


def test_the_payments_list_shows_money_and_leads_to_the_confirmation(stripe_gateway, paid):
    order, payment = paid
    other = PaymentFactory(amount_minor=500, currency="jpy")
    client = login(staff_in(FINANCE))

    listing = client.get(reverse("admin:payments_payment_changelist"))
    detail = client.get(reverse("admin:payments_payment_change", args=[payment.pk]))
    one = client.post(
        reverse("admin:payments_payment_changelist"), {"action": "refund_payments", "_selected_action": [payment.pk]}
    )
    two = client.post(
        reverse("admin:payments_payment_changelist"),
        {"action": "refund_payments", "_selected_action": [payment.pk, other.pk]},
        follow=True,
    )

    assert "1,019.98 USD" in listing.content.decode() and "500 JPY" in listing.content.decode()
    assert "1,019.98 USD" in detail.content.decode() and payment.client_secret not in detail.content.decode()
    assert one.status_code == 302 and one["Location"] == _refund_url(order)
    assert any("one order at a time" in m for m in _messages(two))
    assert stripe_gateway.requests_to("POST", "/v1/refunds") == []
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_the_payments_refund_action_is_offered_only_with_the_permission(stripe_gateway, paid):
    def offered(role):
        response = login(staff_in(role)).get(reverse("admin:payments_payment_changelist"))
        form = response.context["action_form"]  # None when no action is left for the user
        return {name for name, _label in form.fields["action"].choices if name} if form else set()

    assert offered(FINANCE) == {"refund_payments"}
    assert offered(SUPPORT) == set()


@pytest.fixture
def priced(stripe_gateway, user, user_client, api_client, django_capture_on_commit_callbacks):
    """An order priced with a voucher and 20% tax, as orders.pricing snapshots it, paid:

    A  3 x 10.00 = 30.00, discount 3.00, tax 5.40 -> 32.40 (10.80 a unit); stock 4 after checkout
    B  1 x  5.00 =  5.00, discount 1.00, tax 0.80 ->  4.80;                stock 2
    shipping 4.00 + tax 0.80                      ->  4.80
    total                                            42.00
    """
    order = OrderFactory(
        user=user,
        subtotal=Decimal("35.00"),
        discount_total=Decimal("4.00"),
        shipping_total=Decimal("4.00"),
        tax_total=Decimal("7.00"),
        total=Decimal("42.00"),
        currency="usd",
        shipping_method_name="Standard",
    )
    a = OrderItemFactory(
        order=order,
        product=ProductFactory(price=Decimal("10.00"), stock=4),
        unit_price=Decimal("10.00"),
        quantity=3,
        discount=Decimal("3.00"),
        tax=Decimal("5.40"),
        line_total=Decimal("32.40"),
    )
    b = OrderItemFactory(
        order=order,
        product=ProductFactory(price=Decimal("5.00"), stock=2),
        unit_price=Decimal("5.00"),
        quantity=1,
        discount=Decimal("1.00"),
        tax=Decimal("0.80"),
        line_total=Decimal("4.80"),
    )
    intent_id = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json").json()["payment_intent_id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(api_client, succeeded_event(intent_id, amount=4200)).json()["outcome"] == "order_paid"
    order.refresh_from_db()
    return order, a, b


def test_the_preview_plans_what_the_refund_makes_and_writes_nothing(stripe_gateway, priced):
    order, a, b = priced
    lines = [RefundLineRequest(a.pk, 2)]

    preview = refund_preview(order_id=order.pk, lines=lines, shipping=True)

    assert (preview.amount, preview.shipping, preview.goodwill) == (Decimal("26.40"), Decimal("4.80"), 0)
    assert [(line.item.pk, line.quantity, line.amount, line.restock) for line in preview.lines] == [
        (a.pk, 2, Decimal("21.60"), True)
    ]
    assert not Refund.objects.exists() and stripe_gateway.requests_to("POST", "/v1/refunds") == []
    assert refund_create(order_id=order.pk, lines=lines, shipping=True).refund.amount == preview.amount
    left = refund_preview(order_id=order.pk)  # whatever is left: the last unit of A, and B
    assert [(line.item.pk, line.quantity) for line in left.lines] == [(a.pk, 1), (b.pk, 1)]
    assert (left.amount, left.shipping) == (Decimal("15.60"), 0)
    with pytest.raises(Conflict, match="already refunded"):
        refund_preview(order_id=order.pk, shipping=True)
    assert Refund.objects.count() == 1


# --- the refunds on the order page and in the payments admin ------------------------------------


def test_the_order_page_lists_its_refunds_and_the_refunded_total(stripe_gateway, api_client, priced):
    order, a, _b = priced
    finance = staff_in(FINANCE)
    refund_create(order_id=order.pk, user=finance, lines=[RefundLineRequest(a.pk, 1)], reason="Damaged")
    refund_create(order_id=order.pk, user=finance, shipping=True)
    intent_id = Payment.objects.get(order=order).provider_payment_id
    stripe_gateway.refund_in_dashboard(intent_id, 200)  # and one made in Stripe's dashboard
    charge = stripe_gateway.charge_of(intent_id)
    assert (
        post_event(api_client, make_event("charge.refunded", charge))
        .json()["outcome"]
        .startswith("outside_refund_recorded")
    )

    for role in (FINANCE, SUPPORT, ORDER_MANAGERS):
        content = login(staff_in(role)).get(_change_url(order)).content.decode()

        assert "Refunds" in content and "Partially refunded" in content, role
        assert "17.60 USD" in content  # refunded so far: 10.80 + 4.80 + 2.00
        assert f"1 &times; {a.product_name} ({a.sku}), 10.80 USD, restocked" in content
        assert "Other amount: 2.00 USD" in content and "Made at the provider" in content
        assert "Damaged" in content and finance.email in content
        assert content.count("Made in the shop") == 2


def test_the_refunds_list_is_read_only_filtered_and_searched(stripe_gateway, priced, paid):
    order, a, _b = priced
    other, _payment = paid
    mine = refund_create(order_id=order.pk, lines=[RefundLineRequest(a.pk, 1)]).refund
    stripe_gateway.state.refund_status = "failed"
    with pytest.raises(ProviderError, match="failed"):
        refund_create(order_id=other.pk)
    failed = Refund.objects.get(order=other)
    url = reverse("admin:payments_refund_changelist")
    client = login(staff_in(SUPPORT))

    listing = client.get(url)
    by_status = client.get(url, {"status__exact": RefundStatus.FAILED})
    by_source = client.get(url, {"source__exact": Refund.Source.PROVIDER})
    by_number = client.get(url, {"q": order.number})
    by_provider_id = client.get(url, {"q": mine.provider_refund_id})
    detail = client.get(reverse("admin:payments_refund_change", args=[mine.pk]))

    def shown(response):
        return {row.pk for row in response.context["cl"].result_list}

    assert listing.status_code == 200 and shown(listing) == {mine.pk, failed.pk}
    assert "10.80 USD" in listing.content.decode() and "1,019.98 USD" in listing.content.decode()
    assert shown(by_status) == {failed.pk} and shown(by_source) == set()
    assert shown(by_number) == {mine.pk} and shown(by_provider_id) == {mine.pk}
    assert detail.status_code == 200 and f"1 &times; {a.product_name}" in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()
    assert client.post(reverse("admin:payments_refund_change", args=[mine.pk]), {}).status_code == 403
    assert login(staff_in(CATALOG_MANAGERS)).get(url).status_code == 403
