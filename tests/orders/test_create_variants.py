"""Checkout by variant: stock is locked, checked and moved per variant; order items snapshot it."""

from decimal import Decimal

import pytest

from orders.models import OrderItem, OrderStatus
from orders.services import order_transition
from orders.transitions import Actor
from products.models import Product
from tests.factories import AddressFactory, ProductFactory, set_stock

from .helpers import fill_cart

pytestmark = pytest.mark.django_db

URL = "/api/orders/create/"


@pytest.fixture
def tee():
    return ProductFactory(
        name="Tee",
        sku="TEE",
        variants=[
            {"sku": "TEE-M-RED", "options": {"Size": "M", "Colour": "Red"}, "price": Decimal("20.00"), "stock": 5},
            {"sku": "TEE-L-RED", "options": {"Size": "L", "Colour": "Red"}, "price": Decimal("22.00"), "stock": 5},
        ],
    )


def _order(client, user):
    address = AddressFactory(user=user)
    return client.post(URL, {"shipping_address_id": address.pk, "payment_method": "card"}, format="json")


def test_an_order_takes_stock_from_each_variant_and_snapshots_it(user, user_client, tee):
    medium, large = tee.variants.order_by("position")
    lamp = ProductFactory(name="Lamp", sku="LAMP", price=Decimal("10.00"), stock=4)
    fill_cart(user, (medium, 2), (large, 1), (lamp, 1))

    response = _order(user_client, user)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total"] == "72.00"
    items = {item["sku"]: item for item in body["items"]}
    assert items["TEE-M-RED"] == {
        **items["TEE-M-RED"],
        "product": tee.pk,
        "variant_id": medium.pk,
        "name": "Tee",
        "variant_name": "M / Red",
        "options": {"Size": "M", "Colour": "Red"},
        "unit_price": "20.00",
        "quantity": 2,
    }
    assert items["LAMP"]["variant_name"] == "" and items["LAMP"]["options"] == {}
    medium.refresh_from_db()
    large.refresh_from_db()
    assert (medium.stock, large.stock) == (3, 4)
    assert Product.objects.get(pk=tee.pk).stock == 7
    assert Product.objects.get(pk=lamp.pk).stock == 3


def test_the_snapshot_survives_a_later_edit_of_the_variant(user, user_client, tee):
    medium = tee.variants.get(sku="TEE-M-RED")
    fill_cart(user, (medium, 1))
    order_id = _order(user_client, user).json()["id"]
    medium.sku, medium.price, medium.options = "TEE-M-CRIMSON", Decimal("99.00"), {"Size": "M", "Colour": "Crimson"}
    medium.save()

    item = user_client.get(f"/api/orders/{order_id}/").json()["items"][0]

    assert (item["sku"], item["unit_price"], item["variant_name"]) == ("TEE-M-RED", "20.00", "M / Red")


def test_out_of_stock_names_the_variant_and_changes_nothing(user, user_client, tee):
    medium, large = tee.variants.order_by("position")
    set_stock(large, 0)
    fill_cart(user, (medium, 1), (large, 2))

    response = _order(user_client, user)

    assert response.status_code == 409
    assert response.json()["errors"] == [
        {
            "code": "out_of_stock",
            "detail": "Only 0 of Tee (L / Red, TEE-L-RED) available; you asked for 2.",
            "attr": f"items.{tee.pk}",
        }
    ]
    medium.refresh_from_db()
    assert medium.stock == 5
    assert not OrderItem.objects.exists()


def test_a_variant_taken_off_sale_is_product_unavailable(user, user_client, tee):
    medium, large = tee.variants.order_by("position")
    fill_cart(user, (large, 1))
    large.is_active = False
    large.save()

    response = _order(user_client, user)

    assert response.status_code == 409
    assert [e["code"] for e in response.json()["errors"]] == ["product_unavailable"]


def test_cancelling_puts_the_stock_back_on_each_variant(user, user_client, tee):
    medium, large = tee.variants.order_by("position")
    fill_cart(user, (medium, 2), (large, 3))
    order_id = _order(user_client, user).json()["id"]

    order_transition(order_id=order_id, to_status=OrderStatus.CANCELLED, actor=Actor.CUSTOMER)

    medium.refresh_from_db()
    large.refresh_from_db()
    assert (medium.stock, large.stock) == (5, 5)
    assert Product.objects.get(pk=tee.pk).stock == 10
