"""Mass assignment (OWASP API3, broken object property level authorisation): fields a client must
never set are ignored or refused on every endpoint that takes a body, and nothing they name changes.

Each test sends a valid body plus every forbidden field, then checks the database.
"""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from addresses.models import Address
from cart.models import CartItem
from orders.models import Order, OrderStatus
from payments.models import Payment, PaymentStatus
from products.models import Category, Product, Review, WishlistItem
from tests.conftest import auth_client
from tests.factories import DEFAULT_PASSWORD

from .conftest import FRONTEND

pytestmark = pytest.mark.usefixtures("payments_on")
User = get_user_model()
FAKE_ID = 987654


def forbidden(world) -> dict:
    """Everything a client must never decide, with values that would hurt if they were taken."""
    return {
        "is_staff": True,
        "is_superuser": True,
        "is_active": True,
        "user": world.other.pk,
        "user_id": world.other.pk,
        "price": "0.01",
        "unit_price": "0.01",
        "line_total": "0.01",
        "total": "0.01",
        "subtotal": "0.01",
        "amount": "0.01",
        "amount_minor": 1,
        "currency": "jpy",
        "status": "PAID",
        "stock": 999_999,
        "paid_at": "2020-01-01T00:00:00Z",
        "verified_purchase": True,
        "rating_avg": "5.00",
        "rating_count": 1000,
        "id": FAKE_ID,
        "pk": FAKE_ID,
    }


def _assert_plain_customer(user):
    user.refresh_from_db()
    assert not user.is_staff and not user.is_superuser


# --- Accounts --------------------------------------------------------------------------------------


def test_register_cannot_make_staff_or_choose_an_id(world, api_client):
    body = {**forbidden(world), "email": "mass@example.com", "password": "Str0ng-pass-42!"}

    response = api_client.post("/api/auth/register/", body, format="json")

    assert response.status_code == 201, response.content
    user = User.objects.get(email="mass@example.com")
    assert user.pk != FAKE_ID and not user.is_staff and not user.is_superuser
    assert response.json()["user"]["is_staff"] is False


def test_profile_update_cannot_make_staff_or_change_id_or_email(world):
    body = {**forbidden(world), "first_name": "Mallory", "email": "takeover@example.com", "date_joined": "2000-01-01"}

    response = auth_client(world.owner).patch("/api/auth/me/", body, format="json")

    assert response.status_code == 200, response.content
    world.owner.refresh_from_db()
    assert world.owner.first_name == "Mallory"
    assert world.owner.email != "takeover@example.com"
    assert world.owner.date_joined.year != 2000
    assert User.objects.filter(pk=FAKE_ID).count() == 0
    _assert_plain_customer(world.owner)


@pytest.mark.parametrize(
    ("url", "body", "status"),
    [
        ("/api/token/", lambda w: {"email": w.owner.email, "password": DEFAULT_PASSWORD}, 200),
        ("/api/auth/login/", lambda w: {"email": w.owner.email, "password": DEFAULT_PASSWORD}, 200),
        (
            "/api/auth/change-password/",
            lambda w: {"old_password": DEFAULT_PASSWORD, "new_password": "Changed-Str0ng-pass!"},
            200,
        ),
        ("/api/auth/password-reset/", lambda w: {"email": w.owner.email}, 202),
        (
            "/api/auth/password-reset/confirm/",
            lambda w: {
                "uid": urlsafe_base64_encode(force_bytes(w.owner.pk)),
                "token": default_token_generator.make_token(w.owner),
                "new_password": "Changed-Str0ng-pass!",
            },
            200,
        ),
    ],
)
def test_auth_endpoints_ignore_privilege_fields(world, url, body, status):
    response = auth_client(world.owner).post(url, {**forbidden(world), **body(world)}, format="json")

    assert response.status_code == status, response.content
    _assert_plain_customer(world.owner)
    _assert_plain_customer(world.other)


# --- Catalog ---------------------------------------------------------------------------------------


