"""The cart's `discount_total` (API.md, Cart): what its voucher takes off now, priced by the one pricing
code, so the cart and the checkout preview agree; a voucher that no longer applies stays on the cart,
takes nothing off and says why, with the code the preview refuses it with."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from cart.models import Cart
from orders.models import Voucher, VoucherKind, VoucherRedemption
from tests.factories import (
    CartFactory,
    CartItemFactory,
    CategoryFactory,
    OrderFactory,
    ProductFactory,
    VoucherFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
ADDRESS = {
    "full_name": "Ada Lovelace",
    "phone": "+44 20 7946 0000",
    "line1": "1 Main St",
    "city": "London",
    "postal_code": "SW1A 1AA",
    "country": "gb",
}


def _apply(client, code, **headers):
    response = client.post("/api/cart/voucher/", {"code": code}, format="json", headers=headers)
    assert response.status_code == 200, response.content
    return response.json()


def _preview(client, **headers):
    return client.post("/api/checkout/preview/", {"shipping_address": ADDRESS}, format="json", headers=headers)


@pytest.fixture
def cart(user):
    """Two mugs at 12.50 and a towel at 4.99: 29.99."""
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=ProductFactory(name="Mug", price=D("12.50"), stock=10), quantity=2)
    CartItemFactory(cart=cart, product=ProductFactory(name="Towel", price=D("4.99"), stock=10), quantity=1)
    return cart


def test_a_percent_voucher_shows_its_discount_on_every_cart_answer_as_the_preview_prices_it(cart, user_client):
    VoucherFactory(code="SAVE10", kind=VoucherKind.PERCENT, value=D("10"))

    applied = _apply(user_client, "save10")
    shown = user_client.get("/api/cart/").json()
    preview = _preview(user_client).json()

    # 10% of 29.99 is 3.00 (rounded half-up)
    assert (applied["subtotal"], applied["discount_total"]) == ("29.99", "3.00")
    assert applied["voucher"] == {"code": "SAVE10", "kind": "percent", "value": "10.00", "problem": None}
    assert shown["discount_total"] == preview["discount_total"] == "3.00"
    mug_line = shown["items"][0]["id"]
    grown = user_client.patch(f"/api/cart/update/{mug_line}/", {"quantity": 4}, format="json").json()
    added = user_client.post("/api/cart/add/", {"product_id": ProductFactory(price=D("1.00")).pk}, format="json")
    assert grown["discount_total"] == "5.50"  # 10% of 54.99
    assert (added.status_code, added.json()["discount_total"]) == (201, "5.60")  # 10% of 55.99
    assert user_client.delete("/api/cart/voucher/").json()["discount_total"] == "0.00"


def test_a_fixed_voucher_scoped_to_a_category_takes_off_only_the_lines_in_it(user, user_client):
    kitchen = CategoryFactory(name="Kitchen")
    cups = CategoryFactory(name="Cups", parent=kitchen)
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=ProductFactory(price=D("3.00"), category=cups, stock=10), quantity=2)
    CartItemFactory(cart=cart, product=ProductFactory(price=D("40.00"), stock=10), quantity=1)
    VoucherFactory(code="KITCHEN10", kind=VoucherKind.FIXED, value=D("10.00"), categories=[kitchen])

    body = _apply(user_client, "KITCHEN10")

    # Only the cups (a sub-category of Kitchen) are eligible: 6.00, so 10.00 off is capped at 6.00.
    assert (body["subtotal"], body["discount_total"]) == ("46.00", "6.00")
    assert body["voucher"]["problem"] is None
    assert _preview(user_client).json()["discount_total"] == "6.00"


def test_a_voucher_that_expired_after_it_was_applied_takes_nothing_off_and_says_why(cart, user_client):
    VoucherFactory(code="WEEKEND", kind=VoucherKind.PERCENT, value=D("20"))
    assert _apply(user_client, "WEEKEND")["discount_total"] == "6.00"
    Voucher.objects.filter(code="WEEKEND").update(ends_at=timezone.now() - timedelta(minutes=1))

    body = user_client.get("/api/cart/").json()
    preview = _preview(user_client)

    assert body["discount_total"] == "0.00"
    assert body["voucher"] == {
        "code": "WEEKEND",
        "kind": "percent",
        "value": "20.00",
        "problem": {"code": "voucher_expired", "detail": "This voucher has expired."},
    }
    [refusal] = preview.json()["errors"]
    assert (preview.status_code, refusal["code"], refusal["detail"]) == (
        400,
        "voucher_expired",
        "This voucher has expired.",
    )
    assert Cart.objects.get(pk=cart.pk).voucher.code == "WEEKEND"  # shown, not dropped: reading writes nothing


def test_an_anonymous_carts_voucher_is_priced_on_its_answers():
    client = APIClient()
    token = client.post("/api/cart/add/", {"product_id": ProductFactory(price=D("30.00")).pk}, format="json").json()[
        "cart_token"
    ]
    VoucherFactory(code="ANON5", kind=VoucherKind.FIXED, value=D("5.00"))

    applied = _apply(client, "anon5", **{"X-Cart-Token": token})
    shown = client.get("/api/cart/", headers={"X-Cart-Token": token}).json()
    preview = _preview(client, **{"X-Cart-Token": token}).json()

    assert applied["discount_total"] == shown["discount_total"] == preview["discount_total"] == "5.00"
    assert shown["voucher"]["problem"] is None


def _below_minimum(voucher, cart, user):
    voucher.min_subtotal = D("50.00")
    voucher.save()


def _used_up(voucher, cart, user):
    voucher.usage_limit, voucher.used_count = 3, 3
    voucher.save()


def _used_by_this_customer(voucher, cart, user):
    voucher.per_customer_limit = 1
    voucher.save()
    VoucherRedemption.objects.create(voucher=voucher, order=OrderFactory(user=user), user=user, email=user.email)


def _deactivated(voucher, cart, user):
    voucher.is_active = False
    voucher.save()


def _nothing_eligible(voucher, cart, user):
    voucher.products.set([ProductFactory()])


def _emptied(voucher, cart, user):
    cart.items.all().delete()


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        (_below_minimum, "voucher_min_subtotal", 400),
        (_used_up, "voucher_exhausted", 409),
        (_used_by_this_customer, "voucher_exhausted", 409),
        (_deactivated, "voucher_invalid", 400),
        (_nothing_eligible, "voucher_not_applicable", 400),
        (_emptied, "voucher_not_applicable", 400),
    ],
)
def test_a_voucher_that_no_longer_applies_shows_the_refusal_the_checkout_gives(
    change, code, status, cart, user, user_client
):
    voucher = VoucherFactory(code="LATER", kind=VoucherKind.FIXED, value=D("5.00"))
    _apply(user_client, "LATER")
    change(voucher, cart, user)

    body = user_client.get("/api/cart/").json()
    preview = _preview(user_client)

    assert body["discount_total"] == "0.00"
    assert body["voucher"]["code"] == "LATER" and body["voucher"]["problem"]["code"] == code
    if code != "voucher_not_applicable" or cart.items.exists():  # an empty cart's preview is cart_empty
        [refusal] = preview.json()["errors"]
        assert (preview.status_code, refusal["code"]) == (status, code)
        assert refusal["detail"] == body["voucher"]["problem"]["detail"]


def test_a_cart_under_the_minimum_gets_the_discount_once_it_reaches_it(cart, user_client):
    VoucherFactory(code="BIG", kind=VoucherKind.FIXED, value=D("5.00"))
    _apply(user_client, "BIG")
    Voucher.objects.filter(code="BIG").update(min_subtotal=D("35.00"))  # staff raised the minimum since
    below = user_client.get("/api/cart/").json()

    added = user_client.post("/api/cart/add/", {"product_id": ProductFactory(price=D("5.01")).pk}, format="json")

    assert below["voucher"]["problem"]["code"] == "voucher_min_subtotal"
    assert below["voucher"]["problem"]["detail"] == (
        "This voucher needs a subtotal of at least 35.00 USD; your cart's is 29.99."
    )
    assert added.json()["subtotal"] == "35.00"
    assert (added.json()["discount_total"], added.json()["voucher"]["problem"]) == ("5.00", None)
