from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from cart.models import Cart, CartItem
from cart.services import cart_purge_stale
from tests.cart.conftest import add, errors
from tests.factories import CartFactory, CartItemFactory, ProductFactory, ProductImageFactory, UserFactory, set_price

pytestmark = pytest.mark.django_db

CART_KEYS = {"id", "cart_token", "items", "total_items", "subtotal", "discount_total", "currency", "voucher"}
LINE_KEYS = {"id", "product", "variant", "quantity", "unit_price", "line_total"}
PRODUCT_KEYS = {"id", "name", "slug", "sku", "price", "stock", "in_stock", "image", "is_active"}


# --- reading ---------------------------------------------------------------------------------


def test_get_without_cart_returns_empty_representation_and_creates_nothing(user_client):
    response = user_client.get("/api/cart/")

    assert response.status_code == 200
    assert response.json() == {
        "id": None,
        "cart_token": None,
        "items": [],
        "total_items": 0,
        "subtotal": "0.00",
        "discount_total": "0.00",
        "currency": "usd",
        "voucher": None,
    }
    assert Cart.objects.count() == 0


def test_cart_response_shape_prices_and_totals(user, user_client):
    cheap = ProductFactory(price=Decimal("0.10"), stock=50)
    dear = ProductFactory(price=Decimal("1234.56"), stock=5)
    ProductImageFactory(product=dear, external_url="https://img.example.com/second.jpg", position=2)
    ProductImageFactory(product=dear, external_url="https://img.example.com/first.jpg", position=1)
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=cheap, quantity=3)
    CartItemFactory(cart=cart, product=dear, quantity=2)

    body = user_client.get("/api/cart/").json()

    assert set(body) == CART_KEYS
    assert body["id"] == cart.pk
    assert body["cart_token"] is None  # a user's cart is identified by the login
    assert body["total_items"] == 5
    assert body["subtotal"] == "2469.42"
    assert body["currency"] == "usd"
    first, second = body["items"]
    assert set(first) == LINE_KEYS and set(first["product"]) == PRODUCT_KEYS
    assert (first["unit_price"], first["line_total"], first["quantity"]) == ("0.10", "0.30", 3)
    assert (second["unit_price"], second["line_total"]) == ("1234.56", "2469.12")
    assert second["product"] == {
        "id": dear.pk,
        "name": dear.name,
        "slug": dear.slug,
        "sku": dear.sku,
        "price": "1234.56",
        "stock": 5,
        "in_stock": True,
        "image": "https://img.example.com/first.jpg",
        "is_active": True,
    }
    assert first["product"]["image"] is None


def test_cart_shows_the_first_image_that_has_a_file_or_a_url(user, user_client):
    product = ProductFactory()
    ProductImageFactory(product=product, external_url="", position=0)  # neither file nor URL: skipped
    ProductImageFactory(product=product, external_url="", image="products/tee.jpg", position=1)
    ProductImageFactory(product=product, external_url="https://img.example.com/later.jpg", position=2)
    by_url = ProductFactory()
    ProductImageFactory(product=by_url, external_url="https://img.example.com/only.jpg", position=5)
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=product)
    CartItemFactory(cart=cart, product=by_url)

    body = user_client.get("/api/cart/").json()

    assert [line["product"]["image"] for line in body["items"]] == [
        "http://testserver/media/products/tee.jpg",
        "https://img.example.com/only.jpg",
    ]


def test_cart_shows_current_price_not_price_at_add_time(user_client, product):
    add(user_client, product.pk, 2)
    set_price(product, "5.25")

    body = user_client.get("/api/cart/").json()

    assert body["items"][0]["unit_price"] == "5.25"
    assert body["subtotal"] == "10.50"


def test_get_cart_query_count_does_not_grow_with_lines(user, user_client, django_assert_max_num_queries):
    cart = CartFactory(user=user)
    for _ in range(8):
        item = CartItemFactory(cart=cart, product=ProductFactory())
        ProductImageFactory(product=item.product)
        ProductImageFactory(product=item.product)

    # authentication (user row), cart, lines with their products and first images
    with django_assert_max_num_queries(3):
        response = user_client.get("/api/cart/")

    assert response.status_code == 200
    assert len(response.json()["items"]) == 8


