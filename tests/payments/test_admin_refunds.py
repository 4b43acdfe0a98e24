"""Refunds from the admin: the order page's "Refund…" button and its refund page, per role.

The page offers everything that is left in one click, and a form to refund units of the lines, the
shipping or a goodwill amount; the form leads to a confirmation of exactly what goes back (planned by
payments.refunds.refund_preview, the refund's own planning), and only the confirmation refunds,
through the same service as POST /api/payments/refund/. A confirmation refunds once, and only what
its page showed. The order page lists the order's refunds; the payments admin lists every refund.

The tests submit the forms the pages render (tests.admin_forms.submit), as a browser would.
"""

import html
import re
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
from products.models import Product, ProductVariant
from tests.admin_forms import form_of, submit
from tests.factories import OrderFactory, OrderItemFactory, PaymentFactory, ProductFactory, StaffFactory, staff_in
from tests.payments.helpers import INTENT_URL, make_event, make_order, post_event, succeeded_event

pytestmark = pytest.mark.django_db

WHOLE, PART, CONFIRM = "order-refund-form", "order-refund-part-form", "order-refund-confirm-form"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _stock(order) -> int:
    return Product.objects.get(pk=order.items.get().product_id).stock


def _variant_stock(item) -> int:
    return ProductVariant.objects.get(pk=item.variant_id).stock


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


def _units(item) -> str:
    return f"units_{item.pk}"


# --- the plan the page shows ----------------------------------------------------------------------


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


# --- the button and the page ------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "sees"), [(FINANCE, True), (ORDER_MANAGERS, False), (SUPPORT, False)])
def test_only_those_who_may_refund_see_the_button(paid, role, sees):
    order, _payment = paid

    response = login(staff_in(role)).get(_change_url(order))

    assert response.status_code == 200
    assert ('class="order-tool">Refund…</a>' in response.content.decode()) is sees


def test_the_refund_page_shows_what_is_left_and_the_form_and_refunds_nothing_yet(stripe_gateway, paid):
    order, payment = paid

    response = login(staff_in(FINANCE)).get(_refund_url(order))

    content = response.content.decode()
    assert response.status_code == 200
    assert '<strong class="refund-amount">1,019.98 USD</strong>' in content and "101998" not in content
    assert "the 2 units not refunded yet" in content and "go back in stock" in content
    assert order.items.get().product_name in content and "509.99 USD" in content  # the line, as money
    part = form_of(response, PART)
    item = order.items.get()
    assert {_units(item), "amount", "restock", "reason"} <= part["names"]
    assert "shipping" not in part["names"]  # nothing was paid for shipping
    assert part["values"]["restock"] == "on"  # checked by default
    assert 'max="2"' in content and "the goods are back" in content
    assert form_of(response, WHOLE)["method"] == "post"
    assert stripe_gateway.requests_to("POST", "/v1/refunds") == []
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


# --- everything that is left, in one click ------------------------------------------------------


def test_refunding_everything_left_goes_through_the_same_service_as_the_api(
    stripe_gateway, paid, django_capture_on_commit_callbacks
):
    order, payment = paid
    finance = staff_in(FINANCE)
    client = login(finance)
    page = client.get(_refund_url(order))

    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client, page, WHOLE, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == _change_url(order)
    assert f"{order.number}: 1,019.98 USD refunded. 2 unit(s) back in stock." in _messages(response)
    [sent] = stripe_gateway.requests_to("POST", "/v1/refunds")
    assert sent.idempotency_key == f"refund-{Refund.objects.get(order=order).pk}" and sent.form["amount"] == "101998"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == (OrderStatus.REFUNDED, PaymentStatus.REFUNDED)
    assert _stock(order) == 7  # not shipped: the 2 units are back
    assert order.status_history.get(to_status=OrderStatus.REFUNDED).actor == finance
    # Refunded: no refund button any more.
    assert "Refund…" not in response.content.decode()
    # The same confirmation sent again (a double click, a reload) refunds nothing more.
    again = submit(client, page, WHOLE, follow=True)
    assert f"{order.number}: this refund was already made (1,019.98 USD, succeeded); nothing more was refunded." in (
        _messages(again)
    )
    assert len(stripe_gateway.requests_to("POST", "/v1/refunds")) == 1 and _stock(order) == 7


def test_a_confirmation_that_does_not_say_what_its_page_showed_refunds_nothing(stripe_gateway, paid):
    order, payment = paid
    client = login(staff_in(FINANCE))

    response = client.post(_refund_url(order), {"confirm": "1", "whole": "1"})

    assert response.status_code == 200
    assert "That confirmation does not say what its page showed; nothing was refunded." in response.content.decode()
    assert not Refund.objects.exists() and stripe_gateway.requests_to("POST", "/v1/refunds") == []


