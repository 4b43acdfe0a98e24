import copy
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django import forms
from django.utils import timezone
from rest_framework.serializers import DateTimeField, ModelSerializer

from products.models import Product
from products.serializers import ProductDetailSerializer, ProductListSerializer
from tests.factories import CategoryFactory, ProductFactory, ProductImageFactory, variant_of

from .utils import LIST_URL, error_codes, result_ids

pytestmark = pytest.mark.django_db


def test_list_shows_only_active_products_to_customers(api_client, user_client):
    visible = ProductFactory()
    ProductFactory(is_active=False)

    assert result_ids(api_client.get(LIST_URL)) == [visible.id]
    assert result_ids(user_client.get(LIST_URL)) == [visible.id]


def test_staff_list_includes_inactive_products(staff_client):
    visible = ProductFactory()
    hidden = ProductFactory(is_active=False)

    assert set(result_ids(staff_client.get(LIST_URL))) == {visible.id, hidden.id}


def test_list_item_shape(api_client, settings):
    settings.STORE_CURRENCY = "eur"
    category = CategoryFactory(name="Audio", slug="audio")
    product = ProductFactory(category=category, price=Decimal("19.90"), stock=3, is_featured=True)
    ProductImageFactory(product=product, alt_text="front", position=0)

    item = api_client.get(LIST_URL).json()["results"][0]

    assert item["id"] == product.id
    assert item["price"] == "19.90"
    assert item["currency"] == "eur"
    assert item["in_stock"] is True
    assert item["stock"] == 3
    assert item["category"] == {"id": category.id, "name": "Audio", "slug": "audio"}
    assert item["images"][0]["alt"] == "front"
    assert item["rating_avg"] == "0.00"
    assert item["rating_count"] == 0
    assert item["is_featured"] is True
    assert "description" not in item


@pytest.mark.parametrize("serializer_class", [ProductListSerializer, ProductDetailSerializer])
def test_hand_written_representation_matches_declared_fields(serializer_class, rf):
    """The fast to_representation and the declared (schema) fields must not drift apart."""
    product = ProductFactory(category=None)
    ProductImageFactory(product=product)
    product = Product.objects.prefetch_related("images").select_related("category").get(pk=product.pk)
    request = rf.get("/")

    fast = serializer_class(product, context={"request": request}).data
    generic = ModelSerializer.to_representation(serializer_class(context={"request": request}), product)

    assert list(fast) == list(generic)
    assert fast["price"] == generic["price"]
    assert fast["created_at"] == generic["created_at"]
    assert fast["category"] is None


def test_created_at_is_written_as_drf_writes_it_in_any_time_zone(api_client):
    product = ProductFactory()
    detail_url = f"{LIST_URL}{product.id}/"

    with timezone.override("Asia/Kolkata"):
        listed = api_client.get(LIST_URL).json()["results"][0]["created_at"]
        detailed = api_client.get(detail_url).json()["created_at"]
        expected = DateTimeField().to_representation(Product.objects.get(pk=product.pk).created_at)
    utc = api_client.get(LIST_URL).json()["results"][0]["created_at"]

    assert listed == detailed == expected and expected.endswith("+05:30")
    assert utc == DateTimeField().to_representation(product.created_at) and utc.endswith("Z")


def test_a_filtered_list_copies_no_form_field_or_widget(api_client, monkeypatch, category_tree):
    """django-filter deep-copied every filter, and Django's form every field, for each request: the
    largest part of what filtering cost. Each request still gets its own FilterSet and form; the
    fields and widgets, which validation only reads, are the class's."""
    ProductFactory(category=category_tree["electronics"], price=Decimal("10.00"))
    copied = []
    deepcopy = copy.deepcopy

    def spy(value, memo=None, _nil=[]):  # noqa: B006 - copy.deepcopy's own signature
        copied.append(type(value))
        return deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", spy)
    params = {"category": category_tree["electronics"].slug, "min_price": "5", "in_stock": "true", "ordering": "-price"}

    response = api_client.get(LIST_URL, params)

    assert response.status_code == 200 and response.json()["count"] == 1
    assert not [kind for kind in copied if issubclass(kind, (forms.Field, forms.Widget))]


