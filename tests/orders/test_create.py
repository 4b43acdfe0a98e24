"""POST /api/orders/create/: from the cart to a PENDING order, atomically."""

import re
from decimal import Decimal

import pytest
from django.core import mail

from cart.models import CartItem
from orders.models import Order, OrderItem, OrderStatus, OrderStatusChange
from products.models import Product, ProductVariant
from tests.factories import AddressFactory, ProductFactory, set_stock

from .helpers import fill_cart

URL = "/api/orders/create/"
pytestmark = pytest.mark.django_db


def _body(checkout, **overrides):
    return {"shipping_address_id": checkout["address"].pk, "payment_method": "card", **overrides}


def test_create_places_pending_order_from_cart(user_client, checkout, django_capture_on_commit_callbacks):
    mug, towel = checkout["products"]

    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(URL, _body(checkout), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    assert body["id"] == order.pk
    assert re.fullmatch(r"NC-\d{6}-[A-Z0-9]{6}", body["number"])
    assert body["status"] == "PENDING"
    assert body["payment_method"] == "card"
    assert body["currency"] == "usd"
    assert body["subtotal"] == "39.97"  # 2 x 12.50 + 3 x 4.99
    assert body["total"] == "39.97"
    assert [
        (i["product"], i["name"], i["sku"], i["unit_price"], i["quantity"], i["line_total"]) for i in body["items"]
    ] == [
        (mug.pk, "Blue Mug", "MUG-BLUE", "12.50", 2, "25.00"),
        (towel.pk, "Tea Towel", "TOWEL-1", "4.99", 3, "14.97"),
    ]
    assert body["shipping_address"]["full_name"] == "Ada Lovelace"
    assert body["shipping_address"]["city"] == "London"
    assert body["status_history"] == [
        {
            "from_status": "",
            "to_status": "PENDING",
            "actor": "customer",
            "note": "Order placed.",
            "created_at": body["status_history"][0]["created_at"],
        }
    ]
    assert body["paid_at"] is None and body["tracking_number"] == ""
    # stock taken, cart emptied
    assert Product.objects.get(pk=mug.pk).stock == 8
    assert Product.objects.get(pk=towel.pk).stock == 7
    assert not CartItem.objects.filter(cart=checkout["cart"]).exists()
    # the confirmation e-mail went out after commit
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [checkout["user"].email]
    assert order.number in message.subject and "confirmed" in message.subject
    assert "2 x Blue Mug (MUG-BLUE): 25.00 USD" in message.body
    assert "Total: 39.97 USD" in message.body
    assert "waiting for your payment" in message.body
    assert message.alternatives[0].mimetype == "text/html"
    assert "<strong>39.97 USD</strong>" in message.alternatives[0].content


def test_cod_order_confirmation_says_pay_on_delivery(user_client, checkout, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(URL, _body(checkout, payment_method="cod"), format="json")

    assert response.status_code == 201
    assert response.json()["payment_method"] == "cod"
    assert "you pay on delivery" in mail.outbox[0].body


def test_no_email_before_commit(user_client, checkout, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = user_client.post(URL, _body(checkout), format="json")

    assert response.status_code == 201
    assert mail.outbox == []
    assert len(callbacks) >= 1


def test_snapshots_survive_price_change_and_address_edit_and_delete(user_client, checkout):
    response = user_client.post(URL, _body(checkout), format="json")
    order_id = response.json()["id"]
    mug, _ = checkout["products"]

    Product.objects.filter(pk=mug.pk).update(name="Renamed Mug", sku="MUG-NEW")
    ProductVariant.objects.filter(product=mug).update(price=Decimal("99.00"), sku="MUG-NEW")
    address = checkout["address"]
    address.city = "Paris"
    address.full_name = "Someone Else"
    address.save()
    detail_after_edit = user_client.get(f"/api/orders/{order_id}/").json()
    address.delete()
    detail_after_delete = user_client.get(f"/api/orders/{order_id}/").json()

    for detail in (detail_after_edit, detail_after_delete):
        assert detail["items"][0]["unit_price"] == "12.50"
        assert detail["items"][0]["name"] == "Blue Mug"
        assert detail["items"][0]["sku"] == "MUG-BLUE"
        assert detail["total"] == "39.97"
        assert detail["shipping_address"]["city"] == "London"
        assert detail["shipping_address"]["full_name"] == "Ada Lovelace"


def test_empty_cart_is_400_and_creates_nothing(user, user_client):
    address = AddressFactory(user=user)
    fill_cart(user)

    response = user_client.post(URL, {"shipping_address_id": address.pk, "payment_method": "card"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "cart_empty"
    assert not Order.objects.exists()


def test_user_without_cart_is_cart_empty(user, user_client):
    address = AddressFactory(user=user)

    response = user_client.post(URL, {"shipping_address_id": address.pk, "payment_method": "cod"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "cart_empty"


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"payment_method": "card"}, "shipping_address_id"),
        ({"shipping_address_id": "abc", "payment_method": "card"}, "shipping_address_id"),
        ({"shipping_address_id": 1}, "payment_method"),
        ({"shipping_address_id": 1, "payment_method": "bitcoin"}, "payment_method"),
    ],
)
def test_invalid_body_is_400(user_client, checkout, body, attr):
    response = user_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert response.json()["errors"][0]["attr"] == attr
    assert not Order.objects.exists()


def test_other_users_address_is_404(user_client, checkout, other_user):
    foreign = AddressFactory(user=other_user)

    response = user_client.post(URL, _body(checkout, shipping_address_id=foreign.pk), format="json")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "address_not_found"
    assert not Order.objects.exists()
    assert CartItem.objects.filter(cart=checkout["cart"]).count() == 2


def test_unknown_address_is_404(user_client, checkout):
    response = user_client.post(URL, _body(checkout, shipping_address_id=999999), format="json")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "address_not_found"


def test_out_of_stock_names_every_short_product_and_changes_nothing(user_client, checkout):
    mug, towel = checkout["products"]
    plenty = ProductFactory(stock=50)
    fill_cart(checkout["user"], (plenty, 1))
    set_stock(mug, 1)
    set_stock(towel, 0)

    response = user_client.post(URL, _body(checkout), format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "client_error"
    assert body["errors"] == [
        {
            "code": "out_of_stock",
            "detail": "Only 1 of Blue Mug (MUG-BLUE) available; you asked for 2.",
            "attr": f"items.{mug.pk}",
        },
        {
            "code": "out_of_stock",
            "detail": "Only 0 of Tea Towel (TOWEL-1) available; you asked for 3.",
            "attr": f"items.{towel.pk}",
        },
    ]
    assert not Order.objects.exists()
    assert Product.objects.get(pk=mug.pk).stock == 1
    assert Product.objects.get(pk=plenty.pk).stock == 50
    assert CartItem.objects.filter(cart=checkout["cart"]).count() == 3


def test_inactive_product_is_409_product_unavailable(user_client, checkout):
    mug, towel = checkout["products"]
    Product.objects.filter(pk=towel.pk).update(is_active=False)

    response = user_client.post(URL, _body(checkout), format="json")

    assert response.status_code == 409
    assert response.json()["errors"] == [
        {
            "code": "product_unavailable",
            "detail": "Tea Towel (TOWEL-1) is no longer available; remove it from your cart.",
            "attr": f"items.{towel.pk}",
        }
    ]
    assert Product.objects.get(pk=mug.pk).stock == 10
    assert not Order.objects.exists()


def test_exact_stock_can_be_bought(user_client, checkout):
    mug, towel = checkout["products"]
    set_stock(mug, 2)

    response = user_client.post(URL, _body(checkout), format="json")

    assert response.status_code == 201
    assert Product.objects.get(pk=mug.pk).stock == 0


@pytest.mark.parametrize("target", ["status_change", "items"])
def test_failure_after_stock_update_leaves_nothing_behind(user_client, checkout, monkeypatch, target):
    mug, towel = checkout["products"]

    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    if target == "status_change":
        monkeypatch.setattr(OrderStatusChange.objects, "create", boom)
    else:
        monkeypatch.setattr(OrderItem.objects, "bulk_create", boom)

    with pytest.raises(RuntimeError):
        user_client.post(URL, _body(checkout), format="json")

    assert Product.objects.get(pk=mug.pk).stock == 10
    assert Product.objects.get(pk=towel.pk).stock == 10
    assert CartItem.objects.filter(cart=checkout["cart"]).count() == 2
    assert not Order.objects.exists()
    assert not OrderItem.objects.exists()
    assert not mail.outbox


def test_order_number_collision_draws_a_new_number(user, checkout, monkeypatch):
    from orders import services
    from tests.factories import OrderFactory

    OrderFactory(number="NC-260101-AAAAAA")
    numbers = iter(["NC-260101-AAAAAA", "NC-260101-BBBBBB"])
    monkeypatch.setattr(services, "order_number_generate", lambda **kw: next(numbers))

    order = services.order_place_from_cart(user=user, address_id=checkout["address"].pk, payment_method="card")

    assert order.number == "NC-260101-BBBBBB"
    assert Product.objects.get(pk=checkout["products"][0].pk).stock == 8


def test_anonymous_is_401(api_client, checkout):
    response = api_client.post(URL, _body(checkout), format="json")

    assert response.status_code == 401
    assert not Order.objects.exists()


def test_order_is_pending(user_client, checkout):
    user_client.post(URL, _body(checkout), format="json")

    assert Order.objects.get().status == OrderStatus.PENDING
