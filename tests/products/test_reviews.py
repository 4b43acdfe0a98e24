from decimal import Decimal

import pytest

from orders.models import OrderStatus
from products import services
from products.models import Product, Review
from tests.factories import OrderItemFactory, ProductFactory, ReviewFactory, UserFactory

from .utils import error_codes

pytestmark = pytest.mark.django_db


def _url(product, review=None):
    base = f"/api/products/{product.id}/reviews/"
    return f"{base}{review.id}/" if review else base


def _rating(product):
    product = Product.objects.get(pk=product.pk)
    return product.rating_avg, product.rating_count


def test_customer_reviews_a_product_and_the_rating_follows(user_client, other_client):
    product = ProductFactory()

    first = user_client.post(_url(product), {"rating": 5, "comment": "Great"}, format="json")
    second = other_client.post(_url(product), {"rating": 2}, format="json")

    assert first.status_code == 201, first.content
    body = first.json()
    assert body["rating"] == 5
    assert body["comment"] == "Great"
    assert body["verified_purchase"] is False
    assert second.status_code == 201
    assert _rating(product) == (Decimal("3.50"), 2)


def test_a_second_review_by_the_same_user_is_already_reviewed(user_client, user):
    product = ProductFactory()
    user_client.post(_url(product), {"rating": 4}, format="json")

    response = user_client.post(_url(product), {"rating": 1}, format="json")

    assert response.status_code == 400
    assert error_codes(response) == ["already_reviewed"]
    assert Review.objects.filter(product=product, user=user).count() == 1
    assert _rating(product) == (Decimal("4.00"), 1)


@pytest.mark.parametrize("rating", [0, 6, "five", None])
def test_rating_must_be_1_to_5(user_client, rating):
    product = ProductFactory()

    response = user_client.post(_url(product), {"rating": rating}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "rating"
    assert not Review.objects.exists()


def test_anonymous_cannot_review(api_client):
    product = ProductFactory()

    assert api_client.post(_url(product), {"rating": 5}, format="json").status_code == 401


def test_reviews_of_an_inactive_product_are_404(user_client, api_client):
    product = ProductFactory(is_active=False)

    assert api_client.get(_url(product)).status_code == 404
    assert user_client.post(_url(product), {"rating": 5}, format="json").status_code == 404


@pytest.mark.parametrize(
    "status,verified",
    [
        (OrderStatus.PAID, True),
        (OrderStatus.SHIPPED, True),
        (OrderStatus.DELIVERED, True),
        (OrderStatus.PENDING, False),
        (OrderStatus.CANCELLED, False),
        (OrderStatus.REFUNDED, False),
    ],
)
def test_verified_purchase_needs_a_paid_shipped_or_delivered_order(user_client, user, status, verified):
    product = ProductFactory()
    OrderItemFactory(order__user=user, order__status=status, product=product)
    OrderItemFactory(order__user=user, order__status=OrderStatus.PAID)  # another product: irrelevant

    response = user_client.post(_url(product), {"rating": 5}, format="json")

    assert response.json()["verified_purchase"] is verified
    listed = user_client.get(_url(product)).json()["results"][0]
    assert listed["verified_purchase"] is verified


def test_someone_elses_order_does_not_verify(user_client, other_user):
    product = ProductFactory()
    OrderItemFactory(order__user=other_user, order__status=OrderStatus.DELIVERED, product=product)

    assert user_client.post(_url(product), {"rating": 5}, format="json").json()["verified_purchase"] is False


def test_list_shows_visible_reviews_newest_first_without_emails(api_client):
    product = ProductFactory()
    older = ReviewFactory(product=product, user=UserFactory(first_name="Ada", last_name="Lovelace"))
    newer = ReviewFactory(product=product)
    ReviewFactory(product=product, is_visible=False)

    response = api_client.get(_url(product))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [r["id"] for r in body["results"]] == [newer.id, older.id]
    assert body["results"][1]["author"] == "Ada L."
    assert "@" not in str(body)


def test_author_edits_own_review_and_the_rating_is_recomputed(user_client, user):
    product = ProductFactory()
    review = services.review_create(product=product, user=user, rating=2)

    response = user_client.patch(_url(product, review), {"rating": 4, "comment": "Better now"}, format="json")

    assert response.status_code == 200
    assert response.json()["comment"] == "Better now"
    assert _rating(product) == (Decimal("4.00"), 1)


def test_author_deletes_own_review(user_client, user, other_user):
    product = ProductFactory()
    mine = services.review_create(product=product, user=user, rating=1)
    services.review_create(product=product, user=other_user, rating=5)

    response = user_client.delete(_url(product, mine))

    assert response.status_code == 204
    assert not Review.objects.filter(pk=mine.pk).exists()
    assert _rating(product) == (Decimal("5.00"), 1)


def test_someone_elses_review_is_404_for_edit_and_delete(other_client, staff_client, user):
    product = ProductFactory()
    review = services.review_create(product=product, user=user, rating=3, comment="Mine")

    for client in (other_client, staff_client):
        assert client.patch(_url(product, review), {"rating": 1}, format="json").status_code == 404
        assert client.delete(_url(product, review)).status_code == 404
    review.refresh_from_db()
    assert (review.rating, review.comment) == (3, "Mine")


def test_review_id_under_the_wrong_product_is_404(user_client, user):
    product = ProductFactory()
    other_product = ProductFactory()
    review = services.review_create(product=product, user=user, rating=3)

    assert user_client.delete(_url(other_product, review)).status_code == 404
    assert Review.objects.filter(pk=review.pk).exists()


def test_hidden_reviews_are_not_counted():
    product = ProductFactory()
    keep = services.review_create(product=product, user=UserFactory(), rating=5)
    hide = services.review_create(product=product, user=UserFactory(), rating=1)

    changed = services.reviews_set_visibility(review_ids=[hide.pk], is_visible=False)

    assert changed == 1
    assert _rating(product) == (Decimal("5.00"), 1)
    services.reviews_set_visibility(review_ids=[hide.pk, keep.pk], is_visible=True)
    assert _rating(product) == (Decimal("3.00"), 2)


def test_rating_average_is_rounded_to_two_places():
    product = ProductFactory()
    for rating in (5, 4, 4):
        services.review_create(product=product, user=UserFactory(), rating=rating)

    assert _rating(product) == (Decimal("4.33"), 3)


def test_list_and_detail_carry_the_rating(api_client):
    product = ProductFactory()
    services.review_create(product=product, user=UserFactory(), rating=4)

    assert api_client.get(f"/api/products/{product.id}/").json()["rating_avg"] == "4.00"
    assert api_client.get("/api/products/").json()["results"][0]["rating_count"] == 1


def test_reviews_list_query_count_is_constant(api_client, django_assert_max_num_queries):
    product = ProductFactory()
    for _ in range(3):
        review = ReviewFactory(product=product)
        OrderItemFactory(order__user=review.user, order__status=OrderStatus.PAID, product=product)

    with django_assert_max_num_queries(3) as few:
        api_client.get(_url(product))
    ReviewFactory.create_batch(25, product=product)
    with django_assert_max_num_queries(3) as many:
        response = api_client.get(_url(product), {"page_size": 30})

    assert len(response.json()["results"]) == 28
    assert len(few.captured_queries) == len(many.captured_queries)
