"""Full-text search on PostgreSQL (products/search.py, migration 0009): ranking, exact SKUs first,
the triggers that keep `search_vector` in step with every write, and a count the index answers."""

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from products.models import Product, ProductVariant, variant_options_key
from products.search import product_search
from products.services import variants_move_stock
from tests.conftest import requires_postgres
from tests.factories import CategoryFactory, ProductFactory, ProductVariantFactory, variant_of

from .utils import LIST_URL, result_ids

pytestmark = [pytest.mark.django_db, requires_postgres]


def search(client, text, **params) -> list[int]:
    return result_ids(client.get(LIST_URL, {"search": text, "page_size": 100, **params}))


def vector_of(product) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_vector::text FROM products_product WHERE id = %s", [product.pk])
        return cursor.fetchone()[0]


# --- What it finds, in which order -------------------------------------------------------------


def test_a_name_match_ranks_above_a_description_only_match(api_client):
    # The name match is the older one: newest first would list it second.
    by_name = ProductFactory(name="Trail Lantern", description="")
    by_description = ProductFactory(name="Camp Mug", description="Hang it beside your lantern.")

    assert search(api_client, "lantern") == [by_name.id, by_description.id]


def test_a_category_match_ranks_between_name_and_description(api_client):
    # Created in the order that newest first would reverse.
    by_name = ProductFactory(name="Lantern", description="")
    by_category = ProductFactory(name="Hanging light", description="", category=CategoryFactory(name="Lanterns"))
    by_description = ProductFactory(name="Mug", description="A lantern mug")

    assert search(api_client, "lanterns") == [by_name.id, by_category.id, by_description.id]


def test_english_words_match_their_other_forms(api_client):
    tents = ProductFactory(name="Family Tents", description="")

    assert search(api_client, "tent") == [tents.id]
    assert search(api_client, "tenting") == [tents.id]


def test_a_prefix_beyond_the_english_stem_still_matches(api_client):
    # "Lighting" stems to "light": "lighti" is no prefix of the stem, only of the word as written.
    lamp = ProductFactory(name="Garden Lighting", description="")

    assert search(api_client, "lighti") == [lamp.id]
    assert search(api_client, "garden lightin") == [lamp.id]


def test_an_exact_sku_comes_first(api_client):
    # The name match ranks higher (name and description both say it), and is newer.
    exact = ProductFactory(name="Desk light", sku="LAMP-2", description="")
    ProductFactory(name="LAMP-2 shade", sku="SHADE-1", description="Fits the lamp-2 and the lamp-2 mini.")

    ids = search(api_client, "lamp-2")

    assert ids[0] == exact.id and len(ids) == 2


def test_an_exact_variant_sku_comes_first_whatever_its_case(api_client):
    tee = ProductFactory(
        name="Tee",
        sku="TEE",
        description="",
        variants=[{"sku": "TEE-M-RED", "options": {"Size": "M"}}, {"sku": "TEE-L-RED", "options": {"Size": "L"}}],
    )
    ProductFactory(name="Tee-M-Red bundle: tee-m-red tee-m-red", sku="BUNDLE-1", description="tee-m-red")

    assert search(api_client, "tee-m-red")[0] == tee.id
    assert search(api_client, "TEE-m-Red")[0] == tee.id


def test_a_sku_is_found_by_its_parts(api_client):
    tee = ProductFactory(name="Tee", sku="TEE", variants=[{"sku": "TEE-M-RED", "options": {"Size": "M"}}])
    synthetic = ProductFactory(name="Widget", sku="SYN-000042", description="")

    assert search(api_client, "red") == [tee.id]
    assert search(api_client, "tee m") == [tee.id]
    # The parser reads "SYN-000042" as "syn" and the integer "-000042": the part is indexed too.
    assert search(api_client, "000042") == [synthetic.id]
    assert search(api_client, "syn-0000") == [synthetic.id]


def test_the_category_name_is_searched(api_client):
    outdoor = CategoryFactory(name="Outdoor Gear")
    stove = ProductFactory(name="Stove", description="", category=outdoor)
    ProductFactory(name="Kettle", description="")

    assert search(api_client, "outdoor") == [stove.id]
    assert search(api_client, "outdoor stove") == [stove.id]


def test_a_phrase_never_spans_two_parts_of_the_document(api_client):
    # "Tent ultralight" is indexed in English and as written, one after the other; the category
    # follows the SKU. No phrase may bridge them.
    gear = CategoryFactory(name="Ultralight gear")
    ProductFactory(name="Tent ultralight", sku="TENT", description="", category=gear)

    assert search(api_client, '"ultralight tent"') == []
    assert search(api_client, '"tent ultralight"') != []


def test_ordering_replaces_the_rank(api_client):
    by_name = ProductFactory(name="Lantern", description="", price="30.00")
    by_description = ProductFactory(name="Mug", description="lantern", price="5.00")

    assert search(api_client, "lantern") == [by_name.id, by_description.id]
    assert search(api_client, "lantern", ordering="price") == [by_description.id, by_name.id]
    assert search(api_client, "lantern", ordering="-name") == [by_description.id, by_name.id]