def test_a_pending_refund_says_so_in_words(stripe_gateway, paid):
    order, payment = paid
    stripe_gateway.state.refund_status = "pending"
    client = login(staff_in(FINANCE))

    response = submit(client, client.get(_refund_url(order)), WHOLE, follow=True)

    [message] = [m for m in _messages(response) if order.number in m]
    assert "refund of 1,019.98 USD asked for" in message and "pending" in message
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUND_PENDING
    again = client.get(_refund_url(order)).content.decode()
    assert "nothing left to refund" in again and "some still pending" in again
    assert 'id="order-refund-form"' not in again and 'id="order-refund-part-form"' not in again


def test_a_provider_refusal_is_shown_in_plain_words_not_a_500(stripe_gateway, paid):
    order, payment = paid
    stripe_gateway.state.refund_status = "failed"
    client = login(staff_in(FINANCE))

    response = submit(client, client.get(_refund_url(order)), WHOLE)

    assert response.status_code == 200
    assert "The provider reported the refund as failed." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and _stock(order) == 5
    assert Refund.objects.get(order=order).status == RefundStatus.FAILED


def test_a_lost_provider_answer_is_shown_and_confirming_again_asks_once_with_the_same_key(stripe_gateway, paid):
    order, _payment = paid
    stripe_gateway.fail_next(1, status=500)
    client = login(staff_in(FINANCE))

    failed = submit(client, client.get(_refund_url(order)), WHOLE)

    assert failed.status_code == 200
    assert "The payment provider did not answer as expected; please try again." in failed.content.decode()
    [refund] = Refund.objects.filter(order=order)
    assert refund.status == RefundStatus.PENDING and "no answer from the provider" in refund.last_error
    assert "the same reference, which never refunds twice" in failed.content.decode()

    retried = submit(client, failed, WHOLE, follow=True)

    assert f"{order.number}: 1,019.98 USD refunded. 2 unit(s) back in stock." in _messages(retried)
    assert Refund.objects.filter(order=order).count() == 1
    assert {r.idempotency_key for r in stripe_gateway.requests_to("POST", "/v1/refunds")} == {f"refund-{refund.pk}"}
    assert len(stripe_gateway.state.refunds) == 1


def test_a_shipped_order_is_refunded_without_restocking(dummy_gateway, user):
    order = make_order(user, total="19.99", quantity=2, stock=5)
    order_transition(order_id=order.pk, to_status=OrderStatus.PAID, actor=Actor.SYSTEM)
    order_transition(order_id=order.pk, to_status=OrderStatus.SHIPPED, actor=Actor.STAFF, tracking_number="T")
    PaymentFactory(order=order, provider=Payment.Provider.DUMMY, status=PaymentStatus.SUCCEEDED, amount_minor=1999)
    client = login(staff_in(FINANCE))

    confirm = client.get(_refund_url(order))
    done = submit(client, confirm, WHOLE, follow=True)

    assert "stay out of stock" in confirm.content.decode()
    assert f"{order.number}: 19.99 USD refunded." in _messages(done)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and _stock(order) == 5


# --- part of it: lines, shipping, an amount, through a confirmation ------------------------------


def test_one_unit_of_a_line_is_refunded_after_its_confirmation_and_goes_back_in_stock(
    stripe_gateway, priced, django_capture_on_commit_callbacks
):
    order, a, b = priced
    finance = staff_in(FINANCE)
    client = login(finance)
    page = client.get(_refund_url(order))

    confirmation = submit(client, page, PART, **{_units(a): 1, "reason": "Damaged"})

    content = confirmation.content.decode()
    assert confirmation.status_code == 200
    assert '<strong class="refund-amount">10.80 USD</strong>' in content  # its share of discount and tax
    assert f"1 &times; {a.product_name} ({a.sku}), back in stock" in content and "Reason: Damaged" in content
    assert b.product_name not in content and "Shipping" not in content
    assert stripe_gateway.requests_to("POST", "/v1/refunds") == [] and not Refund.objects.exists()
    # "Change the refund" leads back to the form with the choices made.
    [edit] = re.findall(r'href="(\?[^"]*edit=1)"', content)
    kept = form_of(client.get(_refund_url(order) + html.unescape(edit)), PART)["values"]
    assert (kept[_units(a)], kept["reason"], kept["restock"]) == ("1", "Damaged", "on")

    with django_capture_on_commit_callbacks(execute=True):
        done = submit(client, confirmation, CONFIRM, follow=True)

    assert done.redirect_chain[-1][0] == _change_url(order)
    assert f"{order.number}: 10.80 USD refunded. 1 unit(s) back in stock." in _messages(done)
    [sent] = stripe_gateway.requests_to("POST", "/v1/refunds")
    [refund] = Refund.objects.filter(order=order)
    assert sent.form["amount"] == "1080" and sent.idempotency_key == f"refund-{refund.pk}"
    assert (refund.status, refund.amount_minor, refund.reason, refund.created_by) == (
        RefundStatus.SUCCEEDED,
        1080,
        "Damaged",
        finance,
    )
    assert [(line.order_item_id, line.quantity, line.restock) for line in refund.lines.all()] == [(a.pk, 1, True)]
    assert (_variant_stock(a), _variant_stock(b)) == (5, 2)
    order.refresh_from_db()
    assert (order.status, order.refunded_total, order.payment_status) == (
        OrderStatus.PAID,
        Decimal("10.80"),
        "partially_refunded",
    )
    # The refund page now counts that unit and offers the two others.
    again = client.get(_refund_url(order)).content.decode()
    assert '<strong class="refund-amount">31.20 USD</strong>' in again and 'max="2"' in again


