"""import_products with products in several variants (sizes, colours), beside the flat one-form shape."""

import copy
import io
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from products.models import Category, Product, ProductImage, ProductVariant
from tests.factories import ProductFactory, ProductVariantFactory, set_stock
from tests.products.utils import assert_derived_fields_match_the_variants

pytestmark = pytest.mark.django_db

IMAGES = Path(settings.BASE_DIR) / "fixtures" / "images"

TEE = {
    "sku": "TEE-1",
    "name": "Organic Tee",
    "description": "A tee.",
    "category": "tops",
    "options": ["Size", "Colour"],
    "variants": [
        {
            "sku": "TEE-1-S-BLK",
            "price": "20.00",
            "stock": 5,
            "weight_grams": 150,
            "options": {"Size": "S", "Colour": "Black"},
        },
        {
            "sku": "TEE-1-M-BLK",
            "price": "20.00",
            "stock": 0,
            "weight_grams": 160,
            "options": {"Colour": "Black", "Size": "M"},
        },
        {
            "sku": "TEE-1-XL-BLK",
            "price": "22.50",
            "stock": 3,
            "weight_grams": 180,
            "options": {"Size": "XL", "Colour": "Black"},
        },
        {"sku": "TEE-1-S-WHT", "price": "20.00", "stock": 7, "options": {"Size": "S", "Colour": "White"}, "image": 1},
        {
            "sku": "TEE-1-M-WHT",
            "price": "19.00",
            "stock": 9,
            "options": {"Size": "M", "Colour": "White"},
            "is_active": False,
        },
    ],
    "images": [{"path": "images/clothing.png", "alt": "Black"}, {"path": "images/clothing.png", "alt": "White"}],
}
MUG = {"sku": "MUG-1", "name": "Mug", "price": "9.50", "stock": 12, "weight_grams": 400, "category": "tops"}
CATALOG = {"categories": [{"slug": "tops", "name": "Tops", "parent": None}], "products": [TEE, MUG]}


def _run(path, **kwargs) -> str:
    out = io.StringIO()
    call_command("import_products", str(path), stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


@pytest.fixture
def catalog_path(tmp_path):
    """A small catalog (a T-shirt in sizes and colours, a mug in one form) that a test may edit."""
    shutil.copytree(IMAGES, tmp_path / "images")
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(CATALOG))
    return path


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data))


def _snapshot():
    return {
        "products": sorted(
            Product.objects.values_list(
                "sku", "name", "price", "price_max", "stock", "variant_count", "option_names", "updated_at"
            )
        ),
        "variants": sorted(
            ProductVariant.objects.values_list(
                "sku",
                "product__sku",
                "name",
                "price",
                "stock",
                "weight_grams",
                "options_key",
                "is_active",
                "position",
                "image_id",
                "updated_at",
            )
        ),
        "images": sorted(ProductImage.objects.values_list("product__sku", "image")),
    }


def test_variants_form_creates_the_product_and_its_variants(catalog_path):
    out = _run(catalog_path)

    tee = Product.objects.get(sku="TEE-1")
    assert tee.option_names == ["Size", "Colour"]
    variants = list(tee.variants.order_by("position"))
    assert [v.sku for v in variants] == [v["sku"] for v in TEE["variants"]]
    assert [v.name for v in variants] == ["S / Black", "M / Black", "XL / Black", "S / White", "M / White"]
    assert variants[1].options == {"Colour": "Black", "Size": "M"}
    assert variants[1].options_key == "Colour=Black|Size=M"
    assert (variants[2].price, variants[2].stock, variants[2].weight_grams) == (Decimal("22.50"), 3, 180)
    assert variants[3].weight_grams == 0  # not given
    assert variants[4].is_active is False
    white = tee.images.order_by("position", "pk")[1]
    assert variants[3].image_id == white.pk and white.alt_text == "White"
    assert [v.image_id for v in variants[:3]] == [None, None, None]
    # Derived from the active variants: the inactive 19.00 one does not make the "from" price.
    assert (tee.price, tee.price_max, tee.stock, tee.variant_count) == (Decimal("20.00"), Decimal("22.50"), 15, 4)
    assert_derived_fields_match_the_variants()
    assert "products 2 created" in out and "variants 6 created" in out


def test_flat_form_makes_one_variant_carrying_the_products_sku(catalog_path):
    _run(catalog_path, quiet=True)

    mug = Product.objects.get(sku="MUG-1")
    variant = mug.variants.get()
    assert (variant.sku, variant.price, variant.stock, variant.weight_grams) == ("MUG-1", Decimal("9.50"), 12, 400)
    assert (variant.options, variant.options_key, variant.name) == ({}, "", "")
    assert (mug.price, mug.price_max, mug.stock, mug.variant_count, mug.option_names) == (
        Decimal("9.50"),
        Decimal("9.50"),
        12,
        1,
        [],
    )


