from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from products import services
from products.models import Product
from tests.factories import CategoryFactory, ProductFactory, ProductImageFactory, set_stock

from .utils import LIST_URL, detail_url, error_codes

pytestmark = pytest.mark.django_db

DETAIL_FIELDS = {
    "id",
    "name",
    "slug",
    "sku",
    "description",
    "price",
    "currency",
    "stock",
    "in_stock",
    "category",
    "images",
    "rating_avg",
    "rating_count",
    "is_featured",
    "created_at",
}


def _payload(**overrides):
    data = {
        "name": "Trail Lantern",
        "sku": "LAN-001",
        "description": "Bright and light.",
        "price": "24.50",
        "stock": 7,
        "is_featured": False,
    }
    data.update(overrides)
    return data


def _update_payload(**overrides):
    """A replacement (PUT) body: everything but stock, which an update may not write."""
    return {key: value for key, value in _payload(**overrides).items() if key != "stock"}


# --- detail ------------------------------------------------------------------------------------


def test_detail_has_the_contract_fields(api_client, settings):
    settings.STORE_CURRENCY = "usd"
    product = ProductFactory(price=Decimal("12.00"), stock=0)
    ProductImageFactory(product=product, alt_text="side", position=0)

    response = api_client.get(detail_url(product.id))

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= DETAIL_FIELDS
    assert body["price"] == "12.00"
    assert body["currency"] == "usd"
    assert body["in_stock"] is False
    assert body["images"][0]["alt"] == "side"
    assert body["images"][0]["url"].startswith("https://images.example.com/")


def test_uploaded_image_urls_are_absolute(api_client):
    product = ProductFactory()
    services.product_image_add(product=product, upload=_png_upload(), alt_text="x")

    url = api_client.get(detail_url(product.id)).json()["images"][0]["url"]

    assert url.startswith("http://testserver/media/products/")


def _png_upload():
    from .utils import image_bytes, upload

    return upload("a.png", image_bytes("PNG"))


def test_inactive_product_is_404_for_customers_but_visible_to_staff(api_client, user_client, staff_client):
    product = ProductFactory(is_active=False)

    for client in (api_client, user_client):
        response = client.get(detail_url(product.id))
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "not_found"
    staff_view = staff_client.get(detail_url(product.id))
    assert staff_view.status_code == 200
    assert staff_view.json()["is_active"] is False


def test_unknown_product_is_404(api_client):
    assert api_client.get(detail_url(999999)).status_code == 404
    assert api_client.get("/api/products/not-a-number/").status_code == 404


def test_detail_ignores_list_filters(api_client):
    product = ProductFactory()

    assert api_client.get(detail_url(product.id), {"ordering": "bogus"}).status_code == 200


# --- create ------------------------------------------------------------------------------------


