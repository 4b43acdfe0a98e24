import io
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from products.models import Category, Product, ProductImage, ProductVariant, variant_options_key
from tests.conftest import requires_postgres
from tests.factories import ProductFactory
from tests.products.utils import assert_derived_fields_match_the_variants

pytestmark = pytest.mark.django_db

DEMO = Path(settings.BASE_DIR) / "fixtures" / "demo_catalog.json"


def _run(*args, **kwargs) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_products", *args, stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def _snapshot():
    return {
        "categories": sorted(Category.objects.values_list("slug", "name", "parent__slug", "updated_at")),
        "products": sorted(
            Product.objects.values_list("sku", "slug", "name", "price", "stock", "category__slug", "updated_at")
        ),
        "images": sorted(ProductImage.objects.values_list("product__sku", "image", "alt_text")),
    }


@pytest.fixture
def catalog_dir(tmp_path):
    """A copy of the demo catalog and its images that a test may edit."""
    shutil.copytree(DEMO.parent / "images", tmp_path / "images")
    path = tmp_path / "catalog.json"
    shutil.copy(DEMO, path)
    return path


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_demo_catalog_is_rich_enough():
    data = json.loads(DEMO.read_text())
    slugs = {c["slug"]: c for c in data["categories"]}

    assert len(slugs) >= 8
    assert any(c["parent"] is None for c in slugs.values())
    assert any(c["parent"] in slugs for c in slugs.values())
    assert len(data["products"]) >= 60
    assert any(p["is_featured"] for p in data["products"])
    for product in data["products"]:
        for image in product["images"]:
            path = DEMO.parent / image["path"]
            assert path.is_file()
            assert path.stat().st_size < 20_000


def test_import_creates_categories_products_and_images():
    out, _ = _run(str(DEMO))

    data = json.loads(DEMO.read_text())
    assert Category.objects.count() == len(data["categories"])
    assert Product.objects.count() == len(data["products"])
    assert ProductImage.objects.count() == sum(len(p["images"]) for p in data["products"])
    headphones = Product.objects.get(sku="AUD-001")
    assert headphones.price == Decimal("149.00")
    assert headphones.category.slug == "audio"
    assert headphones.category.parent.slug == "electronics"
    assert headphones.slug == "aurora-wireless-over-ear-headphones"
    assert headphones.images.get().image.name.startswith(f"products/{headphones.id}/")
    assert f"products {len(data['products'])} created" in out


def test_demo_catalog_has_clothing_in_sizes_and_colours():
    _run(str(DEMO), quiet=True)

    assert Category.objects.get(slug="t-shirts").parent.slug == "clothing"
    tee = Product.objects.get(sku="CLO-TEE-001")
    assert tee.option_names == ["Size", "Colour"]
    assert tee.variants.count() == tee.variant_count == 12
    assert {v.name for v in tee.variants.all()} >= {"S / Black", "XL / Navy"}
    assert tee.variants.get(name="XL / Navy").stock == 0  # sold out
    assert tee.variants.get(name="XL / Black").price > tee.variants.get(name="M / Black").price
    assert (tee.price, tee.price_max) == (Decimal("24.00"), Decimal("26.00"))
    assert tee.variants.get(name="M / White").weight_grams > 0
    assert Product.objects.get(sku="CLO-HOOD-001").option_names == ["Size"]
    cap = Product.objects.get(sku="CLO-CAP-001")
    assert cap.option_names == ["Colour"]
    assert cap.variants.get(sku="CLO-CAP-001-BLK").image == cap.images.get()
    multi = Product.objects.filter(variant_count__gt=1)
    assert multi.count() >= 3
    assert all(product.description for product in multi)
    for product in Product.objects.all():
        if not product.option_names:  # sold in one form: its one variant carries its SKU
            assert list(product.variants.values_list("sku", flat=True)) == [product.sku]
    assert_derived_fields_match_the_variants()


def test_default_path_is_the_demo_catalog():
    _run(quiet=True)

    assert Product.objects.filter(sku="AUD-001").exists()


def test_second_run_changes_nothing(django_assert_max_num_queries):
    _run(str(DEMO), quiet=True)
    before = _snapshot()

    with django_assert_max_num_queries(10):  # fast enough to run on every `make run`
        out, err = _run(str(DEMO), quiet=True)

    assert _snapshot() == before
    assert out == err == ""


