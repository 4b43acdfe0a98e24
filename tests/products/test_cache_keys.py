"""The catalog cache key is the answer's identity, not the URL's spelling (issue 13, flaw 1).

The key used to be the full URL, so `?page_size=100&x=<i>` with a new `x` each time pinned a new
~33 KB entry and anonymous clients filled Redis. Now the key holds only the parameters the endpoint
knows, each in one canonical spelling (unknown parameters are ignored, as DRF ignores them), so the
number of entries a client can create is bounded by the distinct answers; and a cached body holds
only what its key holds (pagination links in canonical form, the request's own host), so one
client's spelling or host is never served to another.
"""

from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.http import QueryDict

from products.filters import ProductFilter
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def caching(settings):
    settings.CATALOG_CACHE_SECONDS = 60


def catalog_entries() -> list[str]:
    """The cached catalog responses in the test settings' local-memory cache."""
    return [key for key in cache._cache if ":catalog:resp:" in key]


def test_junk_query_parameters_all_share_one_cache_entry(api_client, caching):
    ProductFactory.create_batch(30)

    first = api_client.get("/api/products/?page_size=100")
    junk = [api_client.get(f"/api/products/?page_size=100&x={i}") for i in range(50)]

    assert first["X-Catalog-Cache"] == "miss"
    assert {r.status_code for r in junk} == {200}
    assert {r["X-Catalog-Cache"] for r in junk} == {"hit"}
    assert all(r.json() == first.json() for r in junk)
    assert len(catalog_entries()) == 1


SAME_ANSWER = {
    "page one": ["", "page=1", "page=01", "page=", "x=1&page=1"],
    "page two": ["page=2&page_size=1", "page_size=01&page=02", "page=1&page_size=1&page=2"],
    "page size": ["page_size=100", "page_size=0100", "page_size=500", "page_size=100&page_size=100"],
    "default page size": ["", "page_size=20", "page_size=abc", "page_size=0"],
    "boolean": ["in_stock=true", "in_stock=TRUE", "in_stock=1", "in_stock=yes", "in_stock=false&in_stock=true"],
    "order of parameters": ["category=audio&featured=true", "featured=true&category=audio"],
    "case-insensitive search": ["search=red shirt", "search=Shirt RED", "search=  red  shirt red ", "search=RED+SHIRT"],
    "empty search": ["", "search=", "search=%20%20"],
    "search syntax, spacing and case": ['search="Red  Shirt" -shoe', 'search=%20"red shirt"%20%20-SHOE'],
    "decimal": ["min_price=10", "min_price=10.00", "min_price=010.0", "min_price=1E1", "min_price=1e%2B1"],
    "repeated ordering": ["ordering=price", "ordering=price,price", "ordering=-name&ordering=price"],
}


@pytest.mark.parametrize("spellings", SAME_ANSWER.values(), ids=SAME_ANSWER.keys())
def test_spellings_of_one_query_share_one_entry(api_client, caching, spellings):
    audio = CategoryFactory(slug="audio")
    ProductFactory(name="Red Shirt", price=Decimal("10.00"), category=audio, is_featured=True)
    ProductFactory(name="Blue shirt", price=Decimal("25.00"), stock=0)
    ProductFactory(name="Red shoe", price=Decimal("5.00"))

    responses = [api_client.get(f"/api/products/?{query}") for query in spellings]

    assert {r.status_code for r in responses} == {200}
    assert [r["X-Catalog-Cache"] for r in responses] == ["miss"] + ["hit"] * (len(spellings) - 1)
    assert all(r.json() == responses[0].json() for r in responses)
    assert len(catalog_entries()) == 1


DIFFERENT_ANSWERS = {
    "price bound": ["min_price=10", "min_price=10.01"],
    "ordering tie-break": ["ordering=price", "ordering=price,-price"],
    "search terms": ["search=red", "search=red shoe"],
    "phrase word order": ['search="red shirt"', 'search="shirt red"'],
    "page": ["page_size=1", "page_size=1&page=2"],
}


@pytest.mark.parametrize("queries", DIFFERENT_ANSWERS.values(), ids=DIFFERENT_ANSWERS.keys())
def test_queries_with_different_answers_keep_their_own_entries(api_client, caching, queries):
    # Two products at one price, so the direction of the id tie-break shows.
    ProductFactory(name="Red shoe", price=Decimal("10.00"))
    ProductFactory(name="Red shirt", price=Decimal("10.00"))

    first, second = (api_client.get(f"/api/products/?{query}") for query in queries)
    again = api_client.get(f"/api/products/?{queries[1]}")

    assert first.json() != second.json()
    assert [first["X-Catalog-Cache"], second["X-Catalog-Cache"], again["X-Catalog-Cache"]] == ["miss", "miss", "hit"]
    assert again.json() == second.json()
    assert len(catalog_entries()) == 2


