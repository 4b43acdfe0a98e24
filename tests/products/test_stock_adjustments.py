"""Stock moves only by signed adjustments (issue: the admin's lost update that oversold)."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from novacart.exceptions import Conflict
from novacart.permissions import SUPPORT
from orders.models import Order
from orders.services import order_place_from_cart
from products.models import Product, ProductVariant, StockMovement
from products.services import product_stock_adjust
from tests.concurrency import run_concurrently
from tests.conftest import requires_postgres
from tests.factories import AddressFactory, ProductFactory, StaffFactory, UserFactory
from tests.orders.helpers import fill_cart, place_order
from tests.products.utils import admin_product_form

pytestmark = pytest.mark.django_db


def _url(product):
    return f"/api/products/{product.pk}/stock-adjustments/"


def test_an_adjustment_adds_to_the_stock_and_is_recorded(staff_client):
    product = ProductFactory(stock=5)

    response = staff_client.post(_url(product), {"delta": 20, "reason": " received "}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["delta"], body["reason"], body["stock_after"]) == (20, "received", 25)
    assert body["actor"].endswith("@example.com") and body["created_at"]
    product.refresh_from_db()
    assert product.stock == 25
    movement = StockMovement.objects.get(product=product)
    assert (movement.delta, movement.stock_after, movement.actor.email) == (20, 25, body["actor"])


def test_adjustments_are_listed_newest_first(staff_client):
    product = ProductFactory(stock=5)
    staff_client.post(_url(product), {"delta": 3, "reason": "received"}, format="json")
    staff_client.post(_url(product), {"delta": -2, "reason": "damaged"}, format="json")

    response = staff_client.get(_url(product))

    assert response.status_code == 200
    assert [(m["delta"], m["reason"], m["stock_after"]) for m in response.json()["results"]] == [
        (-2, "damaged", 6),
        (3, "received", 8),
    ]


def test_removing_more_than_is_in_stock_is_a_409_and_changes_nothing(staff_client):
    product = ProductFactory(stock=2)

    response = staff_client.post(_url(product), {"delta": -3, "reason": "damaged"}, format="json")

    assert response.status_code == 409
    assert [(e["code"], e["attr"]) for e in response.json()["errors"]] == [("out_of_stock", "delta")]
    product.refresh_from_db()
    assert product.stock == 2
    assert not StockMovement.objects.exists()


@pytest.mark.parametrize(
    "body,code,attr",
    [
        ({"delta": 0, "reason": "nothing"}, "min_value", "delta"),
        ({"delta": 5, "reason": "   "}, "blank", "reason"),
        ({"delta": 5}, "required", "reason"),
        ({"reason": "received"}, "required", "delta"),
        ({"delta": "lots", "reason": "received"}, "invalid", "delta"),
        ({"delta": 10**10, "reason": "received"}, "max_value", "delta"),
    ],
)
def test_a_malformed_adjustment_is_a_400(staff_client, body, code, attr):
    product = ProductFactory(stock=2)

    response = staff_client.post(_url(product), body, format="json")

    assert response.status_code == 400
    assert (response.json()["errors"][0]["code"], response.json()["errors"][0]["attr"]) == (code, attr)
    product.refresh_from_db()
    assert product.stock == 2
    assert not StockMovement.objects.exists()


def test_an_unknown_product_is_a_404(staff_client):
    response = staff_client.post("/api/products/999999/stock-adjustments/", {"delta": 1, "reason": "x"}, format="json")

    assert response.status_code == 404


def test_the_admin_change_form_leaves_stock_that_a_checkout_took(admin_client):
    """55 in stock, an order takes 2, staff save a description edit from the form they opened before:
    stock stays 53."""
    product = ProductFactory(stock=55, price=Decimal("10.00"))
    url = reverse("admin:products_product_change", args=[product.pk])
    form = admin_client.get(url)
    assert b"Adjust stock" in form.content
    place_order(UserFactory(), lines=[(product, 2)])

    # A form from before the order would carry its stock (55) back.
    response = admin_client.post(url, admin_product_form(product, description="A new description", stock="55"))

    assert response.status_code == 302, response.content[:3000]
    product.refresh_from_db()
    assert (product.description, product.stock) == ("A new description", 53)


def test_the_admin_adjusts_stock_through_the_service_and_shows_the_record(admin_client):
    product = ProductFactory(stock=4)
    url = reverse("admin:products_product_adjust_stock", args=[product.pk])

    refused = admin_client.post(url, {"delta": "-5", "reason": "damaged", "seen_movement": "0"})
    done = admin_client.post(url, {"delta": "20", "reason": "received", "seen_movement": "0"}, follow=True)

    assert refused.status_code == 200 and b"Only 4 in stock" in refused.content
    assert done.status_code == 200
    assert b"Stock of" in done.content and b"+20 (received), now 24" in done.content
    assert b"received" in admin_client.get(reverse("admin:products_stockmovement_changelist")).content
    product.refresh_from_db()
    assert product.stock == 24


def test_a_double_submitted_adjustment_is_applied_once(admin_client):
    product = ProductFactory(stock=4)
    url = reverse("admin:products_product_adjust_stock", args=[product.pk])
    page = admin_client.get(url).content.decode()
    seen = re.search(r'name="seen_movement" value="(\d+)"', page).group(1)
    form = {"delta": "20", "reason": "received", "seen_movement": seen}

    first = admin_client.post(url, form)
    again = admin_client.post(url, form)  # a double click, or the browser's resend

    assert first.status_code == 302
    assert again.status_code == 200
    assert "The stock was adjusted since this page was shown (now 24); nothing was changed." in again.content.decode()
    product.refresh_from_db()
    assert product.stock == 24
    [movement] = StockMovement.objects.filter(product=product)
    # The refusal shows what is recorded now, so submitting once more is a deliberate second adjustment.
    assert f'name="seen_movement" value="{movement.pk}"' in again.content.decode()


def test_an_adjustment_post_without_what_the_page_showed_changes_nothing(admin_client):
    product = ProductFactory(stock=4)
    url = reverse("admin:products_product_adjust_stock", args=[product.pk])

    for seen in ({}, {"seen_movement": "abc"}, {"seen_movement": "99999999999999999999"}):
        response = admin_client.post(url, {"delta": "20", "reason": "received", **seen})
        assert response.status_code == 200

    product.refresh_from_db()
    assert product.stock == 4 and not StockMovement.objects.filter(product=product).exists()


def test_staff_without_the_adjust_permission_cannot_adjust_in_the_admin(client):
    viewer = StaffFactory(roles=(SUPPORT,))  # sees products, may not adjust their stock
    client.force_login(viewer)
    product = ProductFactory(stock=4)

    response = client.post(reverse("admin:products_product_adjust_stock", args=[product.pk]), {"delta": "5"})

    assert response.status_code == 403
    product.refresh_from_db()
    assert product.stock == 4


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_adjustments_and_checkouts_at_once_lose_nothing():
    """Ten checkouts of one unit and ten "+1 received" at once: stock ends where it started, and every
    movement's stock_after is a value the product really had."""
    product = ProductFactory(stock=10)
    staff = StaffFactory()
    buyers = [UserFactory() for _ in range(10)]
    for buyer in buyers:
        fill_cart(buyer, (product, 1))
    addresses = {buyer.pk: AddressFactory(user=buyer).pk for buyer in buyers}

    def checkout(buyer):
        return lambda: order_place_from_cart(user=buyer, address_id=addresses[buyer.pk], payment_method="cod")

    def receive():
        return product_stock_adjust(product_id=product.pk, delta=1, reason="received", actor=staff)

    results, errors = run_concurrently(*[checkout(b) for b in buyers], *[receive for _ in range(10)])

    assert errors == []
    product.refresh_from_db()
    assert product.stock == 10
    assert Order.objects.count() == 10
    assert sorted(m.stock_after for m in StockMovement.objects.all()) == sorted(
        m.stock_after for m in results if isinstance(m, StockMovement)
    )
    assert all(0 < m.stock_after <= 20 for m in StockMovement.objects.all())


