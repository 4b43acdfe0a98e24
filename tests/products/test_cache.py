from decimal import Decimal

import pytest

from products import services
from products.services import variants_move_stock
from tests.factories import CategoryFactory, ProductFactory, UserFactory, variant_of

from .utils import image_bytes, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def caching(settings):
    settings.CATALOG_CACHE_SECONDS = 60


def _price_in_list(client):
    return client.get("/api/products/").json()["results"][0]["price"]


def test_anonymous_reads_are_served_from_the_cache(api_client, caching, django_assert_num_queries):
    product = ProductFactory(price=Decimal("10.00"))

    first = api_client.get(f"/api/products/{product.id}/")
    with django_assert_num_queries(0):
        second = api_client.get(f"/api/products/{product.id}/")

    assert first["X-Catalog-Cache"] == "miss"
    assert second["X-Catalog-Cache"] == "hit"
    assert second.json() == first.json()
    assert second["Content-Type"] == "application/json"


@pytest.mark.parametrize("path", ["/api/products/", "/api/products/featured/", "/api/categories/"])
def test_every_cached_endpoint_hits_on_the_second_read(api_client, caching, path):
    ProductFactory(is_featured=True)

    api_client.get(path)

    assert api_client.get(path)["X-Catalog-Cache"] == "hit"


def test_the_query_string_is_part_of_the_key(api_client, caching):
    cheap = ProductFactory(price=Decimal("5.00"))
    dear = ProductFactory(price=Decimal("50.00"))

    low = api_client.get("/api/products/", {"max_price": "10"}).json()
    high = api_client.get("/api/products/", {"min_price": "10"}).json()

    assert [p["id"] for p in low["results"]] == [cheap.id]
    assert [p["id"] for p in high["results"]] == [dear.id]


def test_authenticated_reads_are_never_cached(staff_client, api_client, caching):
    hidden = ProductFactory(is_active=False)
    ProductFactory()

    staff_client.get("/api/products/")
    staff_again = staff_client.get("/api/products/")
    anonymous = api_client.get("/api/products/")

    assert "X-Catalog-Cache" not in staff_again
    assert hidden.id not in [p["id"] for p in anonymous.json()["results"]]


def test_errors_are_not_cached(api_client, caching):
    api_client.get("/api/products/999999/")

    assert "X-Catalog-Cache" not in api_client.get("/api/products/999999/")


def test_price_change_by_staff_is_seen_at_once(api_client, staff_client, caching):
    product = ProductFactory(price=Decimal("10.00"))
    assert _price_in_list(api_client) == "10.00"
    assert api_client.get(f"/api/products/{product.id}/").json()["price"] == "10.00"
    assert api_client.get("/api/products/")["X-Catalog-Cache"] == "hit"

    response = staff_client.patch(f"/api/products/{product.id}/", {"price": "12.50"}, format="json")
    assert response.status_code == 200

    assert _price_in_list(api_client) == "12.50"
    assert api_client.get(f"/api/products/{product.id}/").json()["price"] == "12.50"


def test_deactivation_is_seen_at_once(api_client, staff_client, caching):
    product = ProductFactory()
    assert api_client.get(f"/api/products/{product.id}/").status_code == 200

    staff_client.delete(f"/api/products/{product.id}/")

    assert api_client.get(f"/api/products/{product.id}/").status_code == 404
    assert api_client.get("/api/products/").json()["count"] == 0


def test_new_image_is_seen_at_once(api_client, staff_client, caching):
    product = ProductFactory()
    assert api_client.get(f"/api/products/{product.id}/").json()["images"] == []

    staff_client.post(
        f"/api/products/{product.id}/images/", {"image": upload("a.png", image_bytes())}, format="multipart"
    )

    assert len(api_client.get(f"/api/products/{product.id}/").json()["images"]) == 1


def test_stock_moved_by_another_app_is_seen_after_catalog_cache_bump(api_client, caching):
    product = ProductFactory(stock=5)
    assert api_client.get(f"/api/products/{product.id}/").json()["stock"] == 5

    # What orders does when an order deducts stock: one update, then the bump.
    variants_move_stock(deltas={variant_of(product).pk: -5})
    assert api_client.get(f"/api/products/{product.id}/").json()["stock"] == 5  # still cached
    services.catalog_cache_bump()

    body = api_client.get(f"/api/products/{product.id}/").json()
    assert body["stock"] == 0
    assert body["in_stock"] is False


def test_category_change_is_seen_at_once(api_client, staff_client, caching):
    CategoryFactory(name="Audio", slug="audio")
    assert api_client.get("/api/categories/").json()[0]["name"] == "Audio"

    staff_client.patch("/api/categories/audio/", {"name": "Sound"}, format="json")

    assert api_client.get("/api/categories/").json()[0]["name"] == "Sound"
    assert api_client.get("/api/categories/audio/").json()["name"] == "Sound"


def test_new_review_updates_the_cached_rating(api_client, caching):
    product = ProductFactory()
    assert api_client.get(f"/api/products/{product.id}/").json()["rating_count"] == 0

    services.review_create(product=product, user=UserFactory(), rating=5)

    assert api_client.get(f"/api/products/{product.id}/").json()["rating_count"] == 1


def test_cache_off_when_seconds_is_zero(api_client, settings):
    settings.CATALOG_CACHE_SECONDS = 0
    ProductFactory()

    api_client.get("/api/products/")

    assert "X-Catalog-Cache" not in api_client.get("/api/products/")
