from decimal import Decimal

import pytest

from products import services
from products.models import Product, WishlistItem
from tests.concurrency import run_concurrently
from tests.conftest import requires_postgres
from tests.factories import ProductFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), requires_postgres]


def test_concurrent_reviews_keep_the_rating_exact():
    product = ProductFactory()
    users = UserFactory.create_batch(8)
    ratings = [1, 2, 3, 4, 5, 5, 4, 3]

    _, errors = run_concurrently(
        *[
            lambda u=u, r=r: services.review_create(product=product, user=u, rating=r)
            for u, r in zip(users, ratings, strict=True)
        ]
    )

    assert errors == []
    product = Product.objects.get(pk=product.pk)
    assert product.rating_count == 8
    assert product.rating_avg == Decimal("3.38")


def test_concurrent_wishlist_adds_create_one_item():
    product = ProductFactory()
    user = UserFactory()

    results, errors = run_concurrently(*[lambda: services.wishlist_add(user=user, product_id=product.id)] * 6)

    assert errors == []
    assert WishlistItem.objects.filter(user=user, product=product).count() == 1
    assert len({item.pk for item, _ in results}) == 1
    assert sum(created for _, created in results) == 1
