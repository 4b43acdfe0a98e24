"""The admin edits variants inline on the product page (issue 16): every write goes through
products.services, a refusal is a form error with nothing written, stock is never typed in (the per-variant
adjustment is in test_stock_adjustments.py), and who may do what follows novacart.permissions."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.forms import inlineformset_factory
from django.urls import reverse

from novacart.permissions import CATALOG_MANAGERS, SUPPORT
from products import services
from products.admin import VariantInlineForm, VariantInlineFormSet, format_options
from products.models import Product, ProductImage, ProductVariant
from tests.factories import ProductFactory, StaffFactory, staff_in
from tests.products.utils import admin_product_form

pytestmark = pytest.mark.django_db


def _tee(**kwargs) -> Product:
    """A T-shirt in S (20.00, 3 in stock) and M (24.00, 5 in stock)."""
    return ProductFactory(
        name="Tee",
        sku="TEE",
        variants=[
            {"sku": "TEE-S", "options": {"Size": "S"}, "price": Decimal("20.00"), "stock": 3},
            {"sku": "TEE-M", "options": {"Size": "M"}, "price": Decimal("24.00"), "stock": 5},
        ],
        **kwargs,
    )


def _change_url(product) -> str:
    return reverse("admin:products_product_change", args=[product.pk])


def _row(variant: ProductVariant, **fields) -> dict:
    """One variant's row of the inline as the page shows it, with `fields` changed."""
    row = {
        "id": str(variant.pk),
        "product": str(variant.product_id),
        "sku": variant.sku,
        "options": format_options(variant.options, variant.product.option_names),
        "price": str(variant.price),
        "weight_grams": str(variant.weight_grams),
        "position": str(variant.position),
        "image": str(variant.image_id or ""),
    }
    if variant.is_active:
        row["is_active"] = "on"
    row.update(fields)
    return {key: value for key, value in row.items() if value is not None}


def _new_row(**fields) -> dict:
    """A row added with "Add another variant": on sale unless `is_active=None`."""
    row = {"sku": "", "options": "", "price": "", "weight_grams": "0", "is_active": "on", "position": "", "image": ""}
    return {key: value for key, value in {**row, **fields}.items() if value is not None}


def _post_body(product, *, changes=None, new=(), **product_fields) -> dict:
    """The change form as posted: the product's fields, every variant's row (`changes` by variant pk),
    then `new` rows."""
    changes = changes or {}
    variants = list(ProductVariant.objects.filter(product=product).select_related("product").order_by("position"))
    rows = [_row(variant, **changes.get(variant.pk, {})) for variant in variants] + [_new_row(**r) for r in new]
    data = admin_product_form(product, **product_fields)
    data.update({"variants-TOTAL_FORMS": str(len(rows)), "variants-INITIAL_FORMS": str(len(variants))})
    for index, row in enumerate(rows):
        data.update({f"variants-{index}-{name}": value for name, value in row.items()})
    return data


def _snapshot(product) -> list[tuple]:
    return list(
        ProductVariant.objects.filter(product=product)
        .order_by("pk")
        .values_list("sku", "price", "stock", "options", "is_active", "position", "weight_grams")
    )


def _product_state(product) -> tuple:
    product = Product.objects.get(pk=product.pk)
    return (product.description, product.price, product.price_max, product.stock, product.variant_count)


def _spy(monkeypatch, name):
    calls = []
    real = getattr(services, name)

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, name, spy)
    return calls


# --- Adding and editing through the services ------------------------------------------------------