def test_a_list_request_validates_each_filter_once(api_client, monkeypatch, category_tree):
    """The page's links spell the filters canonically from what filtering validated, not by
    validating the parameters again."""
    ProductFactory(category=category_tree["electronics"], price=Decimal("10.00"))
    cleaned = []
    clean = forms.Field.clean

    def spy(field, value):
        cleaned.append(field)
        return clean(field, value)

    monkeypatch.setattr(forms.Field, "clean", spy)
    params = {"category": category_tree["electronics"].slug, "min_price": "5.0", "page_size": "1"}
    ProductFactory(category=category_tree["electronics"], price=Decimal("12.00"))

    body = api_client.get(LIST_URL, params).json()

    assert body["next"].endswith("?category=electronics&min_price=5&page=2&page_size=1")
    assert cleaned and max(Counter(map(id, cleaned)).values()) == 1


# --- search ------------------------------------------------------------------------------------


def test_search_matches_name_description_and_sku_case_insensitively(api_client):
    by_name = ProductFactory(name="Aurora Headphones", description="", sku="A-1")
    by_description = ProductFactory(name="Speaker", description="Pairs with HEADPHONES too", sku="B-1")
    by_sku = ProductFactory(name="Cable", description="", sku="HEADPHONES-CBL")
    ProductFactory(name="Mug", description="ceramic", sku="C-1")

    ids = result_ids(api_client.get(LIST_URL, {"search": "headphones"}))

    assert set(ids) == {by_name.id, by_description.id, by_sku.id}


def test_search_with_several_words_needs_all_of_them(api_client):
    both = ProductFactory(name="Wireless Headphones")
    ProductFactory(name="Wireless Mouse")

    assert result_ids(api_client.get(LIST_URL, {"search": "headphones wireless"})) == [both.id]


def test_search_that_is_too_long_is_a_400(api_client):
    response = api_client.get(LIST_URL, {"search": "x" * 101})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "search"


# --- category ----------------------------------------------------------------------------------


def test_category_filter_includes_all_descendants(api_client, category_tree):
    in_root = ProductFactory(category=category_tree["electronics"])
    in_child = ProductFactory(category=category_tree["audio"])
    in_grandchild = ProductFactory(category=category_tree["headphones"])
    ProductFactory(category=category_tree["home"])

    assert set(result_ids(api_client.get(LIST_URL, {"category": "electronics"}))) == {
        in_root.id,
        in_child.id,
        in_grandchild.id,
    }
    assert set(result_ids(api_client.get(LIST_URL, {"category": "audio"}))) == {in_child.id, in_grandchild.id}


def test_unknown_category_slug_is_a_400(api_client, category_tree):
    response = api_client.get(LIST_URL, {"category": "no-such-category"})

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert response.json()["errors"][0] == {
        "code": "unknown_category",
        "detail": "Unknown category 'no-such-category'.",
        "attr": "category",
    }


def test_inactive_category_slug_is_unknown_to_customers(api_client):
    CategoryFactory(slug="hidden", is_active=False)

    response = api_client.get(LIST_URL, {"category": "hidden"})

    assert response.status_code == 400
    assert error_codes(response) == ["unknown_category"]


# --- price, stock, featured --------------------------------------------------------------------


def test_price_range_filters(api_client):
    cheap = ProductFactory(price=Decimal("5.00"))
    middle = ProductFactory(price=Decimal("50.00"))
    dear = ProductFactory(price=Decimal("500.00"))

    assert set(result_ids(api_client.get(LIST_URL, {"min_price": "50"}))) == {middle.id, dear.id}
    assert set(result_ids(api_client.get(LIST_URL, {"max_price": "50.00"}))) == {cheap.id, middle.id}
    assert result_ids(api_client.get(LIST_URL, {"min_price": "10", "max_price": "100"})) == [middle.id]


def test_in_stock_filter(api_client):
    available = ProductFactory(stock=2)
    sold_out = ProductFactory(stock=0)

    assert result_ids(api_client.get(LIST_URL, {"in_stock": "true"})) == [available.id]
    assert result_ids(api_client.get(LIST_URL, {"in_stock": "false"})) == [sold_out.id]


def test_featured_filter(api_client):
    featured = ProductFactory(is_featured=True)
    plain = ProductFactory(is_featured=False)

    assert result_ids(api_client.get(LIST_URL, {"featured": "true"})) == [featured.id]
    assert result_ids(api_client.get(LIST_URL, {"featured": "false"})) == [plain.id]


