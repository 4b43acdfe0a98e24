"""Real threads against PostgreSQL: the cart row lock keeps one line per product, and a line's stock
is the one a concurrent stock writer leaves (read under the product's lock)."""

from functools import partial

import pytest
from rest_framework.test import APIClient

from cart.models import Cart, CartItem
from cart.services import cart_add_item, cart_merge_anonymous
from products.lock_objects import lock_products
from products.services import variants_move_stock
from tests.concurrency import run_behind_locks, run_concurrently
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


def _sell(product, units):
    """What a checkout or a staff adjustment does to stock: under the product's lock, one statement."""

    def sell():
        lock_products(product_ids=[product.pk])
        variants_move_stock(deltas={product.variants.get().pk: -units})

    return sell


@pytest.mark.parametrize("by", ["variant_id", "product_id"])
def test_an_add_waits_for_a_stock_writer_and_is_capped_at_the_stock_it_leaves(by):
    user = UserFactory()
    product = ProductFactory(stock=5)
    CartFactory(user=user)
    target = product.variants.get().pk if by == "variant_id" else product.pk

    response, raised = run_behind_locks(
        _sell(product, 4), lambda: auth_client(user).post("/api/cart/add/", {by: target, "quantity": 2}, format="json")
    )

    assert raised is None
    assert response.status_code == 409, response.content
    [error] = response.json()["errors"]
    assert error["code"] == "out_of_stock" and error["detail"].startswith("Only 1 of")
    assert not CartItem.objects.filter(cart__user=user).exists()


def test_raising_a_line_waits_for_a_stock_writer_and_is_capped_at_the_stock_it_leaves():
    user = UserFactory()
    product = ProductFactory(stock=5)
    line = CartItemFactory(cart=CartFactory(user=user), product=product, quantity=1)

    response, raised = run_behind_locks(
        _sell(product, 3),
        lambda: auth_client(user).patch(f"/api/cart/update/{line.pk}/", {"quantity": 3}, format="json"),
    )

    assert raised is None
    assert response.status_code == 409, response.content
    [error] = response.json()["errors"]
    assert error["code"] == "out_of_stock" and error["detail"].startswith("Only 2 of")
    line.refresh_from_db()
    assert line.quantity == 1


def test_an_add_to_an_anonymous_cart_merged_into_a_login_meanwhile_is_cart_not_found():
    user = UserFactory()
    anonymous = CartFactory(user=None)
    CartItemFactory(cart=anonymous, product=ProductFactory(stock=10), quantity=1)
    product = ProductFactory(stock=10)

    response, raised = run_behind_locks(
        lambda: cart_merge_anonymous(user=user, cart_token=anonymous.token),
        lambda: APIClient().post(
            "/api/cart/add/", {"product_id": product.pk}, format="json", headers={"X-Cart-Token": anonymous.token}
        ),
    )

    assert raised is None
    assert response.status_code == 404, response.content
    assert response.json()["errors"][0]["code"] == "cart_not_found"
    assert not CartItem.objects.filter(product=product).exists()
    assert Cart.objects.filter(user__isnull=True).count() == 0