def test_anonymous_get_cart_query_budget(api_client, django_assert_max_num_queries):
    cart = CartFactory(user=None)
    for _ in range(6):
        CartItemFactory(cart=cart, product=ProductImageFactory().product)

    with django_assert_max_num_queries(2):
        response = api_client.get("/api/cart/", HTTP_X_CART_TOKEN=cart.token)

    assert len(response.json()["items"]) == 6


# --- adding ----------------------------------------------------------------------------------


def test_add_creates_line_then_grows_it(user, user_client, product):
    first = add(user_client, product.pk, 2)
    second = add(user_client, product.pk, 3)

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["items"][0]["quantity"] == 5
    assert second.json()["total_items"] == 5
    assert second.json()["subtotal"] == "99.95"
    assert CartItem.objects.filter(cart__user=user).count() == 1
    assert CartItem.objects.get().quantity == 5


def test_add_defaults_to_quantity_one(user_client, product):
    response = add(user_client, product.pk)

    assert response.status_code == 201
    assert response.json()["items"][0]["quantity"] == 1


def test_add_two_products_makes_two_lines(user_client, product):
    other = ProductFactory()
    add(user_client, product.pk, 1)
    response = add(user_client, other.pk, 1)

    assert [line["product"]["id"] for line in response.json()["items"]] == [product.pk, other.pk]


def test_add_up_to_exactly_the_stock_is_allowed(user_client, product):
    assert add(user_client, product.pk, 10).status_code == 201


def test_add_past_stock_is_409_with_available_quantity(user, user_client):
    product = ProductFactory(stock=3)

    response = add(user_client, product.pk, 4)

    assert response.status_code == 409
    assert response.json()["type"] == "client_error"
    assert errors(response) == [("out_of_stock", "quantity")]
    assert "Only 3" in response.json()["errors"][0]["detail"]
    assert not CartItem.objects.exists()


def test_add_counts_what_is_already_in_the_cart_against_stock(user_client):
    product = ProductFactory(stock=5)
    add(user_client, product.pk, 4)

    response = add(user_client, product.pk, 2)

    assert response.status_code == 409
    assert errors(response) == [("out_of_stock", "quantity")]
    assert "Only 5" in response.json()["errors"][0]["detail"]
    assert CartItem.objects.get().quantity == 4


def test_add_sold_out_product_is_409(user_client):
    product = ProductFactory(stock=0)

    response = add(user_client, product.pk, 1)

    assert response.status_code == 409
    assert errors(response) == [("out_of_stock", "quantity")]


def test_add_inactive_product_is_400_product_unavailable(user_client):
    product = ProductFactory(is_active=False)

    response = add(user_client, product.pk, 1)

    assert response.status_code == 400
    assert errors(response) == [("product_unavailable", "product_id")]
    assert not Cart.objects.exists()


def test_add_unknown_product_is_400_product_unavailable(api_client):
    response = add(api_client, 999_999, 1)

    assert response.status_code == 400
    assert errors(response) == [("product_unavailable", "product_id")]
    assert not Cart.objects.exists()  # an anonymous client does not get a cart for a failed add


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        (0, "min_value"),
        (-1, "min_value"),
        (1.5, "invalid"),
        ("two", "invalid"),
        ("", "invalid"),
        (None, "null"),
        (True, "invalid"),
        (101, "max_value"),
        (10**6, "max_value"),
        (2**64, "max_value"),
        (10**40, "max_value"),
    ],
)
def test_add_rejects_bad_quantities(user_client, product, quantity, code):
    response = add(user_client, product.pk, quantity)

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert errors(response) == [(code, "quantity")]
    assert not CartItem.objects.exists()


@pytest.mark.parametrize("product_id", [0, -3, "abc", None, 2**63, 10**30, 1.5])
def test_add_rejects_bad_product_ids(user_client, product_id):
    response = add(user_client, product_id, 1)

    assert response.status_code == 400
    assert errors(response)[0][1] == "product_id"


def test_add_without_product_id_is_400(user_client):
    response = user_client.post("/api/cart/add/", {"quantity": 1}, format="json")

    assert response.status_code == 400
    assert errors(response) == [("required", "product_id")]


@override_settings(CART_MAX_QUANTITY=5)
def test_cart_max_quantity_applies_to_the_sum_of_a_line(user_client):
    product = ProductFactory(stock=100)
    add(user_client, product.pk, 4)

    response = add(user_client, product.pk, 2)

    assert response.status_code == 400
    assert errors(response) == [("quantity_limit_exceeded", "quantity")]
    assert CartItem.objects.get().quantity == 4