def test_stop_words_alone_filter_nothing(api_client):
    products = ProductFactory.create_batch(2, description="")

    assert set(search(api_client, "the")) == {p.id for p in products}
    assert set(search(api_client, "the of and")) == {p.id for p in products}


def test_stop_words_beside_real_words_are_ignored(api_client):
    tent = ProductFactory(name="Ultralight Tent", description="")

    assert search(api_client, "the tent") == [tent.id]


# --- The triggers keep search_vector in step -----------------------------------------------------


def test_a_renamed_product_is_found_by_its_new_name_only(api_client, staff_client):
    product = ProductFactory(name="Trail Lantern", description="")

    response = staff_client.patch(f"{LIST_URL}{product.id}/", {"name": "Camp Stove"}, format="json")

    assert response.status_code == 200
    assert search(api_client, "stove") == [product.id]
    assert search(api_client, "lantern") == []


def test_a_new_description_is_searched(api_client, staff_client):
    product = ProductFactory(name="Mug", description="")

    response = staff_client.patch(f"{LIST_URL}{product.id}/", {"description": "Enamel, dishwasher safe"}, format="json")

    assert response.status_code == 200
    assert search(api_client, "enamel") == [product.id]


def test_a_renamed_category_renames_what_its_products_are_found_by(api_client, staff_client):
    category = CategoryFactory(name="Lighting", slug="lighting")
    lamp = ProductFactory(name="Lamp", description="", category=category)
    ProductFactory(name="Lamp", description="", category=CategoryFactory(name="Furniture"))

    response = staff_client.patch("/api/categories/lighting/", {"name": "Illumination"}, format="json")

    assert response.status_code == 200
    assert search(api_client, "illumination") == [lamp.id]
    assert search(api_client, "lighting") == []


def test_moving_a_product_to_another_category_is_searched(api_client):
    product = ProductFactory(name="Lamp", description="", category=CategoryFactory(name="Furniture"))

    Product.objects.filter(pk=product.pk).update(category=CategoryFactory(name="Lighting"))

    assert search(api_client, "lighting") == [product.id]
    assert search(api_client, "furniture") == []


def test_a_new_variant_is_found_by_its_sku(api_client):
    product = ProductFactory(name="Tee", sku="TEE", variants=[{"sku": "TEE-M", "options": {"Size": "M"}}])

    ProductVariantFactory(product=product, sku="TEE-XL-NAVY", options={"Size": "XL"})

    assert search(api_client, "tee-xl-navy") == [product.id]
    assert search(api_client, "navy") == [product.id]


def test_a_variant_sku_change_is_searched(api_client):
    product = ProductFactory(name="Mug", sku="MUG-OLD", description="")
    variant = variant_of(product)

    variant.sku = "MUG-NEW"
    variant.save()

    assert search(api_client, "mug-new") == [product.id]
    assert search(api_client, "mug-old") == [product.id]  # the product's own SKU is still MUG-OLD
    Product.objects.filter(pk=product.pk).update(sku="MUG-NEW")
    assert search(api_client, "mug-old") == []


def test_a_deleted_variant_is_no_longer_found(api_client):
    product = ProductFactory(
        name="Tee",
        sku="TEE",
        variants=[{"sku": "TEE-M", "options": {"Size": "M"}}, {"sku": "TEE-XL-NAVY", "options": {"Size": "XL"}}],
    )

    ProductVariant.objects.filter(sku="TEE-XL-NAVY").delete()

    assert search(api_client, "navy") == []
    assert search(api_client, "tee-m") == [product.id]


def test_many_variants_inserted_at_once_are_all_searched(api_client):
    first, second = ProductFactory(name="Tee", sku="TEE-A"), ProductFactory(name="Cap", sku="CAP-A")

    ochre = {"options": {"Colour": "Ochre"}, "options_key": variant_options_key({"Colour": "Ochre"})}
    ProductVariant.objects.bulk_create(
        [
            ProductVariant(product=first, sku="TEE-OCHRE", price=first.price, **ochre),
            ProductVariant(product=second, sku="CAP-OCHRE", price=second.price, **ochre),
        ]
    )

    assert set(search(api_client, "ochre")) == {first.id, second.id}


def test_stock_and_price_updates_do_not_recompute_the_vector():
    """Checkout moves stock with UPDATE ... SET stock: the trigger must not fire for it. A sentinel
    written straight into the column survives such updates only if it did not."""
    product = ProductFactory(name="Mug", stock=10)
    variant = variant_of(product)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE products_product SET search_vector = 'sentinel' WHERE id = %s", [product.pk])

    variants_move_stock(deltas={variant.pk: -3})  # what checkout calls
    ProductVariant.objects.filter(pk=variant.pk).update(stock=F("stock") - 1, price="9.00")
    Product.objects.filter(pk=product.pk).update(stock=F("stock") - 1, price="9.00", rating_count=3)

    variant.refresh_from_db()
    assert variant.stock == 6
    assert vector_of(product) == "'sentinel'"


