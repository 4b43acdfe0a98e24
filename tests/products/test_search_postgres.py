import pytest
from django.db import connection

from tests.conftest import requires_postgres
from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db, requires_postgres]


def test_trigram_indexes_exist():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'products_product'")
        indexes = dict(cursor.fetchall())

    for name in ("product_name_trgm_idx", "product_description_trgm_idx", "product_sku_trgm_idx"):
        assert name in indexes
        assert "gin_trgm_ops" in indexes[name]
        assert "upper" in indexes[name].lower()


def test_search_can_use_the_trigram_index():
    """With sequential scans off, the planner must find an index that serves the search predicate."""
    ProductFactory.create_batch(20)
    from products.models import Product

    queryset = Product.objects.filter(name__icontains="lantern")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()

    assert "product_name_trgm_idx" in plan


def test_search_on_postgres_is_case_insensitive(api_client):
    match = ProductFactory(name="Trail LANTERN")
    ProductFactory(name="Mug")

    response = api_client.get("/api/products/", {"search": "lantern"})

    assert [p["id"] for p in response.json()["results"]] == [match.id]