def test_cart_holds_a_bounded_number_of_lines(user, user_client, monkeypatch):
    monkeypatch.setattr("cart.services.CART_MAX_LINES", 2)
    products = ProductFactory.create_batch(3)
    add(user_client, products[0].pk)
    add(user_client, products[1].pk)

    response = add(user_client, products[2].pk)

    assert response.status_code == 400
    assert errors(response) == [("cart_full", "product_id")]
    assert add(user_client, products[0].pk).status_code == 200  # growing a line is still fine


def test_get_is_not_allowed_on_add(user_client):
    assert user_client.get("/api/cart/add/").status_code == 405


# --- updating, removing, clearing ------------------------------------------------------------


def test_update_sets_quantity(user, user_client, product):
    item = CartItemFactory(cart=CartFactory(user=user), product=product, quantity=1)

    response = user_client.patch(f"/api/cart/update/{item.pk}/", {"quantity": 7}, format="json")

    assert response.status_code == 200
    assert response.json()["items"][0]["quantity"] == 7
    assert response.json()["subtotal"] == "139.93"
    item.refresh_from_db()
    assert item.quantity == 7


def test_update_to_zero_removes_the_line(user, user_client, product):
    item = CartItemFactory(cart=CartFactory(user=user), product=product, quantity=2)

    response = user_client.patch(f"/api/cart/update/{item.pk}/", {"quantity": 0}, format="json")

    assert response.status_code == 200
    assert response.json()["items"] == []
    assert not CartItem.objects.filter(pk=item.pk).exists()


def test_update_past_stock_is_409_and_changes_nothing(user, user_client):
    item = CartItemFactory(cart=CartFactory(user=user), product=ProductFactory(stock=4), quantity=2)

    response = user_client.patch(f"/api/cart/update/{item.pk}/", {"quantity": 5}, format="json")

    assert response.status_code == 409
    assert errors(response) == [("out_of_stock", "quantity")]
    assert "Only 4" in response.json()["errors"][0]["detail"]
    item.refresh_from_db()
    assert item.quantity == 2


@pytest.mark.parametrize(
    ("quantity", "code"), [(-1, "min_value"), ("x", "invalid"), (2**65, "max_value"), (101, "max_value")]
)
def test_update_rejects_bad_quantities(user, user_client, product, quantity, code):
    item = CartItemFactory(cart=CartFactory(user=user), product=product, quantity=2)

    response = user_client.patch(f"/api/cart/update/{item.pk}/", {"quantity": quantity}, format="json")

    assert response.status_code == 400
    assert errors(response) == [(code, "quantity")]
    item.refresh_from_db()
    assert item.quantity == 2


def test_update_requires_quantity(user, user_client, product):
    item = CartItemFactory(cart=CartFactory(user=user), product=product)

    response = user_client.patch(f"/api/cart/update/{item.pk}/", {}, format="json")

    assert response.status_code == 400
    assert errors(response) == [("required", "quantity")]


def test_line_of_a_deactivated_product_can_shrink_or_go_but_not_grow(user, user_client):
    product = ProductFactory(stock=10)
    item = CartItemFactory(cart=CartFactory(user=user), product=product, quantity=3)
    product.is_active = False
    product.save()

    body = user_client.get("/api/cart/").json()
    assert body["items"][0]["product"]["is_active"] is False

    grow = user_client.patch(f"/api/cart/update/{item.pk}/", {"quantity": 4}, format="json")
    assert grow.status_code == 400
    assert errors(grow) == [("product_unavailable", "non_field_errors")]

    shrink = user_client.patch(f"/api/cart/update/{item.pk}/", {"quantity": 1}, format="json")
    assert shrink.status_code == 200
    item.refresh_from_db()
    assert item.quantity == 1


def test_remove_deletes_the_line(user, user_client, product):
    cart = CartFactory(user=user)
    item = CartItemFactory(cart=cart, product=product)
    keep = CartItemFactory(cart=cart)

    response = user_client.delete(f"/api/cart/remove/{item.pk}/")

    assert response.status_code == 204
    assert list(CartItem.objects.values_list("pk", flat=True)) == [keep.pk]