def test_option_order_is_the_first_variants_without_options(catalog_path):
    _edit(catalog_path, lambda d: d["products"][0].pop("options"))
    _edit(catalog_path, lambda d: d["products"][0]["variants"][0].update(options={"Colour": "Black", "Size": "S"}))

    _run(catalog_path, quiet=True)

    tee = Product.objects.get(sku="TEE-1")
    assert tee.option_names == ["Colour", "Size"]
    assert tee.variants.get(sku="TEE-1-M-BLK").name == "Black / M"


def test_second_import_changes_nothing_and_the_stats_say_so(catalog_path, django_assert_max_num_queries):
    _run(catalog_path, quiet=True)
    before = _snapshot()

    with django_assert_max_num_queries(11):
        out = _run(catalog_path)

    assert _snapshot() == before
    assert "products 0 created, 0 updated, 2 unchanged; variants 0 created, 0 updated, 6 unchanged" in out
    assert "0 images copied" in out


def test_reimport_updates_variants_matched_by_sku(catalog_path):
    _run(catalog_path, quiet=True)
    untouched_before = ProductVariant.objects.get(sku="TEE-1-S-BLK").updated_at
    mug_before = _snapshot()["variants"][0]

    def change(data):
        variants = data["products"][0]["variants"]
        variants[1].update(price="18.00", stock=4, weight_grams=165)  # M Black
        variants[2]["is_active"] = False  # XL Black off sale
        variants[4]["is_active"] = True  # M White back on sale
        variants.append({"sku": "TEE-1-L-BLK", "price": "21.00", "options": {"Size": "L", "Colour": "Black"}})

    _edit(catalog_path, change)
    out = _run(catalog_path)

    tee = Product.objects.get(sku="TEE-1")
    m_black = ProductVariant.objects.get(sku="TEE-1-M-BLK")
    assert (m_black.price, m_black.stock, m_black.weight_grams) == (Decimal("18.00"), 4, 165)
    assert ProductVariant.objects.get(sku="TEE-1-XL-BLK").is_active is False
    new = ProductVariant.objects.get(sku="TEE-1-L-BLK")
    assert (new.product_id, new.stock, new.name, new.position) == (tee.pk, 0, "L / Black", 5)
    assert ProductVariant.objects.get(sku="TEE-1-S-BLK").updated_at == untouched_before
    assert _snapshot()["variants"][0] == mug_before  # the mug is untouched
    # 18.00 (M Black) to 21.00 (L Black); 5 + 4 + 7 + 9 + 0 in stock over five variants on sale.
    assert (tee.price, tee.price_max, tee.stock, tee.variant_count) == (Decimal("18.00"), Decimal("21.00"), 25, 5)
    assert_derived_fields_match_the_variants()
    assert "products 0 created, 1 updated, 1 unchanged; variants 1 created, 3 updated, 3 unchanged" in out


def test_reimport_without_stock_leaves_the_variants_stock(catalog_path):
    """As for products before variants, a stock the file gives is the count to have; a variant without
    "stock" keeps what it has (here after a sale), and so does its weight."""
    _run(catalog_path, quiet=True)
    set_stock(ProductVariant.objects.get(sku="TEE-1-S-BLK"), 2)

    def change(data):
        data["products"][0]["variants"][0].pop("stock")
        data["products"][0]["variants"][0].pop("weight_grams")
        data["products"][0]["variants"][2]["stock"] = 11

    _edit(catalog_path, change)
    _run(catalog_path, quiet=True)

    s_black = ProductVariant.objects.get(sku="TEE-1-S-BLK")
    assert (s_black.stock, s_black.weight_grams) == (2, 150)
    assert ProductVariant.objects.get(sku="TEE-1-XL-BLK").stock == 11
    assert Product.objects.get(sku="TEE-1").stock == 2 + 0 + 11 + 7
    assert_derived_fields_match_the_variants()


def test_variants_the_file_does_not_list_are_left_as_they_are(catalog_path):
    _run(catalog_path, quiet=True)
    before = ProductVariant.objects.get(sku="TEE-1-XL-BLK")

    _edit(catalog_path, lambda d: d["products"][0]["variants"].pop(2))
    out = _run(catalog_path)

    after = ProductVariant.objects.get(sku="TEE-1-XL-BLK")
    assert (after.is_active, after.stock, after.price, after.updated_at) == (
        True,
        3,
        Decimal("22.50"),
        before.updated_at,
    )
    assert Product.objects.get(sku="TEE-1").variant_count == 4
    assert "variants 0 created, 2 updated" in out  # the two after it moved up one position


