"""Real threads against PostgreSQL: the cart row lock keeps one line per product."""

from functools import partial

import pytest

from cart.models import Cart, CartItem
from cart.services import cart_add_item, cart_merge_anonymous
from tests.concurrency import run_concurrently
from tests.conftest import auth_client, requires_postgres
from tests.factories import CartFactory, CartItemFactory, ProductFactory, UserFactory

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("cart_exists", [True, False])
def test_simultaneous_adds_of_one_product_end_as_one_line_with_the_sum(cart_exists):
    user = UserFactory()
    product = ProductFactory(stock=100)
    if cart_exists:
        CartFactory(user=user)

    def add_over_http():
        return auth_client(user).post("/api/cart/add/", {"product_id": product.pk, "quantity": 2}, format="json")

    results, failures = run_concurrently(*[add_over_http] * 8)

    assert failures == []
    assert sorted(r.status_code for r in results) == [200] * 7 + [201]
    assert Cart.objects.filter(user=user).count() == 1
    assert list(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity")) == [(product.pk, 16)]


def test_simultaneous_adds_never_exceed_stock():
    user = UserFactory()
    product = ProductFactory(stock=5)
    CartFactory(user=user)

    results, failures = run_concurrently(
        *[lambda: cart_add_item(user=user, cart_token=None, product_id=product.pk, quantity=1)] * 8
    )

    assert len(results) == 5
    assert [f.code for f in failures] == ["out_of_stock"] * 3
    assert CartItem.objects.get(cart__user=user).quantity == 5


def test_simultaneous_anonymous_adds_with_one_token_share_one_line():
    anonymous = CartFactory(user=None)
    product = ProductFactory(stock=100)

    results, failures = run_concurrently(
        *[lambda: cart_add_item(user=None, cart_token=anonymous.token, product_id=product.pk, quantity=3)] * 6
    )

    assert failures == []
    assert {r.cart.pk for r in results} == {anonymous.pk}
    assert CartItem.objects.get(cart=anonymous).quantity == 18


def test_simultaneous_logins_with_one_cart_token_merge_it_once():
    user = UserFactory()
    product = ProductFactory(stock=50)
    anonymous = CartFactory(user=None)
    CartItemFactory(cart=anonymous, product=product, quantity=4)

    results, failures = run_concurrently(*[lambda: cart_merge_anonymous(user=user, cart_token=anonymous.token)] * 5)

    assert failures == []
    assert not Cart.objects.filter(pk=anonymous.pk).exists()
    assert list(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity")) == [(product.pk, 4)]


def test_merge_and_add_at_the_same_time_do_not_deadlock_or_lose_units():
    user = UserFactory()
    products = ProductFactory.create_batch(3, stock=100)
    cart = CartFactory(user=user)
    anonymous = CartFactory(user=None)
    for product in products:
        CartItemFactory(cart=anonymous, product=product, quantity=1)

    def work(index):
        if index == 0:
            return cart_merge_anonymous(user=user, cart_token=anonymous.token)
        return cart_add_item(user=user, cart_token=None, product_id=products[index % 3].pk, quantity=1)

    results, failures = run_concurrently(*[partial(work, i) for i in range(7)])

    assert failures == []
    # 3 merged units + 6 added units, spread over three lines
    lines = dict(cart.items.values_list("product_id", "quantity"))
    assert sum(lines.values()) == 9
    assert set(lines) == {p.pk for p in products}
