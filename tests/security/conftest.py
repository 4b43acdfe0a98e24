"""Shared data for the security suite: one customer who owns one of everything, another
customer, a staff member, and helpers to sign Stripe webhooks and make upload bodies."""

import hashlib
import hmac
import io
import json
import time
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone
from PIL import Image

from orders.models import Order, OrderStatus
from orders.tokens import guest_token_new
from payments.models import Payment, PaymentStatus
from tests.factories import (
    AddressFactory,
    CartFactory,
    CartItemFactory,
    CategoryFactory,
    OrderFactory,
    OrderItemFactory,
    PaymentFactory,
    ProductFactory,
    ReviewFactory,
    StaffFactory,
    UserFactory,
    WishlistItemFactory,
)

WEBHOOK_SECRET = "whsec_security_suite_0123456789"
FRONTEND = "http://localhost:5173"


@dataclass
class World:
    owner: object
    other: object
    staff: object
    category: object
    empty_category: object
    product: object
    order: object
    paid_order: object
    checkout_order: object
    checkout_payment: object
    cart_item: object
    address: object
    review: object
    wishlist_item: object
    delivered: object = None  # made on demand by the authorisation matrix (test_authz_matrix._delivered)
    guest_order: object = None  # a PENDING card order placed by a guest, and the token that opens it
    guest_token: str = ""


@pytest.fixture
def world(db):
    """The owner has: a PENDING card order of the product, a PAID order (captured through the
    development gateway, so it can be refunded), a PENDING order with an open checkout session,
    a cart line, a default address, a review and a wishlist item."""
    owner = UserFactory(first_name="Owen", last_name="Owner")
    other = UserFactory()
    staff = StaffFactory()
    category = CategoryFactory()
    empty_category = CategoryFactory()
    product = ProductFactory(category=category, price=Decimal("19.99"), stock=10)

    order = OrderFactory(user=owner)
    OrderItemFactory(order=order, product=product)

    paid_order = OrderFactory(user=owner, status=OrderStatus.PAID, paid_at=timezone.now())
    OrderItemFactory(order=paid_order, product=product)
    PaymentFactory(
        order=paid_order, provider=Payment.Provider.DUMMY, status=PaymentStatus.SUCCEEDED, succeeded_at=timezone.now()
    )

    checkout_order = OrderFactory(user=owner)
    OrderItemFactory(order=checkout_order, product=product)
    checkout_payment = PaymentFactory(
        order=checkout_order,
        provider=Payment.Provider.DUMMY,
        provider_payment_id=None,
        provider_checkout_session_id="cs_dummy_security_suite",
        status=PaymentStatus.REQUIRES_PAYMENT,
    )

    cart_item = CartItemFactory(cart=CartFactory(user=owner), product=product, quantity=1)
    address = AddressFactory(user=owner, is_default=True)
    review = ReviewFactory(product=product, user=owner, rating=4)
    wishlist_item = WishlistItemFactory(user=owner, product=product)
    guest_order = OrderFactory(user=None, email="guest@example.com")
    OrderItemFactory(order=guest_order, product=product)
    guest = guest_token_new(number=guest_order.number)
    Order.objects.filter(pk=guest_order.pk).update(guest_token_hash=guest.digest, guest_token_nonce=guest.nonce)
    return World(
        guest_order=guest_order,
        guest_token=guest.token,
        owner=owner,
        other=other,
        staff=staff,
        category=category,
        empty_category=empty_category,
        product=product,
        order=order,
        paid_order=paid_order,
        checkout_order=checkout_order,
        checkout_payment=checkout_payment,
        cart_item=cart_item,
        address=address,
        review=review,
        wishlist_item=wishlist_item,
    )


@pytest.fixture
def payments_on(settings):
    """The development gateway and a webhook secret: every payment endpoint does real work."""
    settings.PAYMENT_GATEWAY = "dummy"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    # Razorpay's webhooks share the path (told apart by their signature header): verified too.
    settings.RAZORPAY_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.FRONTEND_ALLOWED_ORIGINS = [FRONTEND]


def stripe_signature(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header: t=<unix>,v1=HMAC-SHA256(secret, "<t>.<raw body>")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signed_event(event_type: str = "customer.created", obj: dict | None = None) -> tuple[bytes, str]:
    event = {
        "id": f"evt_security_{time.time_ns()}",
        "object": "event",
        "type": event_type,
        "api_version": "2025-09-30.clover",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj or {"id": "cus_123", "object": "customer"}},
    }
    payload = json.dumps(event).encode()
    return payload, stripe_signature(payload)


def png_bytes(size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def error_codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def assert_error_shape(response) -> None:
    """The contract's one error shape: {"type", "errors": [{"code", "detail", "attr"}]}."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body["type"] in ("validation_error", "client_error", "server_error"), body
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}, error