def test_combined_filters(api_client, category_tree):
    match = ProductFactory(
        name="Studio Headphones", category=category_tree["headphones"], price=Decimal("80"), stock=4, is_featured=True
    )
    ProductFactory(name="Studio Headphones B", category=category_tree["headphones"], price=Decimal("80"), stock=0)
    ProductFactory(name="Studio Headphones C", category=category_tree["home"], price=Decimal("80"), stock=4)
    ProductFactory(name="Studio Headphones D", category=category_tree["audio"], price=Decimal("300"), stock=4)
    ProductFactory(name="Speaker", category=category_tree["audio"], price=Decimal("80"), stock=4, is_featured=True)

    response = api_client.get(
        LIST_URL,
        {
            "search": "studio",
            "category": "electronics",
            "min_price": "50",
            "max_price": "100",
            "in_stock": "true",
            "featured": "true",
            "ordering": "-price",
        },
    )

    assert result_ids(response) == [match.id]


@pytest.mark.parametrize(
    "params,attr",
    [
        ({"min_price": "abc"}, "min_price"),
        ({"max_price": "1e"}, "max_price"),
        ({"min_price": "-1"}, "min_price"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"featured": "yesplease"}, "featured"),
        ({"ordering": "stock"}, "ordering"),
        ({"ordering": "price,bogus"}, "ordering"),
    ],
)
def test_invalid_filter_values_are_400_in_the_error_shape(api_client, params, attr):
    ProductFactory()

    response = api_client.get(LIST_URL, params)

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert body["errors"][0]["attr"] == attr


# --- ordering ----------------------------------------------------------------------------------


@pytest.fixture
def ordered_products(db):
    now = timezone.now()
    specs = [
        ("Banana", "30.00", Decimal("4.50"), 10, 3),
        ("Apple", "10.00", Decimal("3.00"), 5, 1),
        ("Cherry", "20.00", Decimal("5.00"), 2, 2),
    ]
    products = {}
    for name, price, rating, count, age_days in specs:
        product = ProductFactory(name=name, price=Decimal(price))
        Product.objects.filter(pk=product.pk).update(
            rating_avg=rating, rating_count=count, created_at=now - timedelta(days=age_days)
        )
        products[name] = product.id
    return products


@pytest.mark.parametrize(
    "ordering,expected",
    [
        ("price", ["Apple", "Cherry", "Banana"]),
        ("-price", ["Banana", "Cherry", "Apple"]),
        ("created_at", ["Banana", "Cherry", "Apple"]),
        ("-created_at", ["Apple", "Cherry", "Banana"]),
        ("rating", ["Apple", "Banana", "Cherry"]),
        ("-rating", ["Cherry", "Banana", "Apple"]),
    ],
)
def test_every_ordering(api_client, ordered_products, ordering, expected):
    ids = result_ids(api_client.get(LIST_URL, {"ordering": ordering}))

    assert ids == [ordered_products[name] for name in expected]


def test_name_ordering_both_directions(api_client):
    for name in ["Delta", "Alpha", "Charlie", "Bravo"]:
        ProductFactory(name=name)

    ascending = [item["name"] for item in api_client.get(LIST_URL, {"ordering": "name"}).json()["results"]]
    descending = [item["name"] for item in api_client.get(LIST_URL, {"ordering": "-name"}).json()["results"]]

    assert ascending == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert descending == ["Delta", "Charlie", "Bravo", "Alpha"]


def test_default_ordering_is_newest_first(api_client):
    older = ProductFactory()
    newer = ProductFactory()
    Product.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=1))

    assert result_ids(api_client.get(LIST_URL)) == [newer.id, older.id]


def test_ties_are_broken_by_id_so_pages_never_overlap(api_client):
    products = ProductFactory.create_batch(5, price=Decimal("10.00"))

    first = result_ids(api_client.get(LIST_URL, {"ordering": "price", "page_size": 2}))
    second = result_ids(api_client.get(LIST_URL, {"ordering": "price", "page_size": 2, "page": 2}))
    third = result_ids(api_client.get(LIST_URL, {"ordering": "price", "page_size": 2, "page": 3}))

    assert first + second + third == sorted(p.id for p in products)


# --- pagination --------------------------------------------------------------------------------