def test_units_refunded_without_restocking_stay_out_of_stock(stripe_gateway, priced):
    order, a, _b = priced
    client = login(staff_in(FINANCE))

    confirmation = submit(client, client.get(_refund_url(order)), PART, **{_units(a): 2, "restock": None})
    submit(client, confirmation, CONFIRM)

    assert "The refunded units stay out of stock." in confirmation.content.decode()
    assert "21.60 USD" in confirmation.content.decode()
    [refund] = Refund.objects.filter(order=order)
    assert refund.amount_minor == 2160 and [line.restock for line in refund.lines.all()] == [False]
    assert _variant_stock(a) == 4


def test_the_shipping_alone_is_refunded_once(stripe_gateway, priced):
    order, a, b = priced
    client = login(staff_in(FINANCE))
    page = client.get(_refund_url(order))
    assert "Refund shipping (4.80 USD)" in page.content.decode()

    confirmation = submit(client, page, PART, shipping="on")
    done = submit(client, confirmation, CONFIRM, follow=True)

    assert '<strong class="refund-amount">4.80 USD</strong>' in confirmation.content.decode()
    assert f"{order.number}: 4.80 USD refunded." in _messages(done)
    [refund] = Refund.objects.filter(order=order)
    assert (refund.amount_minor, refund.shipping, refund.shipping_minor, refund.lines.count()) == (480, True, 480, 0)
    assert [r.form["amount"] for r in stripe_gateway.requests_to("POST", "/v1/refunds")] == ["480"]
    assert (_variant_stock(a), _variant_stock(b)) == (4, 2)
    # Refunded: the page no longer offers it.
    assert "shipping" not in form_of(client.get(_refund_url(order)), PART)["names"]


def test_a_goodwill_amount_is_refunded_on_its_own(stripe_gateway, priced):
    order, a, _b = priced
    client = login(staff_in(FINANCE))

    confirmation = submit(client, client.get(_refund_url(order)), PART, amount="5.00", reason="Late delivery")
    done = submit(client, confirmation, CONFIRM, follow=True)

    assert "Goodwill amount" in confirmation.content.decode()
    assert '<strong class="refund-amount">5.00 USD</strong>' in confirmation.content.decode()
    assert f"{order.number}: 5.00 USD refunded." in _messages(done)
    [refund] = Refund.objects.filter(order=order)
    assert (refund.amount_minor, refund.goodwill_minor, refund.lines.count()) == (500, 500, 0)
    assert _variant_stock(a) == 4
    order.refresh_from_db()
    assert order.refunded_total == Decimal("5.00")


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"amount": "50.00"}, "That refund is 50.00 USD, but only 42.00 USD of what order"),
        ({"amount": "5.00", "shipping": "on"}, "A goodwill amount is refunded on its own"),
        ({}, "Choose units to refund, the shipping or an amount"),
        ({"amount": "1.005"}, "Ensure that there are no more than 2 decimal places."),
    ],
    ids=["more-than-paid", "amount-with-shipping", "nothing-chosen", "too-precise"],
)
def test_a_refusal_is_shown_on_the_page_and_nothing_is_refunded(stripe_gateway, priced, changes, says):
    order, _a, _b = priced
    client = login(staff_in(FINANCE))

    response = submit(client, client.get(_refund_url(order)), PART, **changes)

    assert response.status_code == 200
    assert says in response.content.decode()
    assert CONFIRM not in response.content.decode()  # no confirmation: the form again
    assert stripe_gateway.requests_to("POST", "/v1/refunds") == [] and not Refund.objects.exists()


def test_units_beyond_what_is_left_are_refused_on_their_row(stripe_gateway, priced):
    order, a, _b = priced
    refund_create(order_id=order.pk, lines=[RefundLineRequest(a.pk, 2)])
    client = login(staff_in(FINANCE))

    response = submit(client, client.get(_refund_url(order)), PART, **{_units(a): 2})

    assert "Ensure this value is less than or equal to 1." in response.content.decode()
    assert Refund.objects.count() == 1


