"""The cart by variant: a line is one variant; `product_id` still works for a product in one form."""

from decimal import Decimal

import pytest

from cart.models import Cart, CartItem
from cart.services import cart_merge_anonymous
from tests.cart.conftest import add, errors
from tests.factories import ProductFactory, ProductVariantFactory, UserFactory, variant_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def tee():
    return ProductFactory(
        name="Tee",
        sku="TEE",
        variants=[
            {"sku": "TEE-M", "options": {"Size": "M"}, "price": Decimal("20.00"), "stock": 3},
            {"sku": "TEE-L", "options": {"Size": "L"}, "price": Decimal("22.50"), "stock": 1},
        ],
    )


def _add_variant(client, variant_id, quantity=1, **extra):
    return client.post("/api/cart/add/", {"variant_id": variant_id, "quantity": quantity, **extra}, format="json")


def test_add_by_variant_makes_one_line_per_variant_with_its_price(user_client, tee):
    medium, large = tee.variants.order_by("position")

    _add_variant(user_client, medium.pk, 2)
    response = _add_variant(user_client, large.pk)
    again = _add_variant(user_client, medium.pk)

    assert response.status_code == 201 and again.status_code == 200
    body = again.json()
    lines = {line["variant"]["sku"]: line for line in body["items"]}
    assert lines["TEE-M"]["quantity"] == 3 and lines["TEE-M"]["unit_price"] == "20.00"
    assert lines["TEE-L"]["variant"] == {"id": large.pk, "sku": "TEE-L", "name": "L", "options": {"Size": "L"}}
    assert lines["TEE-L"]["product"]["id"] == tee.pk
    assert body["subtotal"] == "82.50"


def test_product_id_alone_on_a_product_with_variants_is_variant_required(user_client, tee):
    response = add(user_client, tee.pk, 1)

    assert response.status_code == 400
    assert errors(response) == [("variant_required", "variant_id")]
    assert not CartItem.objects.exists()


def test_product_id_alone_works_for_a_product_in_one_form(user_client):
    lamp = ProductFactory(stock=5)

    response = add(user_client, lamp.pk, 2)

    assert response.status_code == 201
    assert CartItem.objects.get().variant_id == variant_of(lamp).pk


def test_product_id_of_a_product_whose_other_variants_are_off_sale_takes_the_one_on_sale(user_client, tee):
    medium, large = tee.variants.order_by("position")
    large.is_active = False
    large.save()

    response = add(user_client, tee.pk, 1)

    assert response.status_code == 201
    assert CartItem.objects.get().variant_id == medium.pk


def test_the_cart_caps_a_line_at_the_variant_stock(user_client, tee):
    large = tee.variants.get(sku="TEE-L")

    response = _add_variant(user_client, large.pk, 2)

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "out_of_stock"
    assert "Only 1 of 'Tee (L)' (TEE-L) available." in response.json()["errors"][0]["detail"]


def test_an_inactive_variant_or_a_mismatched_product_is_unavailable(user_client, tee):
    medium = tee.variants.get(sku="TEE-M")
    off = ProductVariantFactory(product=tee, sku="TEE-XL", options={"Size": "XL"}, is_active=False)

    inactive = _add_variant(user_client, off.pk)
    mismatched = _add_variant(user_client, medium.pk, product_id=ProductFactory().pk)
    unknown = _add_variant(user_client, 999999)

    for response in (inactive, mismatched, unknown):
        assert response.status_code == 400
        assert errors(response) == [("product_unavailable", "variant_id")]
    assert not CartItem.objects.exists()


def test_raising_a_line_of_a_variant_taken_off_sale_is_refused(user_client, tee):
    medium = tee.variants.get(sku="TEE-M")
    item_id = _add_variant(user_client, medium.pk).json()["items"][0]["id"]
    medium.is_active = False
    medium.save()

    raised = user_client.patch(f"/api/cart/update/{item_id}/", {"quantity": 2}, format="json")
    lowered = user_client.patch(f"/api/cart/update/{item_id}/", {"quantity": 0}, format="json")

    assert raised.status_code == 400 and errors(raised)[0][0] == "product_unavailable"
    assert lowered.status_code == 200 and lowered.json()["items"] == []


def test_merge_on_login_adds_up_per_variant_and_caps_at_its_stock(api_client, tee):
    medium, large = tee.variants.order_by("position")
    user = UserFactory()
    CartItem.objects.create(cart=Cart.objects.create(user=user), product=tee, variant=medium, quantity=2)
    token = _add_variant(api_client, medium.pk, 2).json()["cart_token"]
    api_client.post("/api/cart/add/", {"variant_id": large.pk}, format="json", HTTP_X_CART_TOKEN=token)

    cart_merge_anonymous(user=user, cart_token=token)

    lines = dict(CartItem.objects.filter(cart__user=user).values_list("variant__sku", "quantity"))
    assert lines == {"TEE-M": 3, "TEE-L": 1}  # 2 + 2 capped at the 3 in stock; L kept