def test_the_inline_adds_a_variant_through_the_service_and_the_product_follows(admin_client, monkeypatch):
    tee = _tee()
    created = _spy(monkeypatch, "variant_create")

    response = admin_client.post(
        _change_url(tee), _post_body(tee, new=[{"sku": "TEE-L", "options": "Size=L", "price": "28.00"}])
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert [call["sku"] for call in created] == ["TEE-L"]
    large = ProductVariant.objects.get(sku="TEE-L")
    assert (large.options, large.name, large.stock, large.position, large.is_active) == ({"Size": "L"}, "L", 0, 2, True)
    tee.refresh_from_db()
    assert (tee.price, tee.price_max, tee.stock, tee.variant_count) == (Decimal("20.00"), Decimal("28.00"), 8, 3)


def test_editing_a_variant_price_writes_only_that_field_and_the_product_price_follows(admin_client, monkeypatch):
    tee = _tee()
    small = tee.variants.get(sku="TEE-S")
    updated = _spy(monkeypatch, "variant_update")

    response = admin_client.post(_change_url(tee), _post_body(tee, changes={small.pk: {"price": "18.00"}}))

    assert response.status_code == 302, response.content.decode()[:3000]
    assert [(call["variant"].pk, call["data"]) for call in updated] == [(small.pk, {"price": Decimal("18.00")})]
    tee.refresh_from_db()
    assert (tee.price, tee.price_max) == (Decimal("18.00"), Decimal("24.00"))


def test_a_one_form_product_becomes_one_in_sizes_in_one_save(admin_client):
    mug = ProductFactory(name="Mug", sku="MUG", price=Decimal("9.00"), stock=4)
    only = mug.variants.get()

    response = admin_client.post(
        _change_url(mug),
        _post_body(
            mug,
            changes={only.pk: {"options": "Size=Small"}},
            new=[{"sku": "MUG-L", "options": "Size=Large", "price": "12.00"}],
        ),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    mug.refresh_from_db()
    assert mug.option_names == ["Size"]
    assert sorted(mug.variants.values_list("name", "sku", "stock")) == [("Large", "MUG-L", 0), ("Small", "MUG", 4)]
    assert (mug.price, mug.price_max, mug.variant_count) == (Decimal("9.00"), Decimal("12.00"), 2)


def test_options_may_be_typed_as_json_and_in_any_order(admin_client):
    shirt = ProductFactory(
        sku="SHIRT",
        variants=[{"sku": "SH-S-R", "options": {"Size": "S", "Colour": "Red"}, "price": Decimal("20.00")}],
    )
    [variant] = shirt.variants.all()

    unchanged = admin_client.post(
        _change_url(shirt), _post_body(shirt, changes={variant.pk: {"options": "Colour=Red ,  Size=S"}})
    )
    added = admin_client.post(
        _change_url(shirt),
        _post_body(shirt, new=[{"sku": "SH-M-B", "options": '{"Colour": "Blue, navy", "Size": "M"}', "price": "21"}]),
    )

    assert unchanged.status_code == added.status_code == 302
    assert ProductVariant.objects.get(sku="SH-S-R").updated_at == variant.updated_at  # no write at all
    assert ProductVariant.objects.get(sku="SH-M-B").name == "M / Blue, navy"


def test_a_replacement_variant_and_the_old_ones_deactivation_save_together(admin_client):
    """Creations run before deactivations, so retiring the last variant on sale for a new one works."""
    mug = ProductFactory(sku="MUG", variants=[{"sku": "MUG-OLD", "options": {"Colour": "Grey"}}])
    old = mug.variants.get()

    response = admin_client.post(
        _change_url(mug),
        _post_body(
            mug, changes={old.pk: {"is_active": None}}, new=[{"sku": "MUG-NEW", "options": "Colour=Blue", "price": "9"}]
        ),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert dict(mug.variants.values_list("sku", "is_active")) == {"MUG-OLD": False, "MUG-NEW": True}


# --- Refusals: a form error, nothing written -------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "changes", "message"),
    [
        ({"sku": "TEE-M2", "options": "Size=M", "price": "25"}, None, "The product already has a variant with Size=M"),
        (
            {"sku": "TEE-RED", "options": "Colour=Red", "price": "25"},
            None,
            "Every variant of this product names the same options (Size); got Colour.",
        ),
        ({"sku": "ANOTHER", "options": "Size=L", "price": "25"}, None, "A product with this SKU already exists."),
        ({"sku": "OTHER-V", "options": "Size=L", "price": "25"}, None, "A variant with this SKU already exists."),
        ({"sku": "OTHER", "options": "Size=L", "price": "25"}, None, "A variant with this SKU already exists."),
        ({"sku": "TEE", "options": "Size=L", "price": "25"}, None, "A product with this SKU already exists."),
        ({"sku": "TEE-M", "options": "Size=L", "price": "25"}, None, "A variant with this SKU already exists."),
        ({"sku": "TEE-L", "options": "Size", "price": "25"}, None, "Write the options as Name=Value pairs"),
        (None, {"TEE-S": {"options": "Size=M"}}, "The product already has a variant with Size=M"),
        (None, {"TEE-S": {"is_active": None}, "TEE-M": {"is_active": None}}, "This is the last variant on sale"),
    ],
    ids=[
        "duplicate-combination",
        "option-names-mismatch",
        "sku-of-another-product",
        "sku-of-another-products-variant",
        "sku-of-a-one-form-product",
        "the-products-own-code",
        "sku-of-a-sibling",
        "options-syntax",
        "changed-into-a-siblings-combination",
        "no-variant-left-on-sale",
    ],
)
def test_a_refused_variant_edit_is_a_form_error_and_writes_nothing(admin_client, new, changes, message):
    ProductFactory(sku="OTHER")
    ProductFactory(sku="ANOTHER", variants=[{"sku": "OTHER-V", "options": {"Size": "S"}}])
    tee = _tee()
    by_sku = {variant.sku: variant.pk for variant in tee.variants.all()}
    before, product_before = _snapshot(tee), _product_state(tee)
    small = tee.variants.get(sku="TEE-S")
    changes = {by_sku[sku]: fields for sku, fields in (changes or {}).items()}
    # Alongside the refused row: a product edit and a valid price change, neither of which may be written.
    changes.setdefault(small.pk, {}).setdefault("price", "19.00")

    response = admin_client.post(
        _change_url(tee),
        _post_body(tee, changes=changes, new=[new] if new else [], description="A new description"),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "errorlist" in html
    assert (_snapshot(tee), _product_state(tee)) == (before, product_before)
    assert ProductVariant.objects.count() == 4


def test_a_refusal_only_the_service_sees_rolls_the_whole_save_back_and_shows_as_a_form_error(admin_client, monkeypatch):
    """What the form could not know (here: its checks skipped, as if a colleague had added Size=M a
    moment before the save): the service refuses, everything the save had written is rolled back (the
    product's description, the other variant's price), and the page comes back with the refusal on the
    row it belongs to."""
    monkeypatch.setattr(VariantInlineFormSet, "_check_variant_rules", lambda self: None)
    tee = _tee()
    small = tee.variants.get(sku="TEE-S")
    before, product_before = _snapshot(tee), _product_state(tee)

    response = admin_client.post(
        _change_url(tee),
        _post_body(
            tee,
            changes={small.pk: {"price": "19.00"}},
            new=[{"sku": "TEE-M2", "options": "Size=M", "price": "25"}],
            description="A new description",
        ),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "The product already has a variant with Size=M (perhaps inactive: reactivate it instead)." in html
    new_row = html.split('id="variants-2"')[1].split("</tr>")[0]
    assert "errorlist" in new_row
    assert 'value="TEE-M2"' in html  # what was typed is shown again
    assert (_snapshot(tee), _product_state(tee)) == (before, product_before)


def test_a_product_sku_a_variant_holds_is_a_form_error_not_a_500(admin_client):
    ProductFactory(sku="ANOTHER", variants=[{"sku": "HELD-BY-A-VARIANT", "options": {"Size": "S"}}])
    mug = ProductFactory(sku="MUG")

    response = admin_client.post(_change_url(mug), _post_body(mug, sku="HELD-BY-A-VARIANT"))

    assert response.status_code == 200
    assert "A product with this SKU already exists." in response.content.decode()
    mug.refresh_from_db()
    assert (mug.sku, mug.variants.get().sku) == ("MUG", "MUG")


# --- What the inline offers -------------------------------------------------------------------------------


def test_the_inline_lists_every_variant_with_stock_read_only_and_no_delete(admin_client):
    tee = _tee()
    retired = ProductVariant.objects.create(
        product=tee, sku="TEE-XL", price=Decimal("26"), options={"Size": "XL"}, name="XL", is_active=False, position=2
    )

    html = admin_client.get(_change_url(tee)).content.decode()

    assert 'name="variants-TOTAL_FORMS" value="3"' in html  # the inactive one too
    assert 'value="Size=XL"' in html
    assert "DELETE" not in html
    assert not re.search(r'name="variants-\d+-stock"', html)
    for variant in tee.variants.all():
        url = reverse("admin:products_product_adjust_variant_stock", args=[tee.pk, variant.pk])
        assert re.search(rf"<p>{variant.stock} &nbsp; <a href=\"{url}\"", html)
    assert retired.pk


def test_a_posted_stock_is_ignored(admin_client):
    tee = _tee()
    small = tee.variants.get(sku="TEE-S")

    response = admin_client.post(_change_url(tee), _post_body(tee, changes={small.pk: {"stock": "999"}}))

    assert response.status_code == 302
    assert ProductVariant.objects.get(pk=small.pk).stock == 3


def test_the_image_is_one_of_the_products_own(admin_client):
    tee = _tee()
    own = ProductImage.objects.create(product=tee, external_url="https://images.example.com/tee.jpg", alt_text="Tee")
    foreign = ProductImage.objects.create(
        product=ProductFactory(), external_url="https://images.example.com/x.jpg", alt_text="Not the tee"
    )
    small = tee.variants.get(sku="TEE-S")

    page = admin_client.get(_change_url(tee)).content.decode()
    refused = admin_client.post(_change_url(tee), _post_body(tee, changes={small.pk: {"image": str(foreign.pk)}}))
    done = admin_client.post(_change_url(tee), _post_body(tee, changes={small.pk: {"image": str(own.pk)}}))

    assert ">Tee</option>" in page and "Not the tee" not in page
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert done.status_code == 302
    assert ProductVariant.objects.get(pk=small.pk).image == own


def test_the_change_page_costs_the_same_queries_whatever_the_number_of_variants(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def page_queries(product) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(_change_url(product)).status_code == 200
        return len(captured)

    def product_in(sizes):
        product = ProductFactory(variants=[{"options": {"Size": size}} for size in sizes])
        ProductImage.objects.create(product=product, external_url="https://images.example.com/1.jpg")
        return product

    assert page_queries(product_in("SM")) == page_queries(product_in("SMLXY"))


# --- The product's price ----------------------------------------------------------------------------------


def test_the_price_is_read_only_with_several_variants_and_an_input_with_one(admin_client):
    tee, mug = _tee(), ProductFactory(price=Decimal("9.00"))

    tee_page = admin_client.get(_change_url(tee)).content.decode()
    mug_page = admin_client.get(_change_url(mug)).content.decode()

    assert 'name="price"' not in tee_page and "20.00 – 24.00 USD" in tee_page
    assert 'name="price" value="9.00"' in mug_page


def test_a_posted_product_price_leaves_a_multi_variant_product_alone(admin_client):
    tee = _tee()

    response = admin_client.post(_change_url(tee), _post_body(tee, price="1.00", description="Edited"))

    assert response.status_code == 302
    tee.refresh_from_db()
    assert (tee.description, tee.price, tee.price_max) == ("Edited", Decimal("20.00"), Decimal("24.00"))
    assert sorted(tee.variants.values_list("price", flat=True)) == [Decimal("20.00"), Decimal("24.00")]


def test_the_one_form_products_price_goes_to_its_variant(admin_client):
    mug = ProductFactory(price=Decimal("9.00"))

    response = admin_client.post(_change_url(mug), _post_body(mug, price="11.00"))

    assert response.status_code == 302
    mug.refresh_from_db()
    assert (mug.price, mug.variants.get().price) == (Decimal("11.00"), Decimal("11.00"))


def test_the_list_shows_a_price_range_and_variant_counts_and_offers_no_price_input_for_them(admin_client):
    tee, mug = _tee(), ProductFactory(name="Mug", price=Decimal("9.00"))
    ProductVariant.objects.create(
        product=tee, sku="TEE-XL", price=Decimal("30"), options={"Size": "XL"}, is_active=False
    )

    html = admin_client.get(reverse("admin:products_product_changelist")).content.decode()

    tee_row = html.split(f'value="{tee.pk}" class="action-select"')[1].split("</tr>")[0]
    mug_row = html.split(f'value="{mug.pk}" class="action-select"')[1].split("</tr>")[0]
    assert "20.00 – 24.00 USD" in tee_row and "<input" not in tee_row.split("field-price")[1].split("</td>")[0]
    assert '<td class="field-variant_summary">2 (+1 off sale)</td>' in tee_row
    assert 'value="9.00"' in mug_row and '<td class="field-variant_summary">1</td>' in mug_row


def test_a_list_edit_of_a_multi_variant_products_price_changes_nothing(admin_client):
    tee = _tee()
    mug = ProductFactory(price=Decimal("9.00"))

    response = admin_client.post(
        reverse("admin:products_product_changelist"),
        {
            "form-TOTAL_FORMS": "2",
            "form-INITIAL_FORMS": "2",
            "form-0-id": str(tee.pk),
            "form-0-price": "1.00",  # a forged or stale row: the page offers no input for it
            "form-1-id": str(mug.pk),
            "form-1-price": "10.00",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    tee.refresh_from_db()
    mug.refresh_from_db()
    assert (tee.price, tee.price_max) == (Decimal("20.00"), Decimal("24.00"))
    assert sorted(tee.variants.values_list("price", flat=True)) == [Decimal("20.00"), Decimal("24.00")]
    assert (mug.price, mug.variants.get().price) == (Decimal("10.00"), Decimal("10.00"))


def test_the_admin_save_service_recomputes_a_multi_variant_products_price():
    """The last line behind the list and the form: whatever price the admin's copy of the product holds,
    the saved one is the variants'."""
    tee = _tee()
    tee.price = Decimal("1.00")

    services.product_save_from_admin(product=tee, changed=["price"])

    assert (tee.price, Product.objects.get(pk=tee.pk).price) == (Decimal("20.00"), Decimal("20.00"))
    assert sorted(tee.variants.values_list("price", flat=True)) == [Decimal("20.00"), Decimal("24.00")]


# --- Who may do what ---------------------------------------------------------------------------------------


def test_support_sees_the_variants_read_only_without_adjust_links(client):
    tee = _tee()
    client.force_login(staff_in(SUPPORT))

    html = client.get(_change_url(tee)).content.decode()

    assert 'id="variants-group"' in html
    assert "TEE-S" in html and "Size" in html
    assert not re.search(r'name="variants-\d+-(sku|price|options)"', html)
    assert "adjust-stock" not in html
    assert 'name="variants-MAX_NUM_FORMS" value="0"' in html  # no row to add


def test_a_catalog_manager_edits_variants(client):
    tee = _tee()
    client.force_login(staff_in(CATALOG_MANAGERS))
    small = tee.variants.get(sku="TEE-S")

    html = client.get(_change_url(tee)).content.decode()
    response = client.post(_change_url(tee), _post_body(tee, changes={small.pk: {"price": "21.00"}}))

    adjust_url = reverse("admin:products_product_adjust_variant_stock", args=[tee.pk, small.pk])
    assert 'name="variants-0-price"' in html and adjust_url in html
    assert response.status_code == 302
    assert ProductVariant.objects.get(pk=small.pk).price == Decimal("21.00")


def test_staff_who_may_change_products_but_not_adjust_stock_edit_variants_without_adjust_links(client):
    tee = _tee()
    editor = StaffFactory(roles=())
    editor.user_permissions.set(
        Permission.objects.filter(content_type__app_label="products", codename__in=["view_product", "change_product"])
    )
    client.force_login(editor)
    small = tee.variants.get(sku="TEE-S")

    html = client.get(_change_url(tee)).content.decode()
    response = client.post(_change_url(tee), _post_body(tee, changes={small.pk: {"price": "21.00"}}))

    assert 'name="variants-0-price"' in html
    assert "adjust-stock" not in html and "Adjust" not in html
    assert response.status_code == 302
    assert ProductVariant.objects.get(pk=small.pk).price == Decimal("21.00")


def test_the_formset_never_saves_a_variant_itself():
    tee = _tee()
    formset_class = inlineformset_factory(Product, ProductVariant, form=VariantInlineForm, formset=VariantInlineFormSet)
    formset = formset_class(instance=tee)

    with pytest.raises(NotImplementedError):
        formset.save_new(None)
    with pytest.raises(NotImplementedError):
        formset.save_existing(None, tee.variants.first())
    with pytest.raises(ValueError):
        formset.save(commit=False)