def test_staff_product_writes_cannot_set_computed_fields(world):
    client = auth_client(world.staff)
    body = {**forbidden(world), "name": "Mass", "sku": "MASS-1", "price": "12.00", "stock": 4}

    before = client.get(f"/api/products/{world.product.pk}/").json()
    created = client.post("/api/products/", body, format="json")
    patched = client.patch(f"/api/products/{world.product.pk}/", {"rating_avg": "5.00", "rating_count": 999, "id": 1})

    assert created.status_code == 201, created.content
    product = Product.objects.get(sku="MASS-1")
    assert product.pk != FAKE_ID
    assert (product.price, product.stock) == (Decimal("12.00"), 4)  # staff set these on purpose
    assert patched.status_code == 200, patched.content
    assert Product.objects.filter(pk=FAKE_ID).count() == 0
    detail = client.get(f"/api/products/{world.product.pk}/").json()
    assert (detail["id"], detail["rating_avg"], detail["rating_count"]) == (
        world.product.pk,
        before["rating_avg"],
        before["rating_count"],
    )


def test_staff_category_writes_ignore_unknown_fields(world):
    response = auth_client(world.staff).post("/api/categories/", {**forbidden(world), "name": "Mass"}, format="json")

    assert response.status_code == 201, response.content
    assert Category.objects.get(name="Mass").pk != FAKE_ID


def test_review_author_and_verified_purchase_are_computed(world):
    product = world.product
    body = {**forbidden(world), "user": world.owner.pk, "product": 12345, "rating": 1, "comment": "meh"}

    response = auth_client(world.other).post(f"/api/products/{product.pk}/reviews/", body, format="json")

    assert response.status_code == 201, response.content
    review = Review.objects.get(pk=response.json()["id"])
    assert review.user == world.other and review.product == product and review.pk != FAKE_ID
    assert response.json()["verified_purchase"] is False  # the other customer never bought it
    detail = auth_client(world.other).get(f"/api/products/{product.pk}/").json()
    assert (detail["rating_avg"], detail["rating_count"]) == ("2.50", 2)  # (4 + 1) / 2, computed


def test_review_edit_cannot_move_it_to_another_user_or_product(world):
    body = {**forbidden(world), "product": 12345, "rating": 2}

    response = auth_client(world.owner).patch(
        f"/api/products/{world.product.pk}/reviews/{world.review.pk}/", body, format="json"
    )

    assert response.status_code == 200, response.content
    world.review.refresh_from_db()
    assert (world.review.user, world.review.product, world.review.rating) == (world.owner, world.product, 2)


def test_wishlist_item_belongs_to_the_caller(world):
    response = auth_client(world.other).post(
        "/api/products/wishlist/", {**forbidden(world), "user": world.owner.pk, "product_id": world.product.pk}
    )

    assert response.status_code == 201, response.content
    assert WishlistItem.objects.get(pk=response.json()["id"]).user == world.other


# --- Cart and addresses ---------------------------------------------------------------------------


def test_cart_writes_take_the_price_from_the_catalog(world):
    client = auth_client(world.owner)
    body = {**forbidden(world), "product_id": world.product.pk, "quantity": 2}

    added = client.post("/api/cart/add/", body, format="json")
    updated = client.patch(f"/api/cart/update/{world.cart_item.pk}/", {**forbidden(world), "quantity": 3})

    assert added.status_code == 200, added.content
    assert updated.status_code == 200, updated.content
    cart = updated.json()
    assert cart["subtotal"] == "59.97" and cart["items"][0]["unit_price"] == "19.99"
    world.product.refresh_from_db()
    assert (world.product.price, world.product.stock) == (Decimal("19.99"), 10)
    assert not CartItem.objects.filter(cart__user=world.other).exists()


@pytest.mark.parametrize(("method", "status"), [("post", 201), ("put", 200), ("patch", 200)])
def test_an_address_belongs_to_its_author_whatever_the_body_says(world, method, status):
    body = {
        **forbidden(world),
        "full_name": "Ada",
        "phone": "+44 20 7946 0000",
        "line1": "1 Row",
        "city": "London",
        "postal_code": "N1",
        "country": "GB",
        "created_at": "2000-01-01T00:00:00Z",
    }
    url = "/api/addresses/" if method == "post" else f"/api/addresses/{world.address.pk}/"

    response = getattr(auth_client(world.owner), method)(url, body, format="json")

    assert response.status_code == status, response.content
    address = Address.objects.get(pk=response.json()["id"])
    assert address.user == world.owner and address.pk != FAKE_ID and address.created_at.year != 2000
    assert not Address.objects.filter(user=world.other).exists()