def test_rerun_updates_changed_rows_by_sku_and_slug(catalog_dir):
    _run(str(catalog_dir), quiet=True)
    product = Product.objects.get(sku="AUD-001")
    slug = product.slug
    images_before = ProductImage.objects.count()

    def change(data):
        data["products"][0]["price"] = "129.00"
        data["products"][0]["name"] = "Aurora Headphones II"
        data["products"][0]["stock"] = 3
        data["categories"][1]["name"] = "Audio & Hi-Fi"

    _edit(catalog_dir, change)
    out, _ = _run(str(catalog_dir))

    product.refresh_from_db()
    assert (product.price, product.stock, product.name) == (Decimal("129.00"), 3, "Aurora Headphones II")
    assert product.slug == slug  # stable
    assert Category.objects.get(slug="audio").name == "Audio & Hi-Fi"
    assert ProductImage.objects.count() == images_before  # the product had an image already
    assert "1 updated" in out


def test_images_are_copied_only_to_products_without_one(catalog_dir):
    existing = ProductFactory(sku="AUD-001")
    from tests.factories import ProductImageFactory

    ProductImageFactory(product=existing)

    _run(str(catalog_dir), quiet=True)

    assert existing.images.count() == 1
    assert ProductImage.objects.filter(product__sku="AUD-002").count() == 1


def test_products_with_equal_names_get_unique_slugs(catalog_dir):
    def change(data):
        data["products"][1]["name"] = data["products"][0]["name"]

    _edit(catalog_dir, change)
    _run(str(catalog_dir), quiet=True)

    slugs = list(Product.objects.filter(sku__in=["AUD-001", "AUD-002"]).values_list("slug", flat=True))
    assert len(set(slugs)) == 2


def _assert_refused(path, message_part):
    with pytest.raises(CommandError) as excinfo:
        _run(str(path), quiet=True)
    assert message_part in str(excinfo.value)
    assert not Product.objects.exists()
    assert not Category.objects.exists()
    assert not ProductImage.objects.exists()


def test_missing_file_is_a_clear_error(tmp_path):
    _assert_refused(tmp_path / "nope.json", "not found")


def test_invalid_json_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"products": [')

    _assert_refused(path, "not valid JSON")


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda d: d["products"][5].pop("sku"), "products[5]: missing field 'sku'"),
        (lambda d: d["products"][7].pop("price"), "products[7]: missing field 'price'"),
        (lambda d: d["products"][3].update(price="-1.00"), "products[3]: 'price' must be greater than zero"),
        (lambda d: d["products"][3].update(price="abc"), "products[3]: 'price' is not a number"),
        # Too large to round to cents (Decimal's quantize refuses): an error, not a traceback.
        (lambda d: d["products"][3].update(price="1e30"), "products[3]: 'price' must have at most two decimal"),
        (lambda d: d["products"][3].update(price="NaN"), "products[3]: 'price' must be greater than zero"),
        (lambda d: d["products"][4].update(stock=-2), "products[4]: 'stock' must be between 0"),
        (lambda d: d["products"][4].update(stock="ten"), "products[4]: 'stock' must be an integer"),
        (lambda d: d["products"][2].update(category="nowhere"), "unknown category 'nowhere'"),
        (lambda d: d["products"][2].update(sku=d["products"][1]["sku"]), "duplicate SKU"),
        (lambda d: d["products"][2]["images"][0].update(path="images/missing.png"), "image file not found"),
        (lambda d: d["categories"][0].pop("name"), "categories[0]: missing field 'name'"),
        (lambda d: d["categories"][0].update(parent="audio"), "parent cycle"),
        (lambda d: d.pop("products"), "missing list 'products'"),
    ],
)
def test_a_bad_file_writes_nothing(catalog_dir, change, message):
    """The last products are valid: nothing at all is written, not even them."""
    _edit(catalog_dir, change)

    _assert_refused(catalog_dir, message)


def test_a_bad_file_leaves_an_existing_catalog_untouched(catalog_dir):
    _run(str(catalog_dir), quiet=True)
    before = _snapshot()

    def change(data):
        data["products"][0]["price"] = "1.00"  # a valid change...
        data["products"][-1]["stock"] = -5  # ...and an invalid one

    _edit(catalog_dir, change)
    with pytest.raises(CommandError):
        _run(str(catalog_dir), quiet=True)

    assert _snapshot() == before