def test_staff_creates_a_product(staff_client):
    category = CategoryFactory()

    response = staff_client.post(LIST_URL, _payload(category=category.id), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "trail-lantern"
    assert body["price"] == "24.50"
    assert body["category"]["id"] == category.id
    product = Product.objects.get(sku="LAN-001")
    assert product.price == Decimal("24.50")
    assert product.stock == 7


def test_two_products_with_the_same_name_get_different_slugs(staff_client):
    first = staff_client.post(LIST_URL, _payload(sku="A-1"), format="json").json()
    second = staff_client.post(LIST_URL, _payload(sku="A-2"), format="json").json()
    third = services.product_create(name="Trail Lantern", sku="A-3", price=Decimal("1"))

    assert first["slug"] == "trail-lantern"
    assert second["slug"] == "trail-lantern-2"
    assert third.slug == "trail-lantern-3"


def test_slug_is_stable_when_the_name_changes(staff_client):
    product = services.product_create(name="Old Name", sku="S-1", price=Decimal("5"))

    response = staff_client.patch(detail_url(product.id), {"name": "New Name"}, format="json")

    assert response.status_code == 200
    assert response.json()["slug"] == "old-name"
    assert response.json()["name"] == "New Name"


def test_non_ascii_name_still_gets_a_slug():
    product = services.product_create(name="日本茶", sku="JP-1", price=Decimal("5"))

    assert product.slug == "product"


def test_duplicate_sku_is_a_400(staff_client):
    ProductFactory(sku="DUP-1")

    response = staff_client.post(LIST_URL, _payload(sku="DUP-1"), format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "code": "sku_taken",
        "detail": "A product with this SKU already exists.",
        "attr": "sku",
    }
    assert Product.objects.filter(sku="DUP-1").count() == 1


@pytest.mark.parametrize(
    "overrides,attr",
    [
        ({"price": "0"}, "price"),
        ({"price": "-5"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "1.999"}, "price"),
        ({"stock": -1}, "stock"),
        ({"name": ""}, "name"),
        ({"sku": "   "}, "sku"),
        ({"category": 999999}, "category"),
    ],
)
def test_invalid_product_input_is_a_400(staff_client, overrides, attr):
    response = staff_client.post(LIST_URL, _payload(**overrides), format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == attr
    assert not Product.objects.exists()


def test_create_ignores_read_only_fields(staff_client):
    response = staff_client.post(
        LIST_URL, _payload(slug="chosen", rating_avg="5.00", rating_count=99, id=12345), format="json"
    )

    assert response.status_code == 201
    product = Product.objects.get()
    assert product.slug == "trail-lantern"
    assert product.rating_count == 0
    assert product.id != 12345


# --- update and delete -------------------------------------------------------------------------


def test_staff_put_replaces_and_patch_updates(staff_client):
    product = ProductFactory(name="Lamp", price=Decimal("10.00"), stock=1)

    put = staff_client.put(detail_url(product.id), _update_payload(name="Lamp XL", sku=product.sku, price="15.00"))
    patch = staff_client.patch(detail_url(product.id), {"description": "Brighter"}, format="json")

    assert put.status_code == 200
    assert patch.status_code == 200
    product.refresh_from_db()
    assert (product.name, product.price, product.description, product.stock) == (
        "Lamp XL",
        Decimal("15.00"),
        "Brighter",
        1,
    )


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_update_refuses_to_write_stock(staff_client, method):
    """Stock moves only by signed adjustments: a value a client read earlier is never written back."""
    product = ProductFactory(price=Decimal("10.00"), stock=15)
    body = {"stock": 15} if method == "patch" else {**_update_payload(sku=product.sku), "stock": 15}
    set_stock(product, 12)  # a checkout took 3 since the client read 15

    response = getattr(staff_client, method)(detail_url(product.id), body, format="json")

    assert response.status_code == 400
    assert error_codes(response) == ["stock_not_writable"]
    assert response.json()["errors"][0]["attr"] == "stock"
    product.refresh_from_db()
    assert (product.stock, product.price) == (12, Decimal("10.00"))


def test_put_without_required_fields_is_a_400(staff_client):
    product = ProductFactory()

    response = staff_client.put(detail_url(product.id), {"stock": 3}, format="json")

    assert response.status_code == 400
    assert {"name", "sku", "price"} <= {error["attr"] for error in response.json()["errors"]}


def test_update_to_another_products_sku_is_a_400(staff_client):
    ProductFactory(sku="TAKEN")
    product = ProductFactory(sku="MINE")

    response = staff_client.patch(detail_url(product.id), {"sku": "TAKEN"}, format="json")

    assert response.status_code == 400
    assert error_codes(response) == ["sku_taken"]
    product.refresh_from_db()
    assert product.sku == "MINE"


def test_delete_deactivates_instead_of_deleting(staff_client, api_client):
    product = ProductFactory()

    response = staff_client.delete(detail_url(product.id))

    assert response.status_code == 204
    product.refresh_from_db()
    assert product.is_active is False
    assert api_client.get(detail_url(product.id)).status_code == 404
    assert staff_client.delete(detail_url(product.id)).status_code == 204


def test_staff_can_reactivate_a_product(staff_client, api_client):
    product = ProductFactory(is_active=False)

    assert staff_client.patch(detail_url(product.id), {"is_active": True}, format="json").status_code == 200
    assert api_client.get(detail_url(product.id)).status_code == 200


@pytest.mark.parametrize(
    "method,path_kind",
    [("post", "list"), ("put", "detail"), ("patch", "detail"), ("delete", "detail"), ("post", "images")],
)
def test_writes_are_staff_only(api_client, user_client, method, path_kind):
    product = ProductFactory(name="Original")
    path = {
        "list": LIST_URL,
        "detail": detail_url(product.id),
        "images": f"/api/products/{product.id}/images/",
    }[path_kind]

    anonymous = getattr(api_client, method)(path, _payload(), format="json")
    customer = getattr(user_client, method)(path, _payload(), format="json")

    assert anonymous.status_code == 401
    assert customer.status_code == 403
    assert customer.json()["errors"][0]["code"] == "permission_denied"
    product.refresh_from_db()
    assert product.name == "Original"
    assert product.is_active is True
    assert Product.objects.count() == 1


# --- database constraints ----------------------------------------------------------------------


def test_negative_stock_is_refused_by_the_database():
    product = ProductFactory(stock=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock=-1)

    product.refresh_from_db()
    assert product.stock == 1


def test_non_positive_price_is_refused_by_the_database():
    product = ProductFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(price=Decimal("0"))


def test_service_refuses_negative_stock_before_the_database():
    from novacart.exceptions import ValidationFailed

    product = ProductFactory(stock=1)

    with pytest.raises(ValidationFailed):
        services.product_update(product=product, data={"stock": -3})