# --- Orders and payments: money is never taken from the client ------------------------------------


def test_order_total_status_and_owner_come_from_the_server(world):
    body = {**forbidden(world), "shipping_address_id": world.address.pk, "payment_method": "card"}

    response = auth_client(world.owner).post("/api/orders/create/", body, format="json")

    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    assert order.user == world.owner and order.pk != FAKE_ID
    assert (order.status, order.paid_at, order.currency) == (OrderStatus.PENDING, None, "usd")
    assert (order.subtotal, order.total) == (Decimal("19.99"), Decimal("19.99"))
    assert [(i.unit_price, i.line_total) for i in order.items.all()] == [(Decimal("19.99"), Decimal("19.99"))]
    world.product.refresh_from_db()
    assert (world.product.price, world.product.stock) == (Decimal("19.99"), 9)


def test_staff_status_change_cannot_rewrite_money_or_times(world):
    body = {**forbidden(world), "status": "CANCELLED"}

    response = auth_client(world.staff).patch(f"/api/orders/{world.order.pk}/status/", body, format="json")

    assert response.status_code == 200, response.content
    world.order.refresh_from_db()
    assert world.order.status == OrderStatus.CANCELLED
    assert (world.order.total, world.order.paid_at, world.order.user) == (Decimal("19.99"), None, world.owner)


def test_a_customer_cannot_mark_an_order_paid_by_any_body(world):
    client = auth_client(world.owner)

    for url in ("/api/orders/cancel/", f"/api/orders/{world.order.pk}/status/"):
        client.post(url, {"status": "PAID", "order_id": world.order.pk}, format="json")
    client.patch(f"/api/orders/{world.order.pk}/", {"status": "PAID"}, format="json")

    world.order.refresh_from_db()
    assert world.order.status == OrderStatus.PENDING and world.order.paid_at is None


def test_payment_intent_amount_comes_from_the_order(world):
    body = {**forbidden(world), "order_id": world.order.pk}

    response = auth_client(world.owner).post("/api/payments/payment-intent/", body, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["amount"], response.json()["currency"]) == ("19.99", "usd")
    payment = Payment.objects.get(order=world.order)
    assert (payment.amount_minor, payment.currency) == (1999, "usd")


def test_checkout_session_amount_comes_from_the_order(world):
    body = {
        **forbidden(world),
        "order_id": world.order.pk,
        "success_url": f"{FRONTEND}/ok",
        "cancel_url": f"{FRONTEND}/no",
    }

    response = auth_client(world.owner).post("/api/payments/checkout-session/", body, format="json")

    assert response.status_code == 200, response.content
    payment = Payment.objects.get(order=world.order)
    assert (payment.amount_minor, payment.currency) == (1999, "usd")


def test_dummy_confirm_pays_the_order_total_only(world):
    response = auth_client(world.owner).post(
        "/api/payments/dummy/confirm/", {**forbidden(world), "order_id": world.order.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    world.order.refresh_from_db()
    assert world.order.status == OrderStatus.PAID
    payment = Payment.objects.get(order=world.order, status=PaymentStatus.SUCCEEDED)
    assert (payment.amount_minor, payment.currency) == (1999, "usd")


def test_refund_amounts_come_from_the_order_not_the_request(world):
    """`amount` is the refund's documented goodwill amount (staff's own choice), so it is left out here;
    everything else, also inside a line, is ignored: a line refunds what the order paid for it."""
    body = {key: value for key, value in forbidden(world).items() if key != "amount"}
    item = world.paid_order.items.get()
    line = {**body, "order_item_id": item.pk, "quantity": item.quantity, "amount": "0.01"}

    response = auth_client(world.staff).post(
        "/api/payments/refund/", {**body, "order_id": world.paid_order.pk, "lines": [line]}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["amount"], response.json()["currency"]) == ("19.99", "usd")
    payment = Payment.objects.get(order=world.paid_order)
    assert payment.amount_minor == 1999
    world.paid_order.refresh_from_db()
    assert world.paid_order.status == OrderStatus.REFUNDED