def test_clear_empties_the_cart(user, user_client):
    cart = CartFactory(user=user)
    CartItemFactory.create_batch(3, cart=cart)
    other_line = CartItemFactory()  # someone else's cart is untouched

    response = user_client.delete("/api/cart/clear/")

    assert response.status_code == 204
    assert not cart.items.exists()
    assert CartItem.objects.filter(pk=other_line.pk).exists()


def test_clear_without_a_cart_is_204(user_client, api_client):
    assert user_client.delete("/api/cart/clear/").status_code == 204
    assert api_client.delete("/api/cart/clear/").status_code == 204
    assert not Cart.objects.exists()


@pytest.mark.parametrize("write", ["add", "update", "remove", "clear"])
@pytest.mark.parametrize("anonymous", [False, True])
def test_writes_touch_the_cart(write, anonymous, user, user_client, api_client, product):
    """Stale anonymous carts are purged by `updated_at`: every write marks the cart as used."""
    cart = CartFactory(user=None if anonymous else user)
    line = CartItemFactory(cart=cart, product=ProductFactory(stock=10), quantity=1)
    Cart.objects.filter(pk=cart.pk).update(updated_at="2020-01-01T00:00:00Z")
    client, headers = (api_client, {"X-Cart-Token": cart.token}) if anonymous else (user_client, {})

    response = {
        "add": lambda: client.post("/api/cart/add/", {"product_id": product.pk}, format="json", headers=headers),
        "update": lambda: client.patch(f"/api/cart/update/{line.pk}/", {"quantity": 2}, format="json", headers=headers),
        "remove": lambda: client.delete(f"/api/cart/remove/{line.pk}/", headers=headers),
        "clear": lambda: client.delete("/api/cart/clear/", headers=headers),
    }[write]()

    assert response.status_code in (200, 201, 204), response.content
    cart.refresh_from_db()
    assert cart.updated_at > timezone.now() - timedelta(minutes=1)
    assert cart_purge_stale(ttl_days=1) == 0


# --- ownership -------------------------------------------------------------------------------


@pytest.fixture
def foreign_item(db):
    return CartItemFactory(cart=CartFactory(user=UserFactory()), quantity=2)


@pytest.fixture
def anonymous_item(db):
    return CartItemFactory(cart=CartFactory(user=None), quantity=2)


@pytest.mark.parametrize("owner", ["foreign_item", "anonymous_item"])
def test_someone_elses_line_is_404_for_update_and_remove(request, user, user_client, product, owner):
    item = request.getfixturevalue(owner)
    CartItemFactory(cart=CartFactory(user=user), product=product)  # the user has a cart of their own

    update = user_client.patch(f"/api/cart/update/{item.pk}/", {"quantity": 1}, format="json")
    remove = user_client.delete(f"/api/cart/remove/{item.pk}/")

    assert update.status_code == 404
    assert remove.status_code == 404
    assert errors(update) == [("cart_item_not_found", None)]
    item.refresh_from_db()
    assert item.quantity == 2


def test_user_cannot_reach_an_anonymous_cart_by_sending_its_token(user_client, anonymous_item):
    token = anonymous_item.cart.token

    get = user_client.get("/api/cart/", HTTP_X_CART_TOKEN=token)
    update = user_client.patch(
        f"/api/cart/update/{anonymous_item.pk}/", {"quantity": 1}, format="json", HTTP_X_CART_TOKEN=token
    )
    clear = user_client.delete("/api/cart/clear/", HTTP_X_CART_TOKEN=token)

    assert get.json()["id"] is None
    assert update.status_code == 404
    assert clear.status_code == 204
    assert anonymous_item.cart.items.count() == 1


def test_anonymous_client_cannot_reach_a_users_line(api_client, foreign_item):
    token = foreign_item.cart.token  # even a user cart's token: only anonymous carts answer to tokens

    assert api_client.get("/api/cart/", HTTP_X_CART_TOKEN=token).json()["id"] is None
    update = api_client.patch(
        f"/api/cart/update/{foreign_item.pk}/", {"quantity": 1}, format="json", HTTP_X_CART_TOKEN=token
    )
    remove = api_client.delete(f"/api/cart/remove/{foreign_item.pk}/", HTTP_X_CART_TOKEN=token)
    assert update.status_code == 404
    assert remove.status_code == 404
    assert api_client.delete("/api/cart/clear/", HTTP_X_CART_TOKEN=token).status_code == 204
    assert CartItem.objects.filter(pk=foreign_item.pk).exists()