def test_the_service_refuses_to_go_below_zero():
    product = ProductFactory(stock=1)

    with pytest.raises(Conflict):
        product_stock_adjust(product_id=product.pk, delta=-2, reason="damaged")
    assert Product.objects.get(pk=product.pk).stock == 1


# --- The admin, per variant (issue 16) ------------------------------------------------------------------


def _tee() -> Product:
    """A T-shirt in S (20.00, 3 in stock) and M (24.00, 5 in stock)."""
    return ProductFactory(
        name="Tee",
        sku="TEE",
        variants=[
            {"sku": "TEE-S", "options": {"Size": "S"}, "price": Decimal("20.00"), "stock": 3},
            {"sku": "TEE-M", "options": {"Size": "M"}, "price": Decimal("24.00"), "stock": 5},
        ],
    )


def _adjust_url(product, variant=None) -> str:
    if variant is None:
        return reverse("admin:products_product_adjust_stock", args=[product.pk])
    return reverse("admin:products_product_adjust_variant_stock", args=[product.pk, variant.pk])


def _seen(html: str) -> str:
    return re.search(r'name="seen_movement" value="(\d+)"', html).group(1)


def test_a_multi_variant_products_adjust_page_asks_which_variant(admin_client):
    tee = _tee()
    retired = ProductVariant.objects.create(product=tee, sku="TEE-XL", price=Decimal("26"), name="XL", is_active=False)

    page = admin_client.get(_adjust_url(tee))
    posted = admin_client.post(_adjust_url(tee), {"delta": "5", "reason": "received", "seen_movement": "0"})

    html = page.content.decode()
    assert page.status_code == 200
    for variant in (*tee.variants.filter(is_active=True), retired):
        assert _adjust_url(tee, variant) in html
    assert "<td>3</td>" in html and "<td>5</td>" in html and "no (off sale)" in html
    assert posted.status_code == 200
    assert "This product comes in several variants: choose the one to adjust." in posted.content.decode()
    assert tee.variants.get(sku="TEE-S").stock == 3 and not StockMovement.objects.exists()


