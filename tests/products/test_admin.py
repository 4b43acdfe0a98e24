from decimal import Decimal

import pytest
from django.urls import reverse

from products import services
from products.models import Category, Product, Review
from tests.factories import CategoryFactory, ProductFactory, UserFactory, WishlistItemFactory, set_stock
from tests.products.utils import admin_product_form

pytestmark = pytest.mark.django_db


def _action(client, model, action, ids):
    url = reverse(f"admin:products_{model}_changelist")
    return client.post(url, {"action": action, "_selected_action": [str(i) for i in ids]}, follow=True)


@pytest.mark.parametrize(
    "model",
    ["category", "product", "review", "wishlistitem"],
)
def test_changelists_load(admin_client, model):
    ProductFactory()
    WishlistItemFactory()

    assert admin_client.get(reverse(f"admin:products_{model}_changelist")).status_code == 200


@pytest.mark.parametrize("level,expected", [("in", {"a", "b"}), ("low", {"b"}), ("out", {"c"})])
def test_stock_level_filter(admin_client, settings, level, expected):
    settings.LOW_STOCK_THRESHOLD = 5
    ProductFactory(name="a", stock=50)
    ProductFactory(name="b", stock=2)
    ProductFactory(name="c", stock=0)

    response = admin_client.get(reverse("admin:products_product_changelist"), {"stock_level": level})

    assert {p.name for p in response.context["cl"].result_list} == expected


def test_search_by_sku(admin_client):
    ProductFactory(sku="FIND-ME")
    ProductFactory(sku="OTHER")

    response = admin_client.get(reverse("admin:products_product_changelist"), {"q": "find-me"})

    assert [p.sku for p in response.context["cl"].result_list] == ["FIND-ME"]


def test_feature_unfeature_and_deactivate_actions(admin_client):
    first, second = ProductFactory(), ProductFactory()

    _action(admin_client, "product", "feature", [first.id, second.id])
    assert set(Product.objects.values_list("is_featured", flat=True)) == {True}
    _action(admin_client, "product", "unfeature", [first.id])
    _action(admin_client, "product", "deactivate", [second.id])

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_featured, first.is_active) == (False, True)
    assert (second.is_featured, second.is_active) == (True, False)


def test_list_editable_price_leaves_stock_that_a_checkout_took(admin_client):
    """The lost update staff hit: the list page showed stock 15, an order took 3, a price edit was
    saved with the page's old stock in it. Stock must stay 12 (the admin never writes what it read)."""
    product = ProductFactory(price=Decimal("10.00"), stock=15)
    url = reverse("admin:products_product_changelist")
    admin_client.get(url)  # the page staff looked at: stock 15
    set_stock(product, 12)  # meanwhile a checkout took 3

    response = admin_client.post(
        url,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(product.id),
            "form-0-price": "12.00",
            "form-0-stock": "15",  # what an old form would have sent back
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("12.00"), 12)


def test_admin_add_product_generates_a_slug(admin_client):
    category = CategoryFactory()
    response = admin_client.post(
        reverse("admin:products_product_add"),
        {
            "name": "Admin Lamp",
            "sku": "ADM-1",
            "description": "",
            "price": "30.00",
            "stock": "4",
            "category": str(category.id),
            "is_active": "on",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content[:2000]
    assert Product.objects.get(sku="ADM-1").slug == "admin-lamp"


def test_review_moderation_recomputes_the_rating(admin_client):
    product = ProductFactory()
    good = services.review_create(product=product, user=UserFactory(), rating=5)
    bad = services.review_create(product=product, user=UserFactory(), rating=1)

    _action(admin_client, "review", "hide", [bad.id])
    product.refresh_from_db()
    assert (product.rating_avg, product.rating_count) == (Decimal("5.00"), 1)
    assert Review.objects.get(pk=bad.pk).is_visible is False

    _action(admin_client, "review", "show", [bad.id])
    product.refresh_from_db()
    assert (product.rating_avg, product.rating_count) == (Decimal("3.00"), 2)
    assert good.pk


def test_deleting_a_category_with_products_is_refused_not_a_500(admin_client):
    category = CategoryFactory(name="Busy", slug="busy")
    ProductFactory(category=category)

    response = admin_client.post(
        reverse("admin:products_category_delete", args=[category.id]), {"post": "yes"}, follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("admin:products_category_change", args=[category.id]), 302)]
    assert "“Busy” cannot be deleted: it still has 1 product." in response.content.decode()
    assert Category.objects.filter(slug="busy").exists()


def test_wishlist_is_read_only(admin_client):
    item = WishlistItemFactory()

    assert admin_client.get(reverse("admin:products_wishlistitem_add")).status_code == 403
    response = admin_client.post(reverse("admin:products_wishlistitem_delete", args=[item.id]), {"post": "yes"})
    assert response.status_code == 403


def test_admin_refuses_a_category_cycle_with_a_form_error(admin_client):
    root = CategoryFactory(name="Root", slug="root")
    child = CategoryFactory(name="Child", slug="child", parent=root)

    response = admin_client.post(
        reverse("admin:products_category_change", args=[root.id]),
        {
            "name": "Root",
            "slug": "root",
            "parent": str(child.id),
            "description": "",
            "is_active": "on",
            "sort_order": "0",
        },
    )

    assert response.status_code == 200
    assert "sub-categories" in response.content.decode()
    root.refresh_from_db()
    assert root.parent is None


def test_admin_image_upload_uses_the_same_validation(admin_client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from products.models import ProductImage

    from .utils import image_bytes

    settings.PRODUCT_IMAGE_MAX_PIXELS = 10
    product = ProductFactory()
    data = admin_product_form(
        product, image=SimpleUploadedFile("big.png", image_bytes("PNG", size=(8, 8)), "image/png")
    )

    response = admin_client.post(reverse("admin:products_product_change", args=[product.id]), data)

    assert response.status_code == 200
    assert "pixels" in response.content.decode()
    assert not ProductImage.objects.exists()


def test_admin_image_upload_counts_every_frame_of_an_animation(admin_client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from products.models import ProductImage

    from .test_images import _animation

    settings.PRODUCT_IMAGE_MAX_FRAMES = 3
    product = ProductFactory()
    data = admin_product_form(product, image=SimpleUploadedFile("a.gif", _animation("GIF", frames=4), "image/gif"))

    response = admin_client.post(reverse("admin:products_product_change", args=[product.id]), data)

    assert response.status_code == 200
    assert "more than 3 frames" in response.content.decode()
    assert not ProductImage.objects.exists()