def test_pagination_defaults_to_20_and_caps_page_size_at_100(api_client, make_products):
    make_products(105)

    default = api_client.get(LIST_URL).json()
    capped = api_client.get(LIST_URL, {"page_size": 1000}).json()

    assert default["count"] == 105
    assert len(default["results"]) == 20
    assert default["next"] is not None
    assert default["previous"] is None
    assert len(capped["results"]) == 100


def test_page_past_the_end_is_404_in_the_error_shape(api_client, make_products):
    make_products(3)

    response = api_client.get(LIST_URL, {"page": 2})

    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "client_error"
    assert body["errors"][0]["code"] == "not_found"


def test_page_that_is_not_a_number_is_404(api_client, make_products):
    make_products(1)

    assert api_client.get(LIST_URL, {"page": "abc"}).status_code == 404


# --- featured and low stock --------------------------------------------------------------------


def test_featured_endpoint_lists_active_featured_products(api_client, staff_client):
    featured = ProductFactory(is_featured=True)
    ProductFactory(is_featured=False)
    ProductFactory(is_featured=True, is_active=False)

    assert result_ids(api_client.get("/api/products/featured/")) == [featured.id]
    assert result_ids(staff_client.get("/api/products/featured/")) == [featured.id]


def _low_stock(client, **params) -> list[dict]:
    response = client.get("/api/products/low-stock/", params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_low_stock_lists_variants_at_or_under_the_threshold(staff_client, settings):
    settings.LOW_STOCK_THRESHOLD = 5
    empty = ProductFactory(stock=0, name="Lamp", sku="LAMP")
    ProductFactory(stock=6)
    ProductFactory(stock=1, is_active=False)
    tee = ProductFactory(
        name="Tee",
        sku="TEE",
        variants=[
            {"sku": "TEE-S", "options": {"Size": "S"}, "stock": 5},
            {"sku": "TEE-M", "options": {"Size": "M"}, "stock": 40},
            {"sku": "TEE-L", "options": {"Size": "L"}, "stock": 0, "is_active": False},
        ],
    )
    small = tee.variants.get(sku="TEE-S")

    assert _low_stock(staff_client) == [
        {"product_id": empty.id, "variant_id": variant_of(empty).id, "sku": "LAMP", "name": "Lamp", "stock": 0},
        {"product_id": tee.id, "variant_id": small.id, "sku": "TEE-S", "name": "Tee (S)", "stock": 5},
    ]
    assert [row["sku"] for row in _low_stock(staff_client, threshold=0)] == ["LAMP"]


@pytest.mark.parametrize("threshold", ["-1", "abc"])
def test_low_stock_rejects_a_bad_threshold(staff_client, threshold):
    response = staff_client.get("/api/products/low-stock/", {"threshold": threshold})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "threshold"


def test_low_stock_is_staff_only(api_client, user_client):
    assert api_client.get("/api/products/low-stock/").status_code == 401
    assert user_client.get("/api/products/low-stock/").status_code == 403


# --- query budgets -----------------------------------------------------------------------------


def _with_images(products):
    for product in products:
        ProductImageFactory(product=product, position=0)
        ProductImageFactory(product=product, position=1)


def test_list_query_count_does_not_grow_with_the_page(api_client, make_products, django_assert_max_num_queries):
    categories = CategoryFactory.create_batch(3)
    products = []
    for index in range(100):
        products.append(ProductFactory(category=categories[index % 3]))
    _with_images(products)

    with django_assert_max_num_queries(4) as small:
        response = api_client.get(LIST_URL, {"page_size": 20})
    assert len(response.json()["results"]) == 20
    with django_assert_max_num_queries(4) as large:
        response = api_client.get(LIST_URL, {"page_size": 100, "ordering": "-rating"})
    assert len(response.json()["results"]) == 100

    assert len(small.captured_queries) == len(large.captured_queries)


def test_filtered_list_by_category_stays_within_budget(api_client, category_tree, django_assert_max_num_queries):
    _with_images(ProductFactory.create_batch(30, category=category_tree["headphones"]))

    with django_assert_max_num_queries(4):
        response = api_client.get(LIST_URL, {"category": "electronics", "page_size": 30})

    assert len(response.json()["results"]) == 30


def test_detail_query_budget(api_client, django_assert_max_num_queries):
    product = ProductFactory()
    _with_images([product])

    with django_assert_max_num_queries(4):
        response = api_client.get(f"/api/products/{product.id}/")

    assert response.status_code == 200
    assert len(response.json()["images"]) == 2
