import pytest

from products.models import WishlistItem
from tests.factories import ProductFactory, ProductImageFactory, WishlistItemFactory

from .utils import error_codes

pytestmark = pytest.mark.django_db

URL = "/api/products/wishlist/"


def test_adding_twice_is_idempotent(user_client, user):
    product = ProductFactory()

    first = user_client.post(URL, {"product_id": product.id}, format="json")
    second = user_client.post(URL, {"product_id": product.id}, format="json")

    assert first.status_code == 201, first.content
    assert second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["product"]["id"] == product.id
    assert WishlistItem.objects.filter(user=user, product=product).count() == 1


def test_list_shows_own_items_with_product_summary(user_client, user, other_user):
    product = ProductFactory(name="Lamp")
    ProductImageFactory(product=product, position=0)
    mine = WishlistItemFactory(user=user, product=product)
    WishlistItemFactory(user=other_user)

    response = user_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["id"] == mine.id
    assert item["product"]["name"] == "Lamp"
    assert item["product"]["price"] == "19.99"
    assert item["product"]["in_stock"] is True
    assert item["product"]["image"].startswith("https://images.example.com/")


def test_inactive_products_are_left_out_of_the_list(user_client, user):
    WishlistItemFactory(user=user, product=ProductFactory(is_active=False))

    assert user_client.get(URL).json()["count"] == 0


@pytest.mark.parametrize("product_id", [999999, "inactive"])
def test_unknown_or_inactive_product_is_a_400(user_client, product_id):
    if product_id == "inactive":
        product_id = ProductFactory(is_active=False).id

    response = user_client.post(URL, {"product_id": product_id}, format="json")

    assert response.status_code == 400
    assert error_codes(response) == ["product_unavailable"]
    assert response.json()["errors"][0]["attr"] == "product_id"
    assert not WishlistItem.objects.exists()


@pytest.mark.parametrize("payload", [{}, {"product_id": "abc"}, {"product_id": 0}])
def test_invalid_add_payload_is_a_400(user_client, payload):
    response = user_client.post(URL, payload, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "product_id"


def test_delete_own_item(user_client, user):
    item = WishlistItemFactory(user=user)

    assert user_client.delete(f"{URL}{item.id}/").status_code == 204
    assert not WishlistItem.objects.filter(pk=item.pk).exists()


def test_someone_elses_item_is_404(other_client, user):
    item = WishlistItemFactory(user=user)

    response = other_client.delete(f"{URL}{item.id}/")

    assert response.status_code == 404
    assert error_codes(response) == ["not_found"]
    assert WishlistItem.objects.filter(pk=item.pk).exists()


def test_wishlist_needs_a_login(api_client):
    item = WishlistItemFactory()

    assert api_client.get(URL).status_code == 401
    assert api_client.post(URL, {"product_id": item.product_id}, format="json").status_code == 401
    assert api_client.delete(f"{URL}{item.id}/").status_code == 401


def test_wishlist_route_is_not_taken_for_a_product_id(user_client):
    assert user_client.get(URL).status_code == 200
    assert user_client.get("/api/products/wishlist/abc/").status_code == 404


def test_wishlist_query_count_is_constant(user_client, user, django_assert_max_num_queries):
    for _ in range(2):
        ProductImageFactory(product=WishlistItemFactory(user=user).product)
    with django_assert_max_num_queries(5) as few:
        user_client.get(URL)

    for _ in range(20):
        ProductImageFactory(product=WishlistItemFactory(user=user).product)
    with django_assert_max_num_queries(5) as many:
        response = user_client.get(URL)

    assert response.json()["count"] == 22
    assert len(few.captured_queries) == len(many.captured_queries)