def test_anonymous_carts_are_isolated_from_each_other(api_client, anonymous_item):
    mine = add(api_client, ProductFactory().pk).json()

    update = api_client.patch(
        f"/api/cart/update/{anonymous_item.pk}/", {"quantity": 1}, format="json", HTTP_X_CART_TOKEN=mine["cart_token"]
    )
    remove = api_client.delete(f"/api/cart/remove/{anonymous_item.pk}/", HTTP_X_CART_TOKEN=mine["cart_token"])

    assert update.status_code == 404
    assert remove.status_code == 404


def test_unknown_line_is_404(user_client):
    assert user_client.patch("/api/cart/update/424242/", {"quantity": 1}, format="json").status_code == 404
    assert user_client.delete("/api/cart/remove/424242/").status_code == 404
    assert user_client.delete(f"/api/cart/remove/{2**70}/").status_code == 404


# --- anonymous carts -------------------------------------------------------------------------


def test_anonymous_first_add_creates_cart_and_returns_its_token(api_client, product):
    response = add(api_client, product.pk, 2)

    assert response.status_code == 201
    body = response.json()
    cart = Cart.objects.get()
    assert cart.user is None
    assert body["id"] == cart.pk
    assert body["cart_token"] == cart.token
    assert len(body["cart_token"]) >= 40


def test_anonymous_flow_with_token(api_client, product):
    token = add(api_client, product.pk, 1).json()["cart_token"]

    grown = add(api_client, product.pk, 2, token=token)
    assert grown.status_code == 200
    assert grown.json()["cart_token"] == token

    body = api_client.get("/api/cart/", HTTP_X_CART_TOKEN=token).json()
    assert body["items"][0]["quantity"] == 3
    line_id = body["items"][0]["id"]

    updated = api_client.patch(f"/api/cart/update/{line_id}/", {"quantity": 5}, format="json", HTTP_X_CART_TOKEN=token)
    assert updated.json()["items"][0]["quantity"] == 5

    assert api_client.delete(f"/api/cart/remove/{line_id}/", HTTP_X_CART_TOKEN=token).status_code == 204
    assert api_client.get("/api/cart/", HTTP_X_CART_TOKEN=token).json()["items"] == []
    assert Cart.objects.count() == 1


def test_anonymous_add_without_token_twice_makes_two_carts(api_client, product):
    first = add(api_client, product.pk).json()
    second = add(api_client, product.pk).json()

    assert first["cart_token"] != second["cart_token"]
    assert Cart.objects.filter(user__isnull=True).count() == 2


@pytest.mark.parametrize(
    "token",
    [
        "nope",
        "x" * 43,  # well-formed but unknown
        "a" * 500,
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "tok\u00e9n-with-non-ascii-characters-0123456789",
        "../../etc/passwd" * 4,
    ],
)
def test_unknown_or_malformed_token_means_no_cart(api_client, product, token):
    get = api_client.get("/api/cart/", HTTP_X_CART_TOKEN=token)
    assert get.status_code == 200
    assert get.json()["id"] is None and get.json()["cart_token"] is None

    added = add(api_client, product.pk, 1, token=token)
    assert added.status_code == 201
    assert added.json()["cart_token"] != token
    assert Cart.objects.get().token == added.json()["cart_token"]

    assert api_client.delete("/api/cart/remove/1/", HTTP_X_CART_TOKEN=token).status_code == 404
    assert api_client.delete("/api/cart/clear/", HTTP_X_CART_TOKEN=token).status_code == 204


def test_anonymous_update_without_token_is_404(api_client, anonymous_item):
    response = api_client.patch(f"/api/cart/update/{anonymous_item.pk}/", {"quantity": 1}, format="json")

    assert response.status_code == 404


def test_authenticated_user_ignores_cart_token_and_uses_own_cart(user, user_client, product, anonymous_item):
    response = add(user_client, product.pk, 1, token=anonymous_item.cart.token)

    assert response.status_code == 201
    assert response.json()["id"] == Cart.objects.get(user=user).pk
    assert anonymous_item.cart.items.get().quantity == 2  # the anonymous cart is untouched (merge is on login)


def test_invalid_bearer_token_is_401_even_though_anonymous_is_allowed(api_client, product):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")

    assert api_client.get("/api/cart/").status_code == 401
    assert add(api_client, product.pk).status_code == 401
    assert api_client.delete("/api/cart/clear/").status_code == 401
    assert not Cart.objects.exists()