def test_combinations_may_swap_between_variants(catalog_path):
    """Two variants exchanging their options pass the unique (product, options) on every database."""
    _run(catalog_path, quiet=True)

    def change(data):
        variants = data["products"][0]["variants"]
        variants[0]["options"], variants[1]["options"] = variants[1]["options"], variants[0]["options"]

    _edit(catalog_path, change)
    _run(catalog_path, quiet=True)

    assert ProductVariant.objects.get(sku="TEE-1-S-BLK").name == "M / Black"
    assert ProductVariant.objects.get(sku="TEE-1-M-BLK").options_key == "Colour=Black|Size=S"


def test_a_new_option_order_renames_every_variant(catalog_path):
    _run(catalog_path, quiet=True)

    def change(data):
        data["products"][0]["options"] = ["Colour", "Size"]
        data["products"][0]["variants"].pop()  # M White, now not in the file: renamed all the same

    _edit(catalog_path, change)
    _run(catalog_path, quiet=True)

    tee = Product.objects.get(sku="TEE-1")
    assert tee.option_names == ["Colour", "Size"]
    assert set(tee.variants.values_list("name", flat=True)) == {
        "Black / S",
        "Black / M",
        "Black / XL",
        "White / S",
        "White / M",
    }


# --- A bad file writes nothing ----------------------------------------------------------------------


def _tee(**changes) -> dict:
    tee = copy.deepcopy(TEE)
    tee.update(changes)
    return tee


def _variant(n: int, **changes) -> dict:
    variant = copy.deepcopy(TEE["variants"][n])
    variant.update(changes)
    return variant


def _too_many_options():
    options = {f"Option {i}": "x" for i in range(settings.PRODUCT_MAX_OPTIONS + 1)}
    return _tee(options=list(options), variants=[_variant(0, options=options)])


@pytest.mark.parametrize(
    "tee,message",
    [
        (
            _tee(variants=[_variant(0), _variant(1, options={"Size": "M"})]),
            "products[0].variants[1]: options name Size; every variant of the product names Size, Colour",
        ),
        (
            _tee(options=None, variants=[_variant(0, options={"Size": "S"}), _variant(1)]),
            "products[0].variants[1]: options name Colour, Size; every variant of the product names Size",
        ),
        (
            _tee(variants=[_variant(0), _variant(1, options={"Colour": "Black", "Size": "S"})]),
            "products[0].variants[1]: the combination Colour=Black, Size=S is also products[0].variants[0]",
        ),
        (
            _tee(variants=[_variant(0), _variant(1, sku="TEE-1-S-BLK")]),
            "products[0].variants[1]: duplicate SKU 'TEE-1-S-BLK' (also products[0].variants[0])",
        ),
        (
            _tee(variants=[_variant(0), _variant(1, sku="MUG-1")]),
            "products[1]: duplicate SKU 'MUG-1' (also products[0].variants[1])",
        ),
        (
            _tee(variants=[_variant(0), _variant(1, sku="TEE-1")]),
            "products[0].variants[1]: SKU 'TEE-1' is the product's own",
        ),
        (_tee(price="20.00"), "products[0]: 'price' is given per variant when the product has 'variants'"),
        (_tee(stock=3), "products[0]: 'stock' is given per variant when the product has 'variants'"),
        (_tee(variants=[]), "products[0]: 'variants' must be a non-empty list"),
        (_tee(variants=[_variant(0, options={})]), "products[0].variants[0]: 'options' must be an object"),
        (
            _tee(variants=[_variant(0, options={"Size": " ", "Colour": "Black"})]),
            "products[0].variants[0]: the value of option 'Size' must be 1 to 100 characters",
        ),
        (
            _tee(variants=[_variant(0, options={"Size": "S" * 101, "Colour": "Black"})]),
            "products[0].variants[0]: the value of option 'Size' must be 1 to 100 characters",
        ),
        (
            _tee(variants=[_variant(0, options={"Size": True, "Colour": "Black"})]),
            "products[0].variants[0]: the value of option 'Size' must be text",
        ),
        (_too_many_options(), f"products[0]: a product has at most {settings.PRODUCT_MAX_OPTIONS} options"),
        (_tee(options=["Size", "Size"]), "products[0]: 'options' names an option twice"),
        (_tee(variants=[_variant(0, price="0")]), "products[0].variants[0]: 'price' must be greater than zero"),
        (_tee(variants=[_variant(0, stock=-1)]), "products[0].variants[0]: 'stock' must be between 0"),
        (_tee(variants=[_variant(0, image=2)]), "products[0].variants[0]: 'image' must be the index of one"),
        (
            _tee(variants=[_variant(n, is_active=False) for n in range(2)]),
            "products[0]: an active product needs at least one active variant",
        ),
    ],
)
def test_a_bad_variants_file_writes_nothing(catalog_path, tee, message):
    """The mug after the T-shirt is valid: nothing at all is written, not even it."""
    _write(catalog_path, {**CATALOG, "products": [tee, MUG]})

    with pytest.raises(CommandError) as excinfo:
        _run(catalog_path, quiet=True)

    assert message in str(excinfo.value)
    assert not Product.objects.exists()
    assert not ProductVariant.objects.exists()
    assert not Category.objects.exists()


