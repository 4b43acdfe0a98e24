"""Variants: one product in sizes and colours, each with its own SKU, price and stock (API.md, "Variants").

The product's `price`, `price_max`, `stock`, `in_stock` and `variant_count` follow its active variants
after every write; a product written the old way is a product with one variant and looks as before.
"""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from products import services
from products.models import Product, ProductVariant, StockMovement
from tests.conftest import auth_client
from tests.factories import ProductFactory, ProductImageFactory, ProductVariantFactory, StaffFactory, variant_of

from .utils import detail_url, error_codes

pytestmark = pytest.mark.django_db


def _tee(**kwargs) -> Product:
    return ProductFactory(
        name="Festival Tee",
        sku="TEE",
        variants=[
            {"sku": "TEE-S-BLK", "options": {"Size": "S", "Colour": "Black"}, "price": Decimal("20.00"), "stock": 4},
            {"sku": "TEE-M-BLK", "options": {"Size": "M", "Colour": "Black"}, "price": Decimal("20.00"), "stock": 0},
            {"sku": "TEE-XL-WHT", "options": {"Size": "XL", "Colour": "White"}, "price": Decimal("24.00"), "stock": 6},
        ],
        **kwargs,
    )


def _derived(product: Product) -> tuple:
    product.refresh_from_db()
    return (product.price, product.price_max, product.stock, product.variant_count)


def _variants_url(product, variant=None) -> str:
    return f"/api/products/{product.pk}/variants/" + (f"{variant.pk}/" if variant is not None else "")


# --- reading --------------------------------------------------------------------------------------


def test_detail_shows_options_and_the_active_variants(api_client):
    tee = _tee()
    ProductVariantFactory(
        product=tee, sku="TEE-L-BLK", options={"Size": "L", "Colour": "Black"}, stock=9, is_active=False
    )

    body = api_client.get(detail_url(tee.pk)).json()

    assert body["price"] == "20.00" and body["price_max"] == "24.00"
    assert body["stock"] == 10 and body["in_stock"] is True and body["variant_count"] == 3
    assert body["options"] == [
        {"name": "Size", "values": ["S", "M", "XL"]},
        {"name": "Colour", "values": ["Black", "White"]},
    ]
    assert [variant["sku"] for variant in body["variants"]] == ["TEE-S-BLK", "TEE-M-BLK", "TEE-XL-WHT"]
    medium = body["variants"][1]
    assert medium == {
        "id": tee.variants.get(sku="TEE-M-BLK").pk,
        "sku": "TEE-M-BLK",
        "name": "M / Black",
        "price": "20.00",
        "stock": 0,
        "in_stock": False,
        "options": {"Size": "M", "Colour": "Black"},
        "image": None,
    }


def test_the_detail_reads_only_the_variant_columns_it_shows(api_client):
    tee = _tee()

    with CaptureQueriesContext(connection) as queries:
        body = api_client.get(detail_url(tee.pk)).json()

    (sql,) = [q["sql"] for q in queries if 'FROM "products_productvariant"' in q["sql"]]
    selected = sql.split(" FROM ")[0]
    assert selected.count('"products_productvariant".') == len(body["variants"][0]) - 1  # in_stock is stock > 0


def test_a_product_sold_in_one_form_reads_as_before_with_one_variant(api_client):
    lamp = ProductFactory(name="Lamp", sku="LAMP-1", price=Decimal("35.00"), stock=7)

    body = api_client.get(detail_url(lamp.pk)).json()

    assert (body["sku"], body["price"], body["price_max"], body["stock"]) == ("LAMP-1", "35.00", "35.00", 7)
    assert body["options"] == []
    assert body["variants"] == [
        {
            "id": variant_of(lamp).pk,
            "sku": "LAMP-1",
            "name": "",
            "price": "35.00",
            "stock": 7,
            "in_stock": True,
            "options": {},
            "image": None,
        }
    ]


def test_list_items_carry_price_max_and_variant_count_and_filter_on_the_from_price(api_client):
    tee = _tee()
    ProductFactory(price=Decimal("50.00"))

    items = api_client.get("/api/products/", {"max_price": "21", "ordering": "price"}).json()["results"]

    assert [(item["id"], item["price"], item["price_max"], item["variant_count"]) for item in items] == [
        (tee.pk, "20.00", "24.00", 3)
    ]
    assert "variants" not in items[0]