def test_pagination_links_name_only_known_parameters_in_canonical_form(api_client, caching):
    ProductFactory.create_batch(3, stock=4)

    junk = api_client.get("/api/products/?utm_source=evil&page_size=01&in_stock=TRUE&page=02&ordering=price,price")
    clean = api_client.get("/api/products/?ordering=price&in_stock=true&page=2&page_size=1")

    assert junk.json()["next"] == "http://testserver/api/products/?in_stock=true&ordering=price&page=3&page_size=1"
    assert junk.json()["previous"] == "http://testserver/api/products/?in_stock=true&ordering=price&page_size=1"
    assert clean["X-Catalog-Cache"] == "hit"
    assert clean.json() == junk.json()


def test_a_product_detail_has_one_entry_whatever_the_spelling_of_its_id(api_client, caching):
    product = ProductFactory()

    plain = api_client.get(f"/api/products/{product.pk}/")
    padded = api_client.get(f"/api/products/{product.pk:05d}/")
    with_junk = api_client.get(f"/api/products/{product.pk}/?x=1")

    assert padded.status_code == 200 and padded.json() == plain.json()
    assert [plain["X-Catalog-Cache"], padded["X-Catalog-Cache"], with_junk["X-Catalog-Cache"]] == ["miss", "hit", "hit"]
    assert len(catalog_entries()) == 1


def test_categories_ignore_junk_parameters(api_client, caching):
    CategoryFactory(slug="audio")

    responses = [api_client.get(f"/api/categories/?x={i}") for i in range(5)]
    nodes = [api_client.get(f"/api/categories/audio/?x={i}") for i in range(5)]

    assert [r["X-Catalog-Cache"] for r in responses + nodes] == ["miss"] + ["hit"] * 4 + ["miss"] + ["hit"] * 4
    assert len(catalog_entries()) == 2


def test_each_allowed_host_gets_its_own_entry_with_its_own_links(api_client, caching, settings):
    settings.ALLOWED_HOSTS = ["shop.example.com", "testserver"]
    ProductFactory.create_batch(2)

    shop = api_client.get("/api/products/?page_size=1", HTTP_HOST="shop.example.com")
    local = api_client.get("/api/products/?page_size=1")

    assert shop.json()["next"].startswith("http://shop.example.com/")
    assert local.json()["next"].startswith("http://testserver/")
    assert [shop["X-Catalog-Cache"], local["X-Catalog-Cache"]] == ["miss", "miss"]


@pytest.mark.parametrize("host", ["a.example.com", "b.example.com:8443", "testserver:8443", "TestServer"])
def test_a_host_not_literally_in_allowed_hosts_is_answered_but_not_cached(api_client, caching, settings, host):
    # A wildcard entry, a client-chosen port or case would let one answer be stored under many
    # keys (and those hosts appear in the links): such requests are answered, not cached.
    settings.ALLOWED_HOSTS = [".example.com", "testserver"]
    ProductFactory.create_batch(2)

    responses = [api_client.get("/api/products/?page_size=1", HTTP_HOST=host) for _ in range(2)]

    assert {r.status_code for r in responses} == {200}
    assert responses[1].json()["next"].startswith(f"http://{host}/")
    assert "hit" not in [r.get("X-Catalog-Cache") for r in responses]
    assert catalog_entries() == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        "x=1",
        "search=Red Shirt&category=audio&min_price=1.5&max_price=1E2&in_stock=yes&featured=0&ordering=-price,name",
        "min_price=abc",
        "min_price=-1",
        "max_price=",
        "in_stock=maybe",
        "featured=TRUE",
        "ordering=colour",
        "ordering=price,colour",
        "ordering=",
        f"search={'a' * 101}",
        "search=%20",
    ],
)
def test_canonical_filters_are_valid_exactly_when_the_filterset_is(query):
    # canonical_params cleans the form's fields one by one (no copies): it must agree with the
    # FilterSet that filtering uses, on what is valid and on the values.
    data = QueryDict(query)
    filterset = ProductFilter(data=data)

    canonical = ProductFilter.canonical_params(data)

    assert (canonical is not None) == filterset.is_valid(), filterset.errors
    if canonical is not None:  # the canonical spelling is itself valid, and canonical
        assert ProductFilter(data=QueryDict(urlencode(canonical))).is_valid()
        assert ProductFilter.canonical_params(QueryDict(urlencode(canonical))) == canonical


def test_the_canonical_spelling_of_every_filter():
    query = (
        "search=Shirt  red RED&category=audio&min_price=1.50&max_price=1E2&in_stock=yes&featured=0&ordering=-price,name"
    )

    assert ProductFilter.canonical_params(QueryDict(query)) == [
        ("category", "audio"),
        ("featured", "false"),
        ("in_stock", "true"),
        ("max_price", "100"),
        ("min_price", "1.5"),
        ("ordering", "-price,name"),
        ("search", "red shirt"),
    ]