def test_options_without_variants_is_an_error(catalog_path):
    _write(catalog_path, {**CATALOG, "products": [{**MUG, "options": ["Size"]}]})

    with pytest.raises(CommandError, match=r"products\[0\]: 'options' names the options of 'variants'"):
        _run(catalog_path, quiet=True)


def test_too_many_variants_is_an_error(catalog_path, settings):
    settings.PRODUCT_MAX_VARIANTS = 3

    with pytest.raises(CommandError, match=r"products\[0\]: a product has at most 3 variants, got 5"):
        _run(catalog_path, quiet=True)

    assert not Product.objects.exists()


def test_too_many_variants_counts_those_in_the_database_the_file_leaves(catalog_path, settings):
    _run(catalog_path, quiet=True)
    settings.PRODUCT_MAX_VARIANTS = 5

    def change(data):
        data["products"][0]["variants"] = [
            _variant(0),
            {"sku": "TEE-1-L-BLK", "price": "21.00", "options": {"Size": "L", "Colour": "Black"}},
        ]

    _edit(catalog_path, change)
    with pytest.raises(CommandError) as excinfo:
        _run(catalog_path, quiet=True)

    assert "with its 4 variants in the database that the file does not list it would have 6" in str(excinfo.value)
    assert not ProductVariant.objects.filter(sku="TEE-1-L-BLK").exists()


def _assert_refused_against(catalog_path, data, message):
    _write(catalog_path, data)
    before = _snapshot()

    with pytest.raises(CommandError) as excinfo:
        _run(catalog_path, quiet=True)

    assert message in str(excinfo.value)
    assert _snapshot() == before


def test_a_variant_sku_of_another_products_variant_in_the_database_is_refused(catalog_path):
    other = ProductFactory(sku="HOOD-1", variants=[{"sku": "HOOD-1-M", "options": {"Size": "M"}}])

    _assert_refused_against(
        catalog_path,
        {**CATALOG, "products": [_tee(variants=[_variant(0, sku="HOOD-1-M")]), MUG]},
        f"products[0].variants[0]: SKU 'HOOD-1-M' is a variant of product '{other.sku}' in the database",
    )


def test_a_variant_sku_of_another_product_in_the_database_is_refused(catalog_path):
    ProductFactory(sku="CAP-1")

    _assert_refused_against(
        catalog_path,
        {**CATALOG, "products": [_tee(variants=[_variant(0, sku="CAP-1")]), MUG]},
        "products[0].variants[0]: SKU 'CAP-1' is another product's in the database",
    )


def test_a_product_sku_of_another_products_variant_in_the_database_is_refused(catalog_path):
    ProductFactory(sku="HOOD-1", variants=[{"sku": "MUG-1", "options": {"Size": "M"}}])

    _assert_refused_against(
        catalog_path, CATALOG, "products[1]: SKU 'MUG-1' is a variant of product 'HOOD-1' in the database"
    )


def test_a_product_sold_in_one_form_is_not_turned_into_one_with_variants(catalog_path):
    ProductFactory(sku="TEE-1", price=Decimal("20.00"))

    _assert_refused_against(
        catalog_path,
        CATALOG,
        "products[0]: its variant 'TEE-1' in the database names no options and the file Size, Colour",
    )


def test_a_combination_held_by_a_variant_the_file_does_not_list_is_refused(catalog_path):
    tee = ProductFactory(sku="TEE-1", variants=[{"sku": "OLD-S-BLK", "options": {"Size": "S", "Colour": "Black"}}])
    ProductVariantFactory(product=tee, sku="OLD-M-BLK", options={"Size": "M", "Colour": "Black"})

    _assert_refused_against(
        catalog_path,
        CATALOG,
        "products[0].variants[0]: the combination Size=S, Colour=Black is variant 'OLD-S-BLK''s in the database",
    )


def test_a_product_row_without_variants_gets_its_one_variant(catalog_path):
    """A product row left without variants (written before variants existed) gets its one variant."""
    Product.objects.create(name="Mug", slug="mug", sku="MUG-1", price=Decimal("9.50"), stock=12)

    _run(catalog_path, quiet=True)

    mug = Product.objects.get(sku="MUG-1")
    assert list(mug.variants.values_list("sku", "stock")) == [("MUG-1", 12)]
    assert_derived_fields_match_the_variants()
