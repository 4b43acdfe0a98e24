"""An anonymous cart merges into the user's cart when its token accompanies a login or a
registration: quantities add up, capped at stock; the anonymous cart is then gone."""

import pytest
from django.test import override_settings

from cart.models import Cart, CartItem
from cart.services import cart_merge_anonymous
from tests.cart.conftest import add
from tests.factories import DEFAULT_PASSWORD, CartFactory, CartItemFactory, ProductFactory, set_stock

pytestmark = pytest.mark.django_db


def login_via_auth_login(client, user, token):
    return client.post(
        "/api/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json", HTTP_X_CART_TOKEN=token
    )


def login_via_token(client, user, token):
    return client.post(
        "/api/token/", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json", HTTP_X_CART_TOKEN=token
    )


LOGINS = [login_via_auth_login, login_via_token]


def user_lines(user) -> dict[int, int]:
    return dict(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity"))


@pytest.mark.parametrize("login", LOGINS)
def test_login_with_cart_token_moves_anonymous_lines_into_new_user_cart(api_client, user, login):
    product = ProductFactory(stock=10)
    token = add(api_client, product.pk, 3).json()["cart_token"]

    response = login(api_client, user, token)

    assert response.status_code == 200
    assert user_lines(user) == {product.pk: 3}
    assert not Cart.objects.filter(token=token).exists()
    assert not Cart.objects.filter(user__isnull=True).exists()


@pytest.mark.parametrize("login", LOGINS)
def test_merge_adds_to_the_users_existing_line_and_keeps_other_lines(api_client, user, login):
    shared = ProductFactory(stock=10)
    only_user = ProductFactory(stock=10)
    only_anonymous = ProductFactory(stock=10)
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=shared, quantity=2)
    CartItemFactory(cart=cart, product=only_user, quantity=1)
    token = add(api_client, shared.pk, 4).json()["cart_token"]
    add(api_client, only_anonymous.pk, 5, token=token)

    assert login(api_client, user, token).status_code == 200

    assert user_lines(user) == {shared.pk: 6, only_user.pk: 1, only_anonymous.pk: 5}
    assert Cart.objects.get(user=user).pk == cart.pk
    assert CartItem.objects.filter(cart__user=user, product=shared).count() == 1


@pytest.mark.parametrize("login", LOGINS)
def test_merge_is_capped_at_stock(api_client, user, login):
    product = ProductFactory(stock=5)
    CartItemFactory(cart=CartFactory(user=user), product=product, quantity=4)
    token = add(api_client, product.pk, 3).json()["cart_token"]

    login(api_client, user, token)

    assert user_lines(user) == {product.pk: 5}


def test_merge_caps_a_new_line_whose_stock_fell_since_it_was_added(api_client, user):
    product = ProductFactory(stock=8)
    token = add(api_client, product.pk, 6).json()["cart_token"]
    set_stock(product, 2)

    login_via_token(api_client, user, token)

    assert user_lines(user) == {product.pk: 2}


@override_settings(CART_MAX_QUANTITY=5)
def test_merge_is_capped_at_the_line_maximum(user):
    product = ProductFactory(stock=100)
    CartItemFactory(cart=CartFactory(user=user), product=product, quantity=4)
    anonymous = CartFactory(user=None)
    CartItemFactory(cart=anonymous, product=product, quantity=4)

    cart_merge_anonymous(user=user, cart_token=anonymous.token)

    assert user_lines(user) == {product.pk: 5}


def test_merge_drops_inactive_and_sold_out_products(user):
    inactive = ProductFactory(is_active=False)
    sold_out = ProductFactory(stock=0)
    fine = ProductFactory(stock=3)
    anonymous = CartFactory(user=None)
    for product in (inactive, sold_out, fine):
        CartItemFactory(cart=anonymous, product=product, quantity=1)

    cart_merge_anonymous(user=user, cart_token=anonymous.token)

    assert user_lines(user) == {fine.pk: 1}
    assert not Cart.objects.filter(pk=anonymous.pk).exists()


def test_register_with_cart_token_merges_into_the_new_account(api_client):
    product = ProductFactory(stock=10)
    token = add(api_client, product.pk, 2).json()["cart_token"]

    response = api_client.post(
        "/api/auth/register/",
        {"email": "new.customer@example.com", "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_X_CART_TOKEN=token,
    )

    assert response.status_code == 201
    cart = Cart.objects.get(user__email="new.customer@example.com")
    assert dict(cart.items.values_list("product_id", "quantity")) == {product.pk: 2}
    assert not Cart.objects.filter(user__isnull=True).exists()


def test_after_merge_the_user_sees_the_lines_and_the_old_token_is_dead(api_client, user):
    product = ProductFactory(stock=10)
    token = add(api_client, product.pk, 2).json()["cart_token"]
    access = login_via_token(api_client, user, token).json()["access"]

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    body = api_client.get("/api/cart/").json()
    assert [(line["product"]["id"], line["quantity"]) for line in body["items"]] == [(product.pk, 2)]

    api_client.credentials()
    assert api_client.get("/api/cart/", HTTP_X_CART_TOKEN=token).json()["id"] is None


@pytest.mark.parametrize("login", LOGINS)
def test_login_without_token_or_with_bad_token_leaves_carts_alone(api_client, user, login):
    anonymous = CartItemFactory(cart=CartFactory(user=None)).cart

    for token in ["", "unknown-token-" + "x" * 30, "bad token!", "x" * 1000]:
        assert login(api_client, user, token).status_code == 200

    assert Cart.objects.filter(pk=anonymous.pk).exists()
    assert not Cart.objects.filter(user=user).exists()


@pytest.mark.parametrize("login", LOGINS)
def test_failed_login_does_not_merge(api_client, user, login):
    anonymous = CartItemFactory(cart=CartFactory(user=None)).cart

    response = api_client.post(
        "/api/token/" if login is login_via_token else "/api/auth/login/",
        {"email": user.email, "password": "wrong-password"},
        format="json",
        HTTP_X_CART_TOKEN=anonymous.token,
    )

    assert response.status_code == 401
    assert Cart.objects.filter(pk=anonymous.pk).exists()


def test_another_users_cart_token_is_never_merged(user, other_user):
    theirs = CartItemFactory(cart=CartFactory(user=other_user), quantity=2)

    cart_merge_anonymous(user=user, cart_token=theirs.cart.token)

    assert CartItem.objects.get(pk=theirs.pk).cart.user == other_user
    assert not CartItem.objects.filter(cart__user=user).exists()


def test_merging_twice_is_harmless(user):
    anonymous = CartFactory(user=None)
    product = CartItemFactory(cart=anonymous, quantity=2).product

    cart_merge_anonymous(user=user, cart_token=anonymous.token)
    cart_merge_anonymous(user=user, cart_token=anonymous.token)

    assert user_lines(user) == {product.pk: 2}


def test_merge_respects_the_line_cap_of_the_user_cart(user, monkeypatch):
    monkeypatch.setattr("cart.services.CART_MAX_LINES", 2)
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart)
    anonymous = CartFactory(user=None)
    incoming = CartItemFactory.create_batch(2, cart=anonymous)

    cart_merge_anonymous(user=user, cart_token=anonymous.token)

    assert cart.items.count() == 2
    assert cart.items.filter(product=incoming[0].product).exists()