def test_progress_is_shown_for_large_files(tmp_path):
    products = [
        {"sku": f"BULK-{i:05d}", "name": f"Bulk item {i}", "price": "1.50", "stock": i % 7, "category": None}
        for i in range(1200)
    ]
    path = tmp_path / "bulk.json"
    path.write_text(json.dumps({"categories": [], "products": products}))

    out, err = _run(str(path))

    assert Product.objects.count() == 1200
    assert "Products: 1200/1200" in err
    assert "1200 created" in out


def test_synthetic_catalog_is_generated_and_idempotent(api_client):
    out, err = _run(synthetic=250, batch_size=100)

    assert Product.objects.filter(sku__startswith="SYN-").count() == 250
    assert Product.objects.filter(sku="SYN-000001").exists()
    assert Product.objects.filter(sku="SYN-000250").exists()
    assert Category.objects.filter(parent__slug="synthetic").count() >= 3
    assert "250 products created" in out
    assert "Synthetic products: 250/250" in err

    first = dict(Product.objects.values_list("sku", "name"))
    _run(synthetic=300, batch_size=100, quiet=True)
    assert Product.objects.filter(sku__startswith="SYN-").count() == 300
    assert dict(Product.objects.filter(sku__in=first).values_list("sku", "name")) == first

    word = Product.objects.get(sku="SYN-000007").name.split()[-1]
    response = api_client.get("/api/products/", {"search": word})
    assert response.json()["count"] > 0


def test_synthetic_catalog_has_a_share_of_products_in_variants():
    _run(synthetic=300, batch_size=70, quiet=True)

    products = {p.sku: p for p in Product.objects.filter(sku__startswith="SYN-")}
    variants = {}
    for variant in ProductVariant.objects.filter(product__sku__startswith="SYN-").order_by("position", "pk"):
        variants.setdefault(variant.product_id, []).append(variant)
    multi = [p for p in products.values() if len(variants[p.pk]) > 1]
    assert 0.25 <= len(multi) / len(products) <= 0.42
    for product in products.values():
        own = variants[product.pk]
        if product in multi:
            assert 2 <= len(own) <= 6
            assert product.option_names and set(product.option_names) <= {"Size", "Colour"}
            for variant in own:
                assert set(variant.options) == set(product.option_names)
                assert variant.name == " / ".join(variant.options[name] for name in product.option_names)
                assert variant.sku == "-".join([product.sku, *(v.upper() for v in variant.options.values())])
                assert variant.options_key == variant_options_key(variant.options)
            assert len({v.options_key for v in own}) == len(own)
        else:
            assert [(v.sku, v.options, v.options_key) for v in own] == [(product.sku, {}, "")]
            assert product.option_names == []
    assert any(len({v.price for v in variants[p.pk]}) > 1 for p in multi)  # larger sizes cost a little more
    assert any(len({v.stock for v in variants[p.pk]}) > 1 for p in multi)
    assert_derived_fields_match_the_variants()


def test_synthetic_catalog_is_the_same_for_the_same_number():
    def catalog():
        return sorted(
            ProductVariant.objects.filter(product__sku__startswith="SYN-").values_list(
                "product__sku",
                "product__name",
                "product__price",
                "sku",
                "name",
                "price",
                "stock",
                "weight_grams",
                "options",
                "position",
            )
        )

    _run(synthetic=90, batch_size=1000, quiet=True)
    first = catalog()
    Product.objects.filter(sku__startswith="SYN-").delete()
    _run(synthetic=60, batch_size=7, quiet=True)
    _run(synthetic=90, batch_size=13, quiet=True)  # only the 30 missing ones, in other batches

    assert catalog() == first


def test_synthetic_rejects_a_bad_count():
    with pytest.raises(CommandError):
        _run(synthetic=0)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_load_refreshes_the_planner_statistics():
    """Outside a transaction the command runs VACUUM ANALYZE: PostgreSQL's row estimate of the product
    table matches the rows just loaded (before, it knows nothing of them and plans searches badly)."""
    _run(synthetic=120, batch_size=50, quiet=True)

    assert _estimated_product_rows() == Product.objects.count() == 120


@requires_postgres
def test_a_load_inside_a_transaction_still_analyzes():
    """Within a transaction VACUUM is impossible, so only ANALYZE runs (and nothing fails)."""
    _run(synthetic=80, batch_size=50, quiet=True)

    assert _estimated_product_rows() == Product.objects.count() == 80


def _estimated_product_rows() -> float:
    """The planner's row count for the product table (-1 until the table is first analyzed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Product._meta.db_table])
        return cursor.fetchone()[0]