def test_a_variant_image_is_one_of_the_product_images(api_client, staff_client):
    tee = _tee()
    image = ProductImageFactory(product=tee, external_url="https://img.example.com/white.jpg")
    white = tee.variants.get(sku="TEE-XL-WHT")
    other_image = ProductImageFactory()

    refused = staff_client.patch(_variants_url(tee, white), {"image_id": other_image.pk}, format="json")
    accepted = staff_client.patch(_variants_url(tee, white), {"image_id": image.pk}, format="json")

    assert refused.status_code == 400 and error_codes(refused) == ["invalid"]
    assert accepted.status_code == 200
    variants = api_client.get(detail_url(tee.pk)).json()["variants"]
    assert variants[2]["image"] == "https://img.example.com/white.jpg"


# --- creating -------------------------------------------------------------------------------------


def test_create_in_the_variants_form(staff_client, api_client):
    response = staff_client.post(
        "/api/products/",
        {
            "name": "Hoodie",
            "sku": "HOOD",
            "variants": [
                {"sku": "HOOD-M", "price": "45.00", "stock": 3, "options": {"Size": "M"}, "weight_grams": 600},
                {"sku": "HOOD-L", "price": "49.00", "stock": 0, "options": {"Size": "L"}},
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["price"], body["price_max"], body["stock"], body["variant_count"]) == ("45.00", "49.00", 3, 2)
    assert body["options"] == [{"name": "Size", "values": ["M", "L"]}]
    hoodie = Product.objects.get(pk=body["id"])
    assert hoodie.option_names == ["Size"]
    assert list(hoodie.variants.values_list("sku", "name", "weight_grams")) == [
        ("HOOD-M", "M", 600),
        ("HOOD-L", "L", 0),
    ]


def test_create_in_the_old_form_makes_one_variant(staff_client):
    response = staff_client.post(
        "/api/products/", {"name": "Mug", "sku": "MUG-1", "price": "9.50", "stock": 12}, format="json"
    )

    assert response.status_code == 201
    product = Product.objects.get(sku="MUG-1")
    assert list(product.variants.values_list("sku", "price", "stock", "options")) == [
        ("MUG-1", Decimal("9.50"), 12, {})
    ]


@pytest.mark.parametrize(
    ("variants", "status", "code", "attr"),
    [
        (
            [{"sku": "A-1", "price": "5", "options": {"Size": "M"}}, {"sku": "A-2", "price": "5", "options": {}}],
            400,
            "option_mismatch",
            "variants",
        ),
        (
            [
                {"sku": "A-1", "price": "5", "options": {"Size": "M"}},
                {"sku": "A-2", "price": "5", "options": {"Size": "M"}},
            ],
            409,
            "duplicate_variant",
            "variants",
        ),
        (
            [
                {"sku": "A-1", "price": "5", "options": {"Size": "M"}},
                {"sku": "A-1", "price": "5", "options": {"Size": "L"}},
            ],
            400,
            "sku_taken",
            "variants",
        ),
        ([{"sku": "TAKEN", "price": "5", "options": {"Size": "M"}}], 400, "sku_taken", "variants"),
        ([{"price": "5", "options": {"Size": "M"}}], 400, "required", "variants"),
        ([{"sku": "A-1", "price": "-5"}], 400, "min_value", "variants"),
        ([{"sku": "A-1", "price": "5", "options": {"Size": None}}], 400, "invalid_options", "variants"),
        ([{"sku": "A-1", "price": "5", "options": ["M"]}], 400, "invalid_options", "variants"),
        (["A-1"], 400, "not_a_dict", "variants"),
        ([], 400, "empty", "variants"),
    ],
)
def test_create_refuses_a_bad_set_of_variants_and_writes_nothing(staff_client, variants, status, code, attr):
    ProductFactory(sku="TAKEN")

    response = staff_client.post("/api/products/", {"name": "A", "sku": "A", "variants": variants}, format="json")

    assert response.status_code == status, response.content
    assert [(e["code"], e["attr"]) for e in response.json()["errors"]] == [(code, attr)]
    assert not Product.objects.filter(sku="A").exists()
    assert not ProductVariant.objects.filter(sku__startswith="A-").exists()


def test_create_with_variants_refuses_a_product_level_price(staff_client):
    response = staff_client.post(
        "/api/products/",
        {"name": "A", "sku": "A", "price": "5", "variants": [{"sku": "A-1", "price": "5"}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "price"


def test_too_many_variants_is_refused(staff_client, settings):
    settings.PRODUCT_MAX_VARIANTS = 2
    variants = [{"sku": f"A-{n}", "price": "5", "options": {"Size": str(n)}} for n in range(3)]

    response = staff_client.post("/api/products/", {"name": "A", "sku": "A", "variants": variants}, format="json")

    assert response.status_code == 400 and error_codes(response) == ["too_many_variants"]


# --- the staff variant endpoints -----------------------------------------------------------------


def test_staff_list_shows_inactive_variants_too(staff_client):
    tee = _tee()
    services.variant_update(variant=tee.variants.get(sku="TEE-M-BLK"), data={"is_active": False})

    response = staff_client.get(_variants_url(tee))

    assert response.status_code == 200
    assert [(v["sku"], v["is_active"]) for v in response.json()] == [
        ("TEE-S-BLK", True),
        ("TEE-M-BLK", False),
        ("TEE-XL-WHT", True),
    ]


def test_add_a_variant_and_the_product_follows(staff_client):
    tee = _tee()

    response = staff_client.post(
        _variants_url(tee),
        {"sku": "TEE-XXL-WHT", "price": "29.00", "stock": 2, "options": {"Colour": "White", "Size": "XXL"}},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["options"], body["stock"]) == ("XXL / White", {"Colour": "White", "Size": "XXL"}, 2)
    assert _derived(tee) == (Decimal("20.00"), Decimal("29.00"), 12, 4)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"sku": "N-1", "price": "5", "options": {"Size": "S"}}, 400, "option_mismatch"),
        ({"sku": "N-1", "price": "5", "options": {"Size": "S", "Fit": "Slim"}}, 400, "option_mismatch"),
        ({"sku": "N-1", "price": "5", "options": {"Size": "S", "Colour": "Black"}}, 409, "duplicate_variant"),
        ({"sku": "TEE-S-BLK", "price": "5", "options": {"Size": "L", "Colour": "Black"}}, 400, "sku_taken"),
        ({"sku": "LAMP", "price": "5", "options": {"Size": "L", "Colour": "Black"}}, 400, "sku_taken"),
        ({"sku": "N-1", "price": "0", "options": {"Size": "L", "Colour": "Black"}}, 400, "min_value"),
        ({"sku": "N-1", "price": "5", "options": {"Size": "", "Colour": "Black"}}, 400, "invalid_options"),
    ],
)
def test_adding_a_variant_refuses_what_breaks_the_rules(staff_client, body, status, code):
    tee = _tee()
    ProductFactory(sku="LAMP")
    before = _derived(tee)

    response = staff_client.post(_variants_url(tee), body, format="json")

    assert response.status_code == status, response.content
    assert error_codes(response) == [code]
    assert tee.variants.count() == 3
    assert _derived(tee) == before


def test_patch_a_price_and_the_product_follows(staff_client, api_client):
    tee = _tee()
    white = tee.variants.get(sku="TEE-XL-WHT")

    response = staff_client.patch(_variants_url(tee, white), {"price": "18.00"}, format="json")

    assert response.status_code == 200
    assert _derived(tee) == (Decimal("18.00"), Decimal("20.00"), 10, 3)
    assert api_client.get(detail_url(tee.pk)).json()["price"] == "18.00"


def test_patch_refuses_stock(staff_client):
    tee = _tee()
    small = tee.variants.get(sku="TEE-S-BLK")

    response = staff_client.patch(_variants_url(tee, small), {"stock": 99}, format="json")

    assert response.status_code == 400 and error_codes(response) == ["stock_not_writable"]
    small.refresh_from_db()
    assert small.stock == 4


def test_patch_to_options_another_variant_holds_is_409(staff_client):
    tee = _tee()
    small = tee.variants.get(sku="TEE-S-BLK")

    response = staff_client.patch(
        _variants_url(tee, small), {"options": {"Size": "M", "Colour": "Black"}}, format="json"
    )

    assert response.status_code == 409 and error_codes(response) == ["duplicate_variant"]


def test_the_only_variant_may_take_options_and_then_others_follow_them(staff_client):
    """How a product sold in one form becomes a product in sizes: name its variant's options, then add."""
    lamp = ProductFactory(name="Cap", sku="CAP", stock=3)
    only = variant_of(lamp)

    named = staff_client.patch(_variants_url(lamp, only), {"options": {"Colour": "Red"}}, format="json")
    added = staff_client.post(
        _variants_url(lamp), {"sku": "CAP-BLU", "price": "19.99", "options": {"Colour": "Blue"}}, format="json"
    )
    mismatched = staff_client.post(
        _variants_url(lamp), {"sku": "CAP-X", "price": "19.99", "options": {"Size": "L"}}, format="json"
    )

    assert named.status_code == 200 and named.json()["name"] == "Red"
    assert added.status_code == 201
    assert mismatched.status_code == 400 and error_codes(mismatched) == ["option_mismatch"]
    lamp.refresh_from_db()
    assert lamp.option_names == ["Colour"] and lamp.variant_count == 2


def test_the_only_variant_of_a_product_carries_its_sku(staff_client):
    lamp = ProductFactory(sku="LAMP-1")

    response = staff_client.patch(_variants_url(lamp, variant_of(lamp)), {"sku": "LAMP-2"}, format="json")

    assert response.status_code == 200
    lamp.refresh_from_db()
    assert lamp.sku == "LAMP-2"


def test_delete_deactivates_and_hides_the_variant(staff_client, api_client):
    tee = _tee()
    white = tee.variants.get(sku="TEE-XL-WHT")

    response = staff_client.delete(_variants_url(tee, white))

    assert response.status_code == 204
    white.refresh_from_db()
    assert white.is_active is False
    assert _derived(tee) == (Decimal("20.00"), Decimal("20.00"), 4, 2)
    body = api_client.get(detail_url(tee.pk)).json()
    assert [v["sku"] for v in body["variants"]] == ["TEE-S-BLK", "TEE-M-BLK"]
    assert body["options"] == [{"name": "Size", "values": ["S", "M"]}, {"name": "Colour", "values": ["Black"]}]
    assert staff_client.delete(_variants_url(tee, white)).status_code == 204  # twice: no-op


def test_the_last_variant_of_an_active_product_cannot_go(staff_client):
    lamp = ProductFactory()
    only = variant_of(lamp)

    response = staff_client.delete(_variants_url(lamp, only))

    assert response.status_code == 409 and error_codes(response) == ["last_variant"]
    only.refresh_from_db()
    assert only.is_active is True
    lamp.is_active = False
    lamp.save()
    assert staff_client.delete(_variants_url(lamp, only)).status_code == 204
    assert _derived(lamp)[2:] == (0, 0)


def test_a_variant_of_another_product_is_404(staff_client):
    tee, lamp = _tee(), ProductFactory()

    assert staff_client.get(_variants_url(lamp, tee.variants.first())).status_code == 404
    assert staff_client.get(f"/api/products/{lamp.pk}/variants/999999/").status_code == 404


def test_variant_endpoints_need_the_product_permissions(api_client, user_client):
    tee = _tee()
    body = {"sku": "N-1", "price": "5", "options": {"Size": "L", "Colour": "Black"}}

    assert api_client.get(_variants_url(tee)).status_code == 401
    assert user_client.get(_variants_url(tee)).status_code == 403
    assert user_client.post(_variants_url(tee), body, format="json").status_code == 403
    no_roles = auth_client(StaffFactory(roles=()))
    assert no_roles.delete(_variants_url(tee, tee.variants.first())).status_code == 403
    assert tee.variants.count() == 3


# --- product writes on a product with variants -------------------------------------------------


def test_a_new_price_on_a_product_with_variants_is_variant_required(staff_client):
    tee = _tee()

    changed = staff_client.patch(detail_url(tee.pk), {"price": "15.00"}, format="json")
    same = staff_client.patch(detail_url(tee.pk), {"price": "20.00", "name": "Tee"}, format="json")

    assert changed.status_code == 400 and error_codes(changed) == ["variant_required"]
    assert same.status_code == 200
    assert _derived(tee) == (Decimal("20.00"), Decimal("24.00"), 10, 3)


def test_a_price_on_a_product_in_one_form_is_its_variants(staff_client):
    lamp = ProductFactory(price=Decimal("10.00"))

    response = staff_client.patch(detail_url(lamp.pk), {"price": "12.00"}, format="json")

    assert response.status_code == 200 and response.json()["price"] == "12.00"
    assert variant_of(lamp).price == Decimal("12.00")


def test_a_product_sku_may_not_take_a_variant_sku(staff_client):
    tee, lamp = _tee(), ProductFactory()

    response = staff_client.patch(detail_url(lamp.pk), {"sku": "TEE-S-BLK"}, format="json")

    assert response.status_code == 400 and error_codes(response) == ["sku_taken"]
    assert tee.variants.filter(sku="TEE-S-BLK").exists()


# --- stock by variant -----------------------------------------------------------------------------


def test_stock_adjustment_names_the_variant(staff_client):
    tee = _tee()
    medium = tee.variants.get(sku="TEE-M-BLK")
    url = f"/api/products/{tee.pk}/stock-adjustments/"

    missing = staff_client.post(url, {"delta": 5, "reason": "received"}, format="json")
    moved = staff_client.post(url, {"delta": 5, "reason": "received", "variant_id": medium.pk}, format="json")
    foreign = staff_client.post(
        url, {"delta": 5, "reason": "received", "variant_id": variant_of(ProductFactory()).pk}, format="json"
    )

    assert missing.status_code == 400 and error_codes(missing) == ["variant_required"]
    assert moved.status_code == 201 and moved.json()["stock_after"] == 5
    assert moved.json()["variant_id"] == medium.pk
    assert foreign.status_code == 404
    medium.refresh_from_db()
    assert medium.stock == 5
    assert _derived(tee)[2] == 15
    assert StockMovement.objects.get().variant_id == medium.pk


def test_removing_more_than_the_variant_holds_is_409(staff_client):
    tee = _tee()
    small = tee.variants.get(sku="TEE-S-BLK")

    response = staff_client.post(
        f"/api/products/{tee.pk}/stock-adjustments/",
        {"delta": -5, "reason": "damaged", "variant_id": small.pk},
        format="json",
    )

    assert response.status_code == 409 and error_codes(response) == ["out_of_stock"]
    assert _derived(tee)[2] == 10


def test_an_inactive_variant_counts_for_nothing_in_the_product_stock():
    tee = _tee()

    services.variant_update(variant=tee.variants.get(sku="TEE-XL-WHT"), data={"is_active": False})

    assert _derived(tee) == (Decimal("20.00"), Decimal("20.00"), 4, 2)
    assert tee.in_stock is True
    services.variant_update(variant=tee.variants.get(sku="TEE-S-BLK"), data={"is_active": False})
    assert _derived(tee)[2:] == (0, 1)
    assert tee.in_stock is False


def test_variants_move_stock_moves_many_variants_in_one_statement(django_assert_num_queries):
    tee = _tee()
    small, medium, white = tee.variants.order_by("position")

    with django_assert_num_queries(2):  # the variants, then the products' derived stock
        services.variants_move_stock(deltas={small.pk: -4, medium.pk: 3, white.pk: 0})

    assert list(tee.variants.order_by("position").values_list("stock", flat=True)) == [0, 3, 6]
    assert _derived(tee)[2] == 9


def test_a_put_of_what_was_read_works_when_the_product_code_is_one_of_its_variant_skus(staff_client):
    hoodie = ProductFactory(
        name="Hoodie",
        sku="HOOD-M",
        variants=[
            {"sku": "HOOD-M", "options": {"Size": "M"}, "price": Decimal("45.00")},
            {"sku": "HOOD-L", "options": {"Size": "L"}, "price": Decimal("45.00")},
        ],
    )

    response = staff_client.put(
        detail_url(hoodie.pk), {"name": "Hoodie (new)", "sku": "HOOD-M", "price": "45.00"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Hoodie (new)"
