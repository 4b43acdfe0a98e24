"""`?search=` on the product list, on both databases (products/search.py): the syntax, variant SKUs,
hostile input, stable pages, and the SQLite fallback. Ranking and the PostgreSQL triggers are in
test_search_postgres.py."""

import random

import pytest
from django.conf import settings

from products.search import product_search, search_canonical, search_parse
from products.selectors import product_list
from tests.factories import ProductFactory

from .utils import LIST_URL, result_ids

pytestmark = pytest.mark.django_db

requires_sqlite = pytest.mark.skipif(
    settings.IS_POSTGRES, reason="the LIKE fallback only runs on SQLite (PostgreSQL has full-text search)"
)


def search(client, text, **params) -> list[int]:
    return result_ids(client.get(LIST_URL, {"search": text, "page_size": 100, **params}))


def test_a_prefix_of_every_word_finds_the_product(api_client):
    tent = ProductFactory(name="Ultralight Tent", description="")
    ProductFactory(name="Ultralight Stove", description="")

    assert search(api_client, "ultral ten") == [tent.id]
    assert search(api_client, "ULTRALIGHT TENT") == [tent.id]
    assert search(api_client, "ultral tex") == []


def test_a_variant_sku_finds_its_product(api_client):
    tee = ProductFactory(
        name="Tee",
        sku="TEE",
        variants=[{"sku": "TEE-M-RED", "options": {"Size": "M"}}, {"sku": "TEE-L-BLUE", "options": {"Size": "L"}}],
    )
    ProductFactory(name="Mug", sku="MUG-1", description="")

    assert search(api_client, "TEE-M-RED") == [tee.id]
    assert search(api_client, "tee-l-blue") == [tee.id]
    assert search(api_client, "TEE-M-GREEN") == []


def test_a_quoted_phrase_must_match_as_a_phrase(api_client):
    tent = ProductFactory(name="Ultralight Tent", description="")
    other = ProductFactory(name="Tent with ultralight poles", description="")

    assert search(api_client, '"ultralight tent"') == [tent.id]
    assert set(search(api_client, "ultralight tent")) == {tent.id, other.id}


def test_a_minus_word_or_phrase_excludes(api_client):
    family = ProductFactory(name="Family Tent", description="")
    ProductFactory(name="Ultralight Tent", description="")
    reversed_words = ProductFactory(name="Tent, ultralight", description="")

    assert search(api_client, "tent -ultralight") == [family.id]
    assert set(search(api_client, 'tent -"ultralight tent"')) == {family.id, reversed_words.id}


def test_or_matches_either_side_and_binds_looser_than_and(api_client):
    mug = ProductFactory(name="Blue Mug", description="")
    lamp = ProductFactory(name="Desk Lamp", description="")
    chair = ProductFactory(name="Chair", description="")

    assert set(search(api_client, "mug or lamp")) == {mug.id, lamp.id}
    assert set(search(api_client, "blue lamp or chair")) == {chair.id}


@pytest.mark.parametrize("text", ["!!!", "-", '"', '""', "- -", "...", ":*"])
def test_a_search_with_nothing_to_search_for_filters_nothing(api_client, text):
    products = ProductFactory.create_batch(2, description="")

    assert set(search(api_client, text)) == {p.id for p in products}


HOSTILE = [
    "'",
    "''",
    "\\",
    "\\'",
    "'; DROP TABLE products_product; --",
    "a:*",
    ":*",
    "a & b | !c",
    "!(a)",
    "(",
    ")",
    "a <-> b",
    "a <2> b",
    "a:A",
    "'a':*B",
    '"unclosed phrase',
    '-"',
    "-'x'",
    "or",
    "or or or",
    "a or",
    "% _ %%",
    "{vector}",
    "%s %(x)s",
    "é' ü\\ ß",
    "x" * 100,
    ("ab' " * 25)[:100],
    ("a|" * 50),
    ("-" * 100),
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_search_input_is_answered_never_a_500(api_client, text):
    ProductFactory(name="Mug", sku="MUG-1", description="a 'quoted' \\ thing")

    response = api_client.get(LIST_URL, {"search": text})

    assert response.status_code == 200, response.content
    assert isinstance(response.json()["results"], list)


def test_random_hostile_searches_never_fail():
    """Seeded random strings over the characters that mean something to SQL, to tsquery syntax or to
    the websearch parser: the query always runs (count and page)."""
    ProductFactory(name="Mug O'Brien", sku="MUG-1", description="back\\slash and 'quotes'")
    alphabet = list("'\"\\:*&|!()<>-_%{} \t") + ["or", "a", "B", "1", "é", "the", "mug"]
    rng = random.Random(16)
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))[:100]
        queryset = product_search(product_list(), text)
        assert queryset.count() == len(list(queryset.values("id"))), text


def test_pages_of_a_search_never_overlap(api_client):
    ProductFactory.create_batch(7, name="Lantern", description="")

    pages = [
        result_ids(api_client.get(LIST_URL, {"search": "lantern", "page_size": 3, "page": page})) for page in (1, 2, 3)
    ]
    seen = [pid for page in pages for pid in page]

    assert len(seen) == len(set(seen)) == 7


def test_the_canonical_spelling_sorts_plain_words_and_keeps_syntax_in_order():
    assert search_canonical("  Shirt  RED red ") == "red shirt"
    assert search_canonical('Red  "Blue Shirt"') == 'red "blue shirt"'
    assert search_canonical("shirt -red") == "shirt -red"
    assert search_canonical("shirt OR red") == "shirt or red"
    # Letters other than ASCII keep their case (SQLite's LIKE tells them apart).
    assert search_canonical("ÉCLAIR Tarte") == "tarte Éclair"


def test_the_parser_reads_websearch_syntax():
    groups = search_parse('red "blue shirt" -wool or -"x y" mug')

    assert [[(t.text, t.is_phrase, t.is_negated, t.is_prefix) for t in group] for group in groups] == [
        [("red", False, False, True), ("blue shirt", True, False, False), ("wool", False, True, False)],
        [("x y", True, True, False), ("mug", False, False, True)],
    ]
    assert [[t.text for t in group] for group in search_parse("or a or")] == [["or", "a", "or"]]


# --- SQLite: the LIKE fallback ---------------------------------------------------------------------


@requires_sqlite
def test_sqlite_matches_each_word_anywhere_in_name_description_or_skus(api_client):
    by_name = ProductFactory(name="Flashlight", description="", sku="F-1")
    by_description = ProductFactory(name="Torch", description="A bright flashlight", sku="T-1")
    by_variant = ProductFactory(
        name="Cable", sku="CABLE", description="", variants=[{"sku": "LIGHTNING-1M", "options": {"Length": "1m"}}]
    )
    ProductFactory(name="Mug", description="", sku="M-1")

    assert set(search(api_client, "ligh")) == {by_name.id, by_description.id, by_variant.id}
    assert search(api_client, "ningm") == []
    assert search(api_client, "ning-1") == [by_variant.id]


@requires_sqlite
def test_sqlite_lists_matches_newest_first(api_client):
    older = ProductFactory(name="Lantern", description="")
    newer = ProductFactory(name="Mug", description="lantern-shaped")

    assert search(api_client, "lantern") == [newer.id, older.id]
    assert search(api_client, "lantern", ordering="name") == [older.id, newer.id]