def test_a_refusal_at_confirmation_is_shown_in_plain_words_with_the_choices_kept(stripe_gateway, priced):
    order, a, _b = priced
    stripe_gateway.state.refund_status = "failed"
    client = login(staff_in(FINANCE))
    confirmation = submit(client, client.get(_refund_url(order)), PART, **{_units(a): 2, "reason": "Broken"})

    response = submit(client, confirmation, CONFIRM)

    assert response.status_code == 200
    assert "The provider reported the refund as failed." in response.content.decode()
    kept = form_of(response, PART)["values"]
    assert (kept[_units(a)], kept["reason"]) == ("2", "Broken")
    assert Refund.objects.get(order=order).status == RefundStatus.FAILED
    assert _variant_stock(a) == 4
    order.refresh_from_db()
    assert order.refunded_total == 0


def test_a_confirmation_after_a_refund_its_page_did_not_show_refunds_nothing(stripe_gateway, priced):
    order, a, _b = priced
    client = login(staff_in(FINANCE))
    confirmation = submit(client, client.get(_refund_url(order)), PART, **{_units(a): 1})
    colleague = refund_create(order_id=order.pk, lines=[RefundLineRequest(a.pk, 1)]).refund

    response = submit(client, confirmation, CONFIRM)

    content = response.content.decode()
    assert f"has a refund its page did not show (refund {colleague.pk}: 10.80 USD, succeeded)" in content
    assert "nothing was refunded" in content
    assert Refund.objects.count() == 1 and len(stripe_gateway.requests_to("POST", "/v1/refunds")) == 1
    assert _variant_stock(a) == 5  # the colleague's unit only


def test_a_confirmation_sent_twice_refunds_once(stripe_gateway, priced):
    order, a, _b = priced
    client = login(staff_in(FINANCE))
    confirmation = submit(client, client.get(_refund_url(order)), PART, **{_units(a): 3})

    first = submit(client, confirmation, CONFIRM, follow=True)
    second = submit(client, confirmation, CONFIRM, follow=True)

    assert f"{order.number}: 32.40 USD refunded. 3 unit(s) back in stock." in _messages(first)
    assert f"{order.number}: this refund was already made (32.40 USD, succeeded); nothing more was refunded." in (
        _messages(second)
    )
    assert Refund.objects.count() == 1 and len(stripe_gateway.requests_to("POST", "/v1/refunds")) == 1
    assert _variant_stock(a) == 7


def test_a_confirmation_whose_choices_were_changed_refunds_nothing(stripe_gateway, priced):
    order, a, _b = priced
    client = login(staff_in(FINANCE))
    confirmation = submit(client, client.get(_refund_url(order)), PART, **{_units(a): 1})

    response = submit(client, confirmation, CONFIRM, **{_units(a): 3})

    assert "gives back 32.40 USD now, not 10.80 USD as its page showed; nothing was refunded" in (
        response.content.decode()
    )
    assert not Refund.objects.exists() and stripe_gateway.requests_to("POST", "/v1/refunds") == []


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [ORDER_MANAGERS, SUPPORT, CATALOG_MANAGERS, None])
def test_the_refund_page_and_its_confirmations_are_a_403_without_the_permission(stripe_gateway, priced, role):
    order, a, _b = priced
    finance = login(staff_in(FINANCE))
    page = finance.get(_refund_url(order))
    confirmation = submit(finance, page, PART, **{_units(a): 1})
    client = login(staff_in(role) if role else StaffFactory(roles=()))

    responses = [
        client.get(_refund_url(order)),
        client.get(_refund_url(order), {_units(a): 1, "restock": "on", "review": "1"}),
        client.post(_refund_url(order), form_of(page, WHOLE)["values"]),
        client.post(_refund_url(order), form_of(confirmation, CONFIRM)["values"]),
    ]

    assert [r.status_code for r in responses] == [403] * 4
    assert all('id="site-name"' in r.content.decode() for r in responses)
    assert stripe_gateway.requests_to("POST", "/v1/refunds") == [] and not Refund.objects.exists()
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == (OrderStatus.PAID, 0)


def test_an_order_without_money_held_has_no_refund_page(dummy_gateway, user):
    order = make_order(user)

    response = login(staff_in(FINANCE)).get(_refund_url(order), follow=True)

    assert f"{order.number} has no payment to refund: no money is held for it." in _messages(response)
    assert "Refund…" not in response.content.decode()


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


# --- the payments list ------------------------------------------------------------------------------


def test_the_payments_list_shows_money_and_leads_to_the_refund_page(stripe_gateway, paid):
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