def test_a_rename_does_recompute_the_vector():
    # The other side of the test above: the sentinel goes as soon as a searched column is written.
    product = ProductFactory(name="Mug")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE products_product SET search_vector = 'sentinel' WHERE id = %s", [product.pk])

    Product.objects.filter(pk=product.pk).update(name="Cup")

    assert "'cup'" in vector_of(product)
    assert "sentinel" not in vector_of(product)


# --- Cost: the index answers, the count has no join -----------------------------------------------


def test_the_gin_index_replaces_the_trigram_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'products_product'")
        indexes = dict(cursor.fetchall())

    assert "gin (search_vector)" in indexes["product_search_vector_idx"]
    assert not [name for name in indexes if "trgm" in name]


def test_a_search_can_use_the_gin_index():
    """The tsquery built from the search folds to a constant, which the index can serve (all
    products: no other index on the table could answer the filter)."""
    ProductFactory.create_batch(20)
    queryset = product_search(Product.objects.all(), "lantern ultral").values("id")

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()

    assert "product_search_vector_idx" in plan


def index_condition(text: str) -> str:
    """The tsquery the GIN index is asked for when searching `text` (the plan's Index Cond)."""
    queryset = product_search(Product.objects.all(), text).values("id")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    (line,) = [line for line in plan.splitlines() if "Index Cond" in line]
    return line


def test_the_index_is_asked_for_each_prefix_once():
    """A bare word is its English stem or the word as typed, each as a prefix. When one is a prefix
    of the other (the stem "canva" of "canvas"; "charg" both ways) it already finds everything the
    other finds, and GIN would scan the same posting lists twice: the filter asks for it once."""
    ProductFactory.create_batch(20)

    condition = index_condition("canvas charg").replace("''", "'")

    assert "'canva':* & 'charg':*" in condition
    assert "canvas" not in condition.split("=")[0]  # only the exact-SKU operand spells the search
    assert condition.count("'charg':*") == 1


def test_a_word_whose_stem_is_no_prefix_is_asked_for_both_ways(api_client):
    # English stems "happy" to "happi", which is no prefix of "happy": both forms stay in the filter.
    socks = ProductFactory(name="Happy Socks", description="")
    ProductFactory(name="Sad Socks", description="")

    condition = index_condition("happy").replace("''", "'")

    assert "'happi':*" in condition and "'happy':*" in condition
    assert search(api_client, "happy") == [socks.id]
    assert search(api_client, "happ") == [socks.id]


def test_ranking_is_unchanged_by_the_narrower_filter(api_client):
    # The rank is computed with every form of each word (the filter's narrowing is only for the index):
    # two name matches and a description match keep the order ts_rank gives them.
    older = ProductFactory(name="Canvas Charger Canvas", description="")
    newer = ProductFactory(name="Canvas Charger", description="")
    by_description = ProductFactory(name="Mug", description="canvas charger")

    assert search(api_client, "canvas charg") == [older.id, newer.id, by_description.id]


def test_a_search_page_carries_its_count(api_client):
    """Ranking reads every match, so the page counts them in the same pass instead of a second
    COUNT query reading them all again."""
    ProductFactory.create_batch(45, name="Lantern")
    ProductFactory(name="Stove")

    with CaptureQueriesContext(connection) as queries:
        response = api_client.get(LIST_URL, {"search": "lantern"})

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 45 and len(body["results"]) == 20
    assert body["next"].endswith("?page=2&search=lantern") and body["previous"] is None
    (searching,) = [q["sql"] for q in queries if "@@" in q["sql"]]  # the matches are read once
    assert "COUNT(*) OVER ()" in searching


def test_the_pages_of_a_search_count_and_link_like_any_list(api_client):
    ProductFactory.create_batch(45, name="Lantern")

    last = api_client.get(LIST_URL, {"search": "lantern", "page": 3}).json()
    beyond = api_client.get(LIST_URL, {"search": "lantern", "page": 4})
    nothing = api_client.get(LIST_URL, {"search": "kettle"}).json()
    filtered = api_client.get(LIST_URL, {"search": "lantern", "in_stock": "false"}).json()
    by_last = api_client.get(LIST_URL, {"search": "lantern", "page": "last"}).json()

    assert (last["count"], len(last["results"]), last["next"]) == (45, 5, None)
    assert last["previous"].endswith("?page=2&search=lantern")
    assert beyond.status_code == 404 and beyond.json()["errors"][0]["code"] == "not_found"
    assert nothing == {"count": 0, "next": None, "previous": None, "results": []}
    assert filtered["count"] == 0 and filtered["results"] == []
    assert by_last["results"] == last["results"]


def test_a_search_with_nothing_to_search_for_pages_as_the_list_does(api_client):
    """Stop words alone filter nothing: the page is the list's (newest first, which an index walks,
    counted by the list's own COUNT), not a count over a ranking of the whole catalog."""
    products = ProductFactory.create_batch(3, description="")

    with CaptureQueriesContext(connection) as queries:
        body = api_client.get(LIST_URL, {"search": "the of"}).json()

    assert body["count"] == 3 and {item["id"] for item in body["results"]} == {p.id for p in products}
    assert [q["sql"] for q in queries if 'COUNT(*) AS "__count"' in q["sql"]]
