"""Checkout under contention on PostgreSQL: the product row lock keeps stock from being oversold."""

from decimal import Decimal
from functools import partial

import pytest
from rest_framework.test import APIClient

from cart.models import Cart, CartItem
from orders.models import Order, OrderItem
from products.models import Product
from tests.concurrency import run_concurrently
from tests.conftest import auth_client, requires_postgres
from tests.factories import AddressFactory, ProductFactory, UserFactory

from .helpers import fill_cart

BUYERS = 20
STOCK = 5
GUEST_ADDRESS = {
    "full_name": "Grace Hopper",
    "phone": "+1 212 555 0100",
    "line1": "1 Navy Yard",
    "city": "New York",
    "postal_code": "10001",
    "country": "US",
}


def _race(item_of):
    """BUYERS customers, buyer i with one unit of `item_of(i)` (a product or a variant) in the cart,
    check out at the same instant. Returns (responses, errors) of run_concurrently."""
    buyers = []
    for index in range(BUYERS):
        user = UserFactory()
        fill_cart(user, (item_of(index), 1))
        buyers.append((auth_client(user), AddressFactory(user=user).pk))

    def buy(index):
        client, address_id = buyers[index]
        return client.post(
            "/api/orders/create/",
            {"shipping_address_id": address_id, "payment_method": "card"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"buy-{index}",
        )

    return run_concurrently(*[partial(buy, i) for i in range(BUYERS)], timeout=120)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_buyers_for_five_units_make_exactly_five_orders():
    product = ProductFactory(stock=STOCK, price=Decimal("9.99"), name="Limited Print", sku="PRINT-1")
    responses, errors = _race(lambda index: product)

    assert errors == []
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * STOCK + [409] * (BUYERS - STOCK)
    for response in responses:
        if response.status_code == 409:
            assert response.json()["errors"] == [
                {
                    "code": "out_of_stock",
                    "detail": "Only 0 of Limited Print (PRINT-1) available; you asked for 1.",
                    "attr": f"items.{product.pk}",
                }
            ]
    assert Product.objects.get(pk=product.pk).stock == 0
    assert Order.objects.count() == STOCK
    assert OrderItem.objects.filter(product=product).count() == STOCK
    # winners' carts were emptied, losers keep theirs to fix
    assert CartItem.objects.filter(product=product).count() == BUYERS - STOCK


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_buyers_across_two_variants_make_exactly_as_many_orders_as_units():
    """The no-oversell guarantee per variant: stock 3 of one size and 2 of another, 20 buyers split
    between them, exactly 5 orders; each variant ends at 0 and the product's stock with them."""
    product = ProductFactory(
        name="Festival Tee",
        sku="TEE",
        variants=[
            {"sku": "TEE-M", "options": {"Size": "M"}, "stock": 3},
            {"sku": "TEE-L", "options": {"Size": "L"}, "stock": 2},
        ],
    )
    medium, large = product.variants.order_by("sku").reverse()
    assert (medium.sku, large.sku) == ("TEE-M", "TEE-L")
    responses, errors = _race(lambda index: medium if index % 2 else large)

    assert errors == []
    assert sorted(r.status_code for r in responses) == [201] * 5 + [409] * (BUYERS - 5)
    details = {error["detail"] for r in responses if r.status_code == 409 for error in r.json()["errors"]}
    assert details <= {
        "Only 0 of Festival Tee (M, TEE-M) available; you asked for 1.",
        "Only 0 of Festival Tee (L, TEE-L) available; you asked for 1.",
    }
    assert Order.objects.count() == 5
    assert OrderItem.objects.filter(variant=medium).count() == 3
    assert OrderItem.objects.filter(variant=large).count() == 2
    medium.refresh_from_db()
    large.refresh_from_db()
    assert (medium.stock, large.stock) == (0, 0)
    assert Product.objects.get(pk=product.pk).stock == 0


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_guests_and_customers_racing_for_five_units_make_exactly_five_orders():
    """Guest checkout takes the same locks as an account's: ten guests (anonymous carts) and ten
    customers for five units end with five orders and no stock below zero."""
    product = ProductFactory(stock=STOCK, price=Decimal("9.99"))
    calls = []
    for index in range(BUYERS // 2):
        user = UserFactory()
        fill_cart(user, (product, 1))
        client, address_id = auth_client(user), AddressFactory(user=user).pk
        calls.append(
            partial(
                client.post,
                "/api/orders/create/",
                {"shipping_address_id": address_id, "payment_method": "card"},
                format="json",
            )
        )
        cart = Cart.objects.create()
        CartItem.objects.create(cart=cart, product=product, variant=product.variants.get(), quantity=1)
        calls.append(
            partial(
                APIClient().post,
                "/api/orders/create/",
                {"email": f"guest{index}@example.com", "shipping_address": GUEST_ADDRESS, "payment_method": "card"},
                format="json",
                HTTP_X_CART_TOKEN=cart.token,
            )
        )

    responses, errors = run_concurrently(*calls, timeout=120)

    assert errors == []
    assert sorted(r.status_code for r in responses) == [201] * STOCK + [409] * (BUYERS - STOCK)
    assert Product.objects.get(pk=product.pk).stock == 0
    assert Order.objects.count() == STOCK


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_one_guest_cart_sent_twice_at_once_makes_one_order():
    """A double click from a guest: the same cart twice at the same instant, with and without the
    same Idempotency-Key. The cart's lock serialises them; the second finds the cart empty (or the
    key taken), never a second order."""
    product = ProductFactory(stock=STOCK, price=Decimal("9.99"))
    for key in ("guest-double", None):
        cart = Cart.objects.create()
        CartItem.objects.create(cart=cart, product=product, variant=product.variants.get(), quantity=1)
        headers = {"HTTP_X_CART_TOKEN": cart.token} | ({"HTTP_IDEMPOTENCY_KEY": key} if key else {})
        body = {"email": "grace@example.com", "shipping_address": GUEST_ADDRESS, "payment_method": "card"}
        before = Order.objects.count()

        responses, errors = run_concurrently(
            *[partial(APIClient().post, "/api/orders/create/", body, format="json", **headers) for _ in range(2)]
        )

        assert errors == []
        codes = sorted(r.status_code for r in responses)
        assert codes in ([201, 201], [201, 400], [201, 409]), codes
        assert Order.objects.count() == before + 1
        if codes == [201, 201]:  # the replay of the first, with the same order and token
            assert responses[0].json() == responses[1].json()
