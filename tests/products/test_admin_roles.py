"""The catalog admin as each staff role uses it (issue 14): what each sees (status, buttons, messages)
and the database after. Catalog managers do all catalog work, Support looks and changes nothing,
staff without a role are refused, superusers do everything."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from novacart.permissions import CATALOG_MANAGERS, SUPPORT
from products.admin import ProductAdmin
from products.models import Category, Product, ProductImage, Review, StockMovement
from tests.factories import CategoryFactory, ProductFactory, ReviewFactory, StaffFactory, staff_in
from tests.products.utils import LIST_URL, admin_product_form, image_bytes, result_ids

pytestmark = pytest.mark.django_db

ROLES = {
    "catalog": lambda: staff_in(CATALOG_MANAGERS),
    "support": lambda: staff_in(SUPPORT),
    "no-role": lambda: StaffFactory(roles=()),
    "superuser": lambda: StaffFactory(roles=(), is_superuser=True),
}
CAN_CHANGE = {"catalog", "superuser"}
PRODUCT_ACTIONS = ["feature", "unfeature", "deactivate", "activate"]


@pytest.fixture(params=list(ROLES))
def role(request):
    return request.param


def _signed_in(client, role):
    client.force_login(ROLES[role]())
    return client


def _post_action(client, model, action, ids):
    return client.post(
        reverse(f"admin:products_{model}_changelist"),
        {"action": action, "_selected_action": [str(i) for i in ids]},
        follow=True,
    )


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


# --- The product list and its actions ---------------------------------------------------------


def test_the_product_list_and_its_action_buttons_by_role(client, role):
    ProductFactory(name="Blue Mug", price=Decimal("1019.99"))
    _signed_in(client, role)

    response = client.get(reverse("admin:products_product_changelist"))

    if role == "no-role":
        assert response.status_code == 403
        return
    assert response.status_code == 200
    html = response.content.decode()
    assert "Blue Mug" in html
    action_form = response.context["action_form"]
    offered = {value for value, _ in action_form.fields["action"].choices if value} if action_form else set()
    if role in CAN_CHANGE:
        assert set(PRODUCT_ACTIONS) <= offered
        assert 'name="form-0-price"' in html  # the price is editable on the list
    else:
        assert offered == set()
        assert 'name="form-0-price"' not in html
        assert "1,019.99 USD" in html  # a price staff only read is shown as money


@pytest.mark.parametrize("action", PRODUCT_ACTIONS)
def test_each_product_action_by_role_changes_only_what_that_role_may(client, role, action):
    product = ProductFactory(is_featured=action == "unfeature", is_active=action != "activate")
    before = Product.objects.values("is_featured", "is_active").get(pk=product.pk)
    _signed_in(client, role)

    response = _post_action(client, "product", action, [product.pk])

    after = Product.objects.values("is_featured", "is_active").get(pk=product.pk)
    if role in CAN_CHANGE:
        assert response.status_code == 200
        assert after != before
        assert any(message.startswith("1 product(s) ") for message in _messages(response))
    elif role == "support":
        # No action is offered to Support, so a forged post just shows the list again.
        assert response.status_code == 200
        assert 'name="action"' not in response.content.decode()
        assert after == before
    else:
        assert response.status_code == 403
        assert after == before


def test_reactivating_products_in_bulk_goes_through_the_service_and_refreshes_the_catalog(client):
    hidden = ProductFactory.create_batch(2, is_active=False)
    shown = ProductFactory()
    assert result_ids(client.get(LIST_URL)) == [shown.pk]  # the anonymous list, now cached
    _signed_in(client, "catalog")

    response = _post_action(client, "product", "activate", [*[p.pk for p in hidden], shown.pk])

    assert "2 product(s) re-activated (1 already were)." in _messages(response)
    assert set(Product.objects.values_list("is_active", flat=True)) == {True}
    client.logout()
    assert sorted(result_ids(client.get(LIST_URL))) == sorted([shown.pk, *[p.pk for p in hidden]])


# --- Stock adjustment ---------------------------------------------------------------------------


def test_the_adjust_stock_link_is_shown_only_to_who_may_adjust(client, role):
    product = ProductFactory(stock=7)
    _signed_in(client, role)

    response = client.get(reverse("admin:products_product_change", args=[product.pk]))

    if role == "no-role":
        assert response.status_code == 403
        return
    assert response.status_code == 200
    html = response.content.decode()
    adjust_url = reverse("admin:products_product_adjust_stock", args=[product.pk])
    assert (adjust_url in html) is (role in CAN_CHANGE)
    assert ("Adjust stock…" in html) is (role in CAN_CHANGE)
    assert re.search(r"<label>Stock:</label>\s*<div class=\"readonly\">7", html)  # everyone sees the stock


def test_the_adjust_stock_page_by_role(client, role):
    product = ProductFactory(stock=7)
    url = reverse("admin:products_product_adjust_stock", args=[product.pk])
    _signed_in(client, role)

    page = client.get(url)
    done = client.post(url, {"delta": "5", "reason": "received", "seen_movement": "0"})

    product.refresh_from_db()
    if role in CAN_CHANGE:
        assert page.status_code == 200
        assert done.status_code == 302
        assert product.stock == 12
        assert StockMovement.objects.get(product=product).delta == 5
    else:
        assert (page.status_code, done.status_code) == (403, 403)
        assert product.stock == 7
        assert not StockMovement.objects.exists()


def test_the_adjust_stock_page_refuses_before_saying_whether_a_product_exists(client):
    _signed_in(client, "support")

    assert client.get(reverse("admin:products_product_adjust_stock", args=[999999])).status_code == 403


# --- Thumbnails ---------------------------------------------------------------------------------


def _stored_image(product, *, alt_text="A blue mug", position=0) -> ProductImage:
    image = ProductImage(product=product, alt_text=alt_text, position=position)
    image.image.save("mug.png", ContentFile(image_bytes("PNG")), save=True)
    return image


def test_the_product_list_shows_a_thumbnail_from_the_media_storage(admin_client):
    product = ProductFactory(name="Blue Mug")
    second = _stored_image(product, alt_text="The back", position=1)
    first = _stored_image(product, alt_text="", position=0)
    bare = ProductFactory(name="No Photo")

    html = admin_client.get(reverse("admin:products_product_changelist")).content.decode()

    assert f'<img src="{first.image.url}" alt="Blue Mug" class="product-thumbnail" width="48" height="48"' in html
    assert first.image.url.startswith("/media/products/")  # the configured storage, no other host
    assert second.image.url not in html  # one thumbnail: the first in gallery order
    row = html.split(f">{bare.name}<")[0].rsplit("<tr", 1)[1]
    assert 'class="field-thumbnail">-</td>' in row


def test_thumbnails_cost_the_same_queries_whatever_the_page_size(admin_client):
    def list_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(reverse("admin:products_product_changelist")).status_code == 200
        return len(captured)

    _stored_image(ProductFactory())
    one = list_queries()
    for _ in range(5):
        _stored_image(ProductFactory())

    assert list_queries() == one


def test_the_images_inline_previews_each_stored_image_with_its_alt_text(admin_client):
    product = ProductFactory()
    image = _stored_image(product, alt_text="A blue mug")

    html = admin_client.get(reverse("admin:products_product_change", args=[product.pk])).content.decode()

    assert f'<img src="{image.image.url}" alt="A blue mug" class="product-thumbnail"' in html


def test_an_image_with_only_an_external_url_previews_that_url(admin_client):
    product = ProductFactory()
    ProductImage.objects.create(product=product, external_url="https://images.example.com/1.jpg", alt_text="x")

    html = admin_client.get(reverse("admin:products_product_change", args=[product.pk])).content.decode()

    assert '<img src="https://images.example.com/1.jpg" alt="x"' in html


# --- Small screens ------------------------------------------------------------------------------


def test_on_a_phone_the_product_list_keeps_name_price_and_stock():
    """The CSS the product admin loads hides, under 768 pixels, exactly the columns that are not name,
    price or stock (header and cells), so a 390-pixel-wide screen shows those three."""
    css_path = Path(__file__).resolve().parents[2] / "products/static/products/admin/products.css"
    css = css_path.read_text()
    media = re.search(r"@media \(max-width: 767px\) \{(.*?)\n\}", css, re.S)
    assert media, "no small-screen block"
    hidden_headers = set(re.findall(r"#result_list \.column-(\w+)", media.group(1)))
    hidden_cells = set(re.findall(r"#result_list \.field-(\w+)", media.group(1)))
    expected = set(ProductAdmin.list_display) - {"name", "price", "stock"}
    assert hidden_headers == hidden_cells == expected
    assert "display: none" in media.group(1)


def test_the_product_pages_load_the_small_screen_css(admin_client):
    product = ProductFactory()

    for url in (
        reverse("admin:products_product_changelist"),
        reverse("admin:products_product_change", args=[product.pk]),
    ):
        assert "/static/products/admin/products.css" in admin_client.get(url).content.decode()


# --- Friendly constraint messages -------------------------------------------------------------


def test_a_price_of_zero_on_the_change_form_says_so_in_plain_words(admin_client):
    product = ProductFactory(price=Decimal("10.00"))

    response = admin_client.post(
        reverse("admin:products_product_change", args=[product.pk]), admin_product_form(product, price="0")
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Price must be positive (more than 0)." in html
    assert "Constraint" not in html and "product_price_positive" not in html
    product.refresh_from_db()
    assert product.price == Decimal("10.00")


def test_a_price_of_zero_on_the_list_says_so_and_saves_nothing(admin_client):
    product = ProductFactory(price=Decimal("10.00"))

    response = admin_client.post(
        reverse("admin:products_product_changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(product.id),
            "form-0-price": "-1",
            "_save": "Save",
        },
    )

    assert response.status_code == 200
    assert "Price must be positive (more than 0)." in response.content.decode()
    product.refresh_from_db()
    assert product.price == Decimal("10.00")


def _new_product_form(category, **fields):
    return {
        "name": "Admin Lamp",
        "sku": "ADM-1",
        "description": "",
        "price": "30.00",
        "stock": "4",
        "category": str(category.id),
        "is_active": "on",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"stock": "-1"}, "Stock cannot be negative."),
        ({"sku": "TAKEN"}, "A product with this SKU already exists."),
        ({"price": "0.00"}, "Price must be positive (more than 0)."),
    ],
    ids=["negative-stock", "taken-sku", "zero-price"],
)
def test_a_new_product_the_database_would_refuse_gets_a_plain_message(admin_client, fields, message):
    ProductFactory(sku="TAKEN")
    category = CategoryFactory()

    response = admin_client.post(reverse("admin:products_product_add"), _new_product_form(category, **fields))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert "Constraint" not in response.content.decode()
    assert Product.objects.count() == 1


def test_a_taken_category_slug_gets_a_plain_message(admin_client):
    CategoryFactory(slug="lamps")

    response = admin_client.post(
        reverse("admin:products_category_add"),
        {"name": "Lamps", "slug": "lamps", "parent": "", "description": "", "is_active": "on", "sort_order": "0"},
    )

    assert response.status_code == 200
    assert "A category with this slug already exists." in response.content.decode()
    assert Category.objects.count() == 1


# --- Deleting and retiring categories -------------------------------------------------------------


def test_deleting_a_category_that_holds_products_and_sub_categories_explains_why_not(admin_client):
    home = CategoryFactory(name="Home")
    ProductFactory.create_batch(2, category=home)
    CategoryFactory(parent=home)
    url = reverse("admin:products_category_delete", args=[home.pk])

    for response in (admin_client.get(url, follow=True), admin_client.post(url, {"post": "yes"}, follow=True)):
        assert response.status_code == 200
        assert response.redirect_chain[-1][0] == reverse("admin:products_category_change", args=[home.pk])
        assert _messages(response) == [
            "“Home” cannot be deleted: it still has 2 products and 1 sub-category. Move them to another "
            "category first, or deactivate this category instead (customers no longer see it in the category tree)."
        ]
    assert Category.objects.filter(pk=home.pk).exists()


def test_an_empty_category_is_deleted_after_the_usual_confirmation(admin_client):
    empty = CategoryFactory(name="Empty")
    url = reverse("admin:products_category_delete", args=[empty.pk])

    assert "Are you sure" in admin_client.get(url).content.decode()
    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Category.objects.filter(pk=empty.pk).exists()


def test_the_bulk_delete_refuses_all_when_one_category_still_holds_products(admin_client):
    busy = CategoryFactory(name="Busy")
    ProductFactory(category=busy)
    empty = CategoryFactory(name="Empty")

    for extra in ({}, {"post": "yes"}):  # the action, and its confirmation page's post
        response = admin_client.post(
            reverse("admin:products_category_changelist"),
            {"action": "delete_selected", "_selected_action": [busy.pk, empty.pk], **extra},
            follow=True,
        )
        assert response.status_code == 200
        assert _messages(response) == [
            "“Busy” cannot be deleted: it still has 1 product. Move them to another category first, "
            "or deactivate this category instead (customers no longer see it in the category tree).",
            "Nothing was deleted.",
        ]
    assert Category.objects.filter(pk__in=[busy.pk, empty.pk]).count() == 2


def test_the_bulk_delete_of_empty_categories_confirms_then_deletes(admin_client):
    empties = CategoryFactory.create_batch(2)
    ids = [c.pk for c in empties]
    url = reverse("admin:products_category_changelist")

    confirm = admin_client.post(url, {"action": "delete_selected", "_selected_action": ids})
    done = admin_client.post(url, {"action": "delete_selected", "_selected_action": ids, "post": "yes"}, follow=True)

    assert "Are you sure" in confirm.content.decode()
    assert done.status_code == 200
    assert not Category.objects.filter(pk__in=ids).exists()


def test_a_bulk_delete_is_all_or_nothing_when_a_category_fills_up_meanwhile(rf):
    """The confirmation was given for empty categories; one receives a product before the post: the
    others are not deleted either (the admin's delete_queryset runs in one transaction)."""
    from django.contrib.admin import site

    from novacart.exceptions import Conflict

    first, second = CategoryFactory(), CategoryFactory()
    ProductFactory(category=second)  # arrived after the check
    request = rf.post("/")
    request.user = StaffFactory(is_superuser=True)

    with pytest.raises(Conflict):
        site._registry[Category].delete_queryset(request, Category.objects.filter(pk__in=[first.pk, second.pk]))

    assert Category.objects.filter(pk__in=[first.pk, second.pk]).count() == 2


def test_category_delete_by_role(client, role):
    empty = CategoryFactory()
    _signed_in(client, role)

    response = client.post(reverse("admin:products_category_delete", args=[empty.pk]), {"post": "yes"})

    if role in CAN_CHANGE:
        assert response.status_code == 302
        assert not Category.objects.filter(pk=empty.pk).exists()
    else:
        assert response.status_code == 403
        assert Category.objects.filter(pk=empty.pk).exists()


@pytest.mark.parametrize(("action", "before", "after"), [("deactivate", True, False), ("activate", False, True)])
def test_category_activation_actions_by_role(client, role, action, before, after):
    category = CategoryFactory(is_active=before)
    _signed_in(client, role)

    response = _post_action(client, "category", action, [category.pk])

    category.refresh_from_db()
    if role in CAN_CHANGE:
        assert response.status_code == 200
        assert category.is_active is after
    else:
        # Support has no change permission on categories: the action is not offered; no role: 403.
        assert response.status_code == (200 if role == "support" else 403)
        assert category.is_active is before


def test_a_deactivated_category_leaves_the_tree_and_its_products_stay(client, admin_client):
    home = CategoryFactory(name="Home", slug="home")
    lamp = ProductFactory(category=home)

    _post_action(admin_client, "category", "deactivate", [home.pk])

    assert "home" not in {c["slug"] for c in client.get("/api/categories/").json()}
    assert result_ids(client.get(LIST_URL)) == [lamp.pk]


# --- Review moderation ------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["hide", "show"])
def test_review_moderation_by_role(client, role, action):
    review = ReviewFactory(is_visible=action == "hide")
    _signed_in(client, role)

    response = _post_action(client, "review", action, [review.pk])

    visible = Review.objects.get(pk=review.pk).is_visible
    if role in CAN_CHANGE:
        assert response.status_code == 200
        assert visible is (action == "show")
    else:
        # Support does not even see reviews (no permission on them); staff without a role neither.
        assert response.status_code == 403
        assert visible is (action == "hide")


def test_an_external_image_url_typed_without_a_scheme_is_stored_as_https(admin_client):
    product = ProductFactory()
    data = admin_product_form(product)
    data.update(
        {
            "images-TOTAL_FORMS": "1",
            "images-0-external_url": "images.example.com/mug.jpg",
            "images-0-alt_text": "A mug",
            "images-0-position": "0",
        }
    )

    response = admin_client.post(reverse("admin:products_product_change", args=[product.pk]), data)

    assert response.status_code == 302, response.content[:2000]
    assert ProductImage.objects.get(product=product).external_url == "https://images.example.com/mug.jpg"
