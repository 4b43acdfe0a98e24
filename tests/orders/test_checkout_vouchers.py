"""A voucher at checkout: priced by orders.pricing, checked again and counted inside the order's
transaction, given back when the order is cancelled (API.md "Checkout pricing")."""

from decimal import Decimal
from functools import partial

import pytest

from cart.models import Cart
from orders.models import Order, OrderStatus, Voucher, VoucherRedemption
from orders.services import order_transition
from orders.transitions import Actor
from tests.concurrency import run_concurrently
from tests.conftest import auth_client, requires_postgres
from tests.factories import AddressFactory, CategoryFactory, ProductFactory, UserFactory, VoucherFactory

from .helpers import fill_cart

D = Decimal


def _apply(client, code):
    response = client.post("/api/cart/voucher/", {"code": code}, format="json")
    assert response.status_code == 200, response.content
    return response


def _order(client, user):
    address = AddressFactory(user=user)
    return client.post(
        "/api/orders/create/", {"shipping_address_id": address.pk, "payment_method": "card"}, format="json"
    )


@pytest.mark.django_db
def test_a_percent_voucher_is_spread_over_the_lines_counted_and_snapshotted(user, user_client):
    mug = ProductFactory(price=D("12.50"), stock=10)
    towel = ProductFactory(price=D("4.99"), stock=10)
    fill_cart(user, (mug, 2), (towel, 1))
    VoucherFactory(code="SAVE10", kind="percent", value=D("10"))
    _apply(user_client, "save10")
    address = AddressFactory(user=user)
    preview = user_client.post("/api/checkout/preview/", {"shipping_address_id": address.pk}, format="json").json()

    response = user_client.post(
        "/api/orders/create/", {"shipping_address_id": address.pk, "payment_method": "card"}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    # 10% of 29.99 is 3.00 (rounded half-up), spread 2.50 / 0.50 by the lines' subtotals.
    assert (body["subtotal"], body["discount_total"], body["total"], body["voucher_code"]) == (
        "29.99",
        "3.00",
        "26.99",
        "SAVE10",
    )
    assert [item["discount"] for item in body["items"]] == ["2.50", "0.50"]
    assert (preview["discount_total"], preview["total"], preview["voucher"]) == ("3.00", "26.99", "SAVE10")
    voucher = Voucher.objects.get(code="SAVE10")
    assert voucher.used_count == 1
    assert VoucherRedemption.objects.get().order_id == body["id"]
    assert user_client.get("/api/cart/").json()["voucher"] is None  # used: the next cart starts without it


@pytest.mark.django_db
def test_cancelling_gives_the_use_back(user, user_client):
    fill_cart(user, (ProductFactory(price=D("20.00"), stock=5), 1))
    VoucherFactory(code="ONCE", kind="fixed", value=D("5.00"), usage_limit=1)
    _apply(user_client, "ONCE")
    order_id = _order(user_client, user).json()["id"]

    order_transition(order_id=order_id, to_status=OrderStatus.CANCELLED, actor=Actor.CUSTOMER)
    order_transition(order_id=order_id, to_status=OrderStatus.CANCELLED, actor=Actor.CUSTOMER)  # twice: no-op

    voucher = Voucher.objects.get(code="ONCE")
    assert voucher.used_count == 0
    assert not VoucherRedemption.objects.exists()


@pytest.mark.django_db
def test_a_voucher_used_up_since_it_was_applied_fails_the_order_and_changes_nothing(user, user_client):
    mug = ProductFactory(price=D("20.00"), stock=5)
    fill_cart(user, (mug, 1))
    voucher = VoucherFactory(code="LAST", kind="percent", value=D("50"), usage_limit=1)
    _apply(user_client, "LAST")
    Voucher.objects.filter(pk=voucher.pk).update(used_count=1)  # someone else took the last use

    response = _order(user_client, user)

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "voucher_exhausted"
    assert not Order.objects.exists()
    mug.refresh_from_db()
    assert mug.stock == 5


@pytest.mark.django_db
def test_a_customer_past_their_limit_is_refused_at_checkout_and_nothing_changes(user, user_client):
    mug = ProductFactory(price=D("20.00"), stock=5)
    fill_cart(user, (mug, 1))
    voucher = VoucherFactory(code="WELCOME", kind="fixed", value=D("5.00"), per_customer_limit=1)
    _apply(user_client, "WELCOME")
    assert _order(user_client, user).status_code == 201
    cart = fill_cart(user, (mug, 1))
    Cart.objects.filter(pk=cart.pk).update(voucher=voucher)  # applied in another tab before that order

    response = _order(user_client, user)

    assert response.status_code == 409
    assert response.json()["errors"][0] == {
        "code": "voucher_exhausted",
        "detail": "You have already used this voucher; it can be used once per customer.",
        "attr": "code",
    }
    assert Voucher.objects.get(code="WELCOME").used_count == 1
    assert Order.objects.count() == VoucherRedemption.objects.count() == 1
    mug.refresh_from_db()
    assert mug.stock == 4


@pytest.mark.django_db
def test_a_category_voucher_discounts_only_the_lines_of_its_categories_at_checkout(user, user_client):
    kitchen = CategoryFactory()
    mug = ProductFactory(price=D("10.00"), stock=5, category=CategoryFactory(parent=kitchen))
    towel = ProductFactory(price=D("5.00"), stock=5)
    fill_cart(user, (mug, 1), (towel, 1))
    VoucherFactory(code="KITCHEN", kind="percent", value=D("50"), categories=[kitchen])
    _apply(user_client, "KITCHEN")

    response = _order(user_client, user)

    assert response.status_code == 201, response.content
    assert [(item["unit_price"], item["discount"]) for item in response.json()["items"]] == [
        ("10.00", "5.00"),
        ("5.00", "0.00"),
    ]
    assert response.json()["discount_total"] == "5.00"


@pytest.mark.django_db
def test_a_free_shipping_voucher_and_a_minimum_subtotal(user, user_client):
    fill_cart(user, (ProductFactory(price=D("20.00"), stock=5), 1))
    VoucherFactory(code="SHIPFREE", kind="free_shipping", value=D("0"), min_subtotal=D("25.00"))
    response = user_client.post("/api/cart/voucher/", {"code": "SHIPFREE"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "voucher_min_subtotal"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_buyers_race_for_the_last_use_and_one_gets_it():
    VoucherFactory(code="FLASH", kind="percent", value=D("20"), usage_limit=1)
    product = ProductFactory(price=D("10.00"), stock=100)
    buyers = []
    for _ in range(20):
        user = UserFactory()
        fill_cart(user, (product, 1))
        client = auth_client(user)
        _apply(client, "FLASH")
        buyers.append((client, AddressFactory(user=user).pk))

    def buy(index):
        client, address_id = buyers[index]
        return client.post(
            "/api/orders/create/",
            {"shipping_address_id": address_id, "payment_method": "card"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"flash-{index}",
        )

    responses, errors = run_concurrently(*[partial(buy, i) for i in range(20)], timeout=120)

    assert errors == []
    assert sorted(r.status_code for r in responses) == [201] + [409] * 19
    assert {r.json()["errors"][0]["code"] for r in responses if r.status_code == 409} == {"voucher_exhausted"}
    assert Voucher.objects.get(code="FLASH").used_count == 1
    assert Order.objects.count() == 1 and Order.objects.get().discount_total == D("2.00")
    product.refresh_from_db()
    assert product.stock == 99