def test_a_variant_is_adjusted_on_its_own_and_the_product_stock_follows(admin_client):
    tee = _tee()
    medium = tee.variants.get(sku="TEE-M")

    page = admin_client.get(_adjust_url(tee, medium)).content.decode()
    done = admin_client.post(
        _adjust_url(tee, medium), {"delta": "20", "reason": "received", "seen_movement": _seen(page)}, follow=True
    )

    assert "Adjust stock: Tee – M" in page and "<strong>5</strong>" in page
    assert "Stock of Tee – M: +20 (received), now 25." in done.content.decode()
    medium.refresh_from_db()
    tee.refresh_from_db()
    assert (medium.stock, tee.variants.get(sku="TEE-S").stock, tee.stock) == (25, 3, 28)
    movement = StockMovement.objects.get()
    assert (movement.variant, movement.product, movement.stock_after) == (medium, tee, 25)
    # The product page's movements say which variant moved.
    movements = done.content.decode().split('id="stock_movements-group"')[1]
    assert "M (TEE-M)" in movements


def test_a_double_submitted_variant_adjustment_is_applied_once_and_other_variants_are_not_blocked(admin_client):
    tee = _tee()
    small, medium = tee.variants.get(sku="TEE-S"), tee.variants.get(sku="TEE-M")
    small_form = {
        "delta": "2",
        "reason": "received",
        "seen_movement": _seen(admin_client.get(_adjust_url(tee, small)).content.decode()),
    }
    medium_form = {
        "delta": "1",
        "reason": "received",
        "seen_movement": _seen(admin_client.get(_adjust_url(tee, medium)).content.decode()),
    }

    first = admin_client.post(_adjust_url(tee, small), small_form)
    again = admin_client.post(_adjust_url(tee, small), small_form)
    other = admin_client.post(_adjust_url(tee, medium), medium_form)  # its page was shown before S moved

    assert (first.status_code, again.status_code, other.status_code) == (302, 200, 302)
    html = again.content.decode()
    assert "The stock was adjusted since this page was shown (now 5); nothing was changed." in html
    latest = StockMovement.objects.filter(variant=small).get()
    assert f'name="seen_movement" value="{latest.pk}"' in html
    assert dict(tee.variants.values_list("sku", "stock")) == {"TEE-S": 5, "TEE-M": 6}


def test_a_one_form_products_stock_is_adjusted_from_either_url(admin_client):
    mug = ProductFactory(name="Mug", stock=4)
    only = mug.variants.get()

    first = admin_client.post(_adjust_url(mug), {"delta": "1", "reason": "received", "seen_movement": "0"})
    movement = StockMovement.objects.get()
    second = admin_client.post(
        _adjust_url(mug, only), {"delta": "2", "reason": "received", "seen_movement": str(movement.pk)}, follow=True
    )

    assert first.status_code == 302
    assert "Stock of Mug: +2 (received), now 7." in second.content.decode()
    assert Product.objects.get(pk=mug.pk).stock == 7


def test_a_variant_of_another_product_is_a_404(admin_client):
    tee, mug = _tee(), ProductFactory()

    response = admin_client.post(
        _adjust_url(mug, tee.variants.first()), {"delta": "1", "reason": "x", "seen_movement": "0"}
    )

    assert response.status_code == 404
    assert not StockMovement.objects.exists()


def test_staff_who_may_change_products_but_not_adjust_stock_get_a_403_for_every_variant(client):
    tee = _tee()
    editor = StaffFactory(roles=())
    editor.user_permissions.set(
        Permission.objects.filter(content_type__app_label="products", codename__in=["view_product", "change_product"])
    )
    client.force_login(editor)
    medium = tee.variants.get(sku="TEE-M")

    html = client.get(reverse("admin:products_product_change", args=[tee.pk])).content.decode()
    refused = client.post(_adjust_url(tee, medium), {"delta": "5", "reason": "received", "seen_movement": "0"})

    assert "adjust-stock" not in html and "Adjust stock" not in html
    assert refused.status_code == 403
    assert client.get(_adjust_url(tee)).status_code == 403
    assert ProductVariant.objects.get(pk=medium.pk).stock == 5 and not StockMovement.objects.exists()
