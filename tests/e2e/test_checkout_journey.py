"""A customer's whole journey through the HTTP API only: register, cart, address, order, payment
(Stripe, through a signed webhook; and the development gateway as `make run` shows it), shipping
and delivery by staff, a return of one unit refunded in part, with the e-mails the customer
receives along the way."""

import json
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from rest_framework.test import APIClient

from products.models import Product
from tests.conftest import auth_client
from tests.factories import ProductFactory, StaffFactory
from tests.payments.fake_stripe import sign_payload
from tests.payments.helpers import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def _customer_places_an_order(product, *, quantity=2) -> tuple[APIClient, dict]:
    anonymous = APIClient()
    registered = anonymous.post(
        "/api/auth/register/",
        {"email": "ada@example.com", "password": "Analytical-Engine-1843", "first_name": "Ada"},
        format="json",
    )
    assert registered.status_code == 201, registered.content
    customer = APIClient()
    customer.credentials(HTTP_AUTHORIZATION=f"Bearer {registered.json()['access']}")

    added = customer.post("/api/cart/add/", {"product_id": product.pk, "quantity": quantity}, format="json")
    assert added.status_code == 201, added.content  # a new line in a new cart
    address = customer.post(
        "/api/addresses/",
        {
            "full_name": "Ada Lovelace",
            "phone": "+44 20 7946 0000",
            "line1": "12 St James's Square",
            "city": "London",
            "state": "",
            "postal_code": "SW1Y 4JH",
            "country": "GB",
            "address_type": "HOME",
        },
        format="json",
    )
    assert address.status_code == 201, address.content
    created = customer.post(
        "/api/orders/create/",
        {"shipping_address_id": address.json()["id"], "payment_method": "card"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="e2e-order-1",
    )
    assert created.status_code == 201, created.content
    order = created.json()
    assert order["status"] == "PENDING"
    assert Decimal(order["total"]) == product.price * quantity
    return customer, order


def _stripe_says_paid(stripe_gateway, intent: dict, amount_minor: int, event_id: str, capture) -> None:
    """The customer pays with Stripe.js; Stripe tells us with a signed webhook."""
    paid_intent = stripe_gateway.state.intents[intent["payment_intent_id"]] | {
        "status": "succeeded",
        "amount_received": amount_minor,
    }
    event = {"id": event_id, "object": "event", "type": "payment_intent.succeeded", "data": {"object": paid_intent}}
    body = json.dumps(event).encode()
    with capture(execute=True):
        webhook = APIClient().post(
            "/api/payments/webhook/",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign_payload(body, WEBHOOK_SECRET),
        )
    assert webhook.status_code == 200, webhook.content


def _staff_ships_and_delivers(order_id: int) -> None:
    staff = auth_client(StaffFactory())
    shipped = staff.patch(
        f"/api/orders/{order_id}/status/", {"status": "SHIPPED", "tracking_number": "1Z999AA10123456784"}, format="json"
    )
    assert shipped.status_code == 200, shipped.content
    assert shipped.json()["status"] == "SHIPPED"
    delivered = staff.patch(f"/api/orders/{order_id}/status/", {"status": "DELIVERED"}, format="json")
    assert delivered.status_code == 200, delivered.content
    assert delivered.json()["status"] == "DELIVERED"


def test_a_customer_buys_pays_with_stripe_and_receives_the_parcel(stripe_gateway, django_capture_on_commit_callbacks):
    product = ProductFactory(price=Decimal("24.50"), stock=5)
    with django_capture_on_commit_callbacks(execute=True):
        customer, order = _customer_places_an_order(product)

    intent = customer.post("/api/payments/payment-intent/", {"order_id": order["id"]}, format="json")
    assert intent.status_code == 200, intent.content
    assert intent.json()["amount"] == order["total"] == "49.00"
    assert intent.json()["publishable_key"] == "pk_test_novacart_fake"  # the stripe_gateway fixture's key
    [sent] = stripe_gateway.requests_to("POST", "/v1/payment_intents")
    assert (sent.form["amount"], sent.form["currency"]) == ("4900", order["currency"])
    assert sent.form["metadata"]["order_number"] == order["number"]

    _stripe_says_paid(stripe_gateway, intent.json(), 4900, "evt_e2e_1", django_capture_on_commit_callbacks)

    detail = customer.get(f"/api/orders/{order['id']}/").json()
    assert detail["status"] == "PAID" and detail["paid_at"]

    with django_capture_on_commit_callbacks(execute=True):
        _staff_ships_and_delivers(order["id"])

    final = customer.get(f"/api/orders/{order['id']}/").json()
    assert final["status"] == "DELIVERED"
    assert [s["to_status"] for s in final["status_history"]][-3:] == ["PAID", "SHIPPED", "DELIVERED"]
    assert Product.objects.get(pk=product.pk).stock == 3
    assert customer.get("/api/cart/").json()["total_items"] == 0
    subjects = [m.subject for m in mail.outbox if m.to == ["ada@example.com"]]
    number = order["number"]
    for expected in (
        f"Your NovaCart order {number} is confirmed",
        f"Payment received for order {number}",
        f"Order {number} is on its way",
        f"Order {number} was delivered",
    ):
        assert expected in subjects

    # One of the two units goes back: the customer asks, staff approve and receive it, finance refunds it.
    [item] = final["items"]
    with django_capture_on_commit_callbacks(execute=True):
        asked = customer.post(
            f"/api/orders/{order['id']}/returns/",
            {"lines": [{"order_item_id": item["id"], "quantity": 1}], "reason": "Two were one too many"},
            format="json",
        )
        assert asked.status_code == 201, asked.content
        staff = auth_client(StaffFactory())
        for status in ("APPROVED", "RECEIVED"):
            moved = staff.patch(f"/api/returns/{asked.json()['id']}/", {"status": status}, format="json")
            assert moved.status_code == 200, moved.content
        refunded = staff.post(f"/api/returns/{asked.json()['id']}/refund/")
    assert refunded.status_code == 200, refunded.content
    assert refunded.json()["status"] == "REFUNDED"
    [refund_sent] = stripe_gateway.requests_to("POST", "/v1/refunds")
    assert refund_sent.form["amount"] == "2450"  # one unit of 24.50
    after = customer.get(f"/api/orders/{order['id']}/").json()
    assert (after["status"], after["payment_status"], after["refunded_total"]) == (
        "DELIVERED",
        "partially_refunded",
        "24.50",
    )
    assert [(r["amount"], r["lines"]) for r in after["refunds"]] == [
        ("24.50", [{"order_item_id": item["id"], "quantity": 1}])
    ]
    assert Product.objects.get(pk=product.pk).stock == 4  # the returned unit is back on sale
    subjects = [m.subject for m in mail.outbox if m.to == ["ada@example.com"]]
    assert f"Your return for order {number} is refunded" in subjects
    assert f"Part of order {number} was refunded" in subjects


def test_the_same_journey_with_the_development_gateway(settings, django_capture_on_commit_callbacks):
    settings.PAYMENT_GATEWAY = "dummy"
    product = ProductFactory(price=Decimal("10.00"), stock=4)
    customer, order = _customer_places_an_order(product, quantity=1)

    intent = customer.post("/api/payments/payment-intent/", {"order_id": order["id"]}, format="json")
    assert intent.status_code == 200, intent.content
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = customer.post("/api/payments/dummy/confirm/", {"order_id": order["id"]}, format="json")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["order_status"] == "PAID"

    _staff_ships_and_delivers(order["id"])
    assert customer.get(f"/api/orders/{order['id']}/").json()["status"] == "DELIVERED"
    assert Product.objects.get(pk=product.pk).stock == 3


def test_a_guest_buys_pays_with_stripe_finds_the_order_again_and_signs_up(
    stripe_gateway, django_capture_on_commit_callbacks
):
    """No account: an anonymous cart, an order with an e-mail and an address, paid with Stripe
    through the order token; the link mailed again by a lookup; then the guest registers, verifies
    the e-mail and finds the order among their own."""
    product = ProductFactory(price=Decimal("15.00"), stock=3)
    guest = APIClient()
    added = guest.post("/api/cart/add/", {"product_id": product.pk, "quantity": 1}, format="json")
    assert added.status_code == 201, added.content
    cart_token = added.json()["cart_token"]
    with django_capture_on_commit_callbacks(execute=True):
        created = guest.post(
            "/api/orders/create/",
            {
                "email": "grace@example.com",
                "shipping_address": {
                    "full_name": "Grace Hopper",
                    "phone": "+1 212 555 0100",
                    "line1": "1 Navy Yard",
                    "city": "New York",
                    "state": "NY",
                    "postal_code": "10001",
                    "country": "US",
                },
                "payment_method": "card",
            },
            format="json",
            HTTP_X_CART_TOKEN=cart_token,
            HTTP_IDEMPOTENCY_KEY="guest-journey-1",
        )
    assert created.status_code == 201, created.content
    order, token = created.json(), created.json()["order_token"]
    [confirmation] = [m for m in mail.outbox if m.to == ["grace@example.com"]]
    assert token in confirmation.body  # the link that opens the order

    guest.credentials(HTTP_X_ORDER_TOKEN=token)
    intent = guest.post("/api/payments/initiate/", {"order_id": order["id"]}, format="json")
    assert intent.status_code == 200, intent.content
    assert (intent.json()["gateway"], intent.json()["amount"]) == ("stripe", "15.00")
    _stripe_says_paid(stripe_gateway, intent.json(), 1500, "evt_e2e_guest", django_capture_on_commit_callbacks)
    assert guest.get(f"/api/orders/{order['id']}/").json()["status"] == "PAID"
    paid_mail = [m for m in mail.outbox if m.subject == f"Payment received for order {order['number']}"]
    assert paid_mail and token in paid_mail[0].body

    # The guest lost the link: a lookup mails a new one, and the old one stops working.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        lookup = APIClient().post(
            "/api/orders/lookup/", {"number": order["number"], "email": "Grace@Example.com"}, format="json"
        )
    assert lookup.status_code == 202
    [link_mail] = mail.outbox
    assert token not in link_mail.body
    assert guest.get(f"/api/orders/{order['id']}/").status_code == 404

    # Registering with the e-mail is not enough; verifying it is.
    with django_capture_on_commit_callbacks(execute=True):
        registered = APIClient().post(
            "/api/auth/register/",
            {"email": "grace@example.com", "password": "Cobol-Compiler-1959", "first_name": "Grace"},
            format="json",
        )
    assert registered.status_code == 201, registered.content
    account = APIClient()
    account.credentials(HTTP_AUTHORIZATION=f"Bearer {registered.json()['access']}")
    assert account.get("/api/orders/my/").json()["count"] == 0
    [verification] = [m for m in mail.outbox if "verify-email" in m.body]
    link = re.search(r"http\S+/verify-email\?\S+", verification.body).group(0)
    params = {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}
    verified = APIClient().post("/api/auth/verify-email/", params, format="json")
    assert verified.status_code == 200, verified.content
    mine = account.get("/api/orders/my/").json()
    assert [(o["number"], o["status"]) for o in mine["results"]] == [(order["number"], "PAID")]
    assert Product.objects.get(pk=product.pk).stock == 2
