"""Guest checkout (API.md "Guest checkout"): an anonymous cart becomes an order with an e-mail and an
inline address; its one-time `order_token` opens that one order (detail, cancel, paying it); an order
lookup mails a fresh link; a verified account with the e-mail takes the guest's orders over."""

import hashlib
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from cart.models import Cart, CartItem
from orders.models import IdempotencyKey, Order, OrderStatus, VoucherRedemption
from orders.services import orders_attach_guest_orders
from payments.models import Payment
from products.models import Product
from tests.factories import CartItemFactory, ProductFactory, UserFactory, VoucherFactory
from tests.orders.helpers import place_order
from tests.payments.helpers import INTENT_URL, post_event, succeeded_event
from users.tokens import make_email_verification_token

pytestmark = pytest.mark.django_db

URL = "/api/orders/create/"
ADDRESS = {
    "full_name": "Grace Hopper",
    "phone": "+44 20 7946 0000",
    "line1": "1 Harbour Street",
    "city": "London",
    "postal_code": "SW1A 1AA",
    "country": "gb",
}


@pytest.fixture
def guest_cart(db):
    """An anonymous cart: two mugs at 12.50 (stock 5)."""
    mug = ProductFactory(name="Mug", sku="MUG-1", price=Decimal("12.50"), stock=5)
    cart = Cart.objects.create()
    CartItemFactory(cart=cart, product=mug, quantity=2)
    return {"cart": cart, "mug": mug, "token": cart.token}


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _body(**overrides):
    return {"email": "Grace@Example.com", "shipping_address": dict(ADDRESS), "payment_method": "card", **overrides}


def place(client, token, **overrides):
    return client.post(URL, _body(**overrides), format="json", HTTP_X_CART_TOKEN=token)


def _code(response) -> str:
    return response.json()["errors"][0]["code"]


def test_a_guest_cart_becomes_an_order_with_a_one_time_token(
    api_client, guest_cart, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = place(api_client, guest_cart["token"])

    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    assert body["id"] == order.pk and body["status"] == "PENDING" and body["total"] == "25.00"
    assert body["shipping_address"]["full_name"] == "Grace Hopper"
    assert body["shipping_address"]["country"] == "GB"
    assert re.fullmatch(r"[0-9a-f]{64}", body["order_token"])
    # Only its digest is kept, never the token itself.
    assert order.user is None and order.email == "Grace@example.com"
    assert order.guest_token_hash == hashlib.sha256(body["order_token"].encode()).hexdigest()
    assert body["order_token"] not in str(Order.objects.filter(pk=order.pk).values().get())
    # Stock taken, the anonymous cart emptied.
    assert Product.objects.get(pk=guest_cart["mug"].pk).stock == 3
    assert not CartItem.objects.filter(cart=guest_cart["cart"]).exists()
    # The confirmation goes to the guest, with the link that opens the order.
    [message] = mail.outbox
    assert message.to == ["Grace@example.com"]
    assert "Hello Grace Hopper" in message.body
    link = re.search(r"http\S+/orders/\d+\?token=[0-9a-f]{64}", message.body).group(0)
    assert parse_qs(urlsplit(link).query)["token"] == [body["order_token"]]


def test_the_token_opens_that_one_order_and_nothing_else(api_client, guest_cart, user):
    body = place(api_client, guest_cart["token"]).json()
    token = body["order_token"]
    other = place_order(user)  # another customer's

    opened = api_client.get(f"/api/orders/{body['id']}/", HTTP_X_ORDER_TOKEN=token)
    assert opened.status_code == 200 and opened.json()["number"] == body["number"]
    assert "order_token" not in opened.json()
    # Another order with this token, a wrong token, no token: 404, never 401 or 403.
    assert api_client.get(f"/api/orders/{other.pk}/", HTTP_X_ORDER_TOKEN=token).status_code == 404
    assert api_client.get(f"/api/orders/{body['id']}/", HTTP_X_ORDER_TOKEN="0" * 64).status_code == 404
    assert api_client.get(f"/api/orders/{body['id']}/", HTTP_X_ORDER_TOKEN="not-a-token").status_code == 404
    assert api_client.get(f"/api/orders/{body['id']}/").status_code == 404
    # The list of one's orders needs an account.
    assert api_client.get("/api/orders/my/", HTTP_X_ORDER_TOKEN=token).status_code == 401
    # A signed-in customer does not see a guest's order by their login.
    assert client_of(user).get(f"/api/orders/{body['id']}/").status_code == 404


def test_the_guest_cancels_with_the_token_and_gets_the_stock_back(api_client, guest_cart):
    body = place(api_client, guest_cart["token"]).json()

    wrong = api_client.post(f"/api/orders/cancel/{body['id']}/", HTTP_X_ORDER_TOKEN="f" * 64)
    assert wrong.status_code == 404
    cancelled = api_client.post(f"/api/orders/cancel/{body['id']}/", HTTP_X_ORDER_TOKEN=body["order_token"])

    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "CANCELLED"
    assert cancelled.json()["status_history"][-1]["actor"] == "customer"
    assert Product.objects.get(pk=guest_cart["mug"].pk).stock == 5


def test_the_guest_pays_with_the_fake_stripe(api_client, guest_cart, stripe_gateway):
    body = place(api_client, guest_cart["token"]).json()
    headers = {"HTTP_X_ORDER_TOKEN": body["order_token"]}

    assert api_client.post(INTENT_URL, {"order_id": body["id"]}, format="json").status_code == 404
    intent = api_client.post(INTENT_URL, {"order_id": body["id"]}, format="json", **headers)
    assert intent.status_code == 200, intent.content
    assert intent.json()["amount"] == "25.00"
    [sent] = stripe_gateway.requests_to("POST", "/v1/payment_intents")
    assert sent.form["amount"] == "2500"
    initiate = api_client.post("/api/payments/initiate/", {"order_id": body["id"]}, format="json", **headers)
    assert initiate.json()["payment_intent_id"] == intent.json()["payment_intent_id"]

    paid = post_event(api_client, succeeded_event(intent.json()["payment_intent_id"], amount=2500))
    assert paid.status_code == 200
    detail = api_client.get(f"/api/orders/{body['id']}/", **headers).json()
    assert (detail["status"], detail["payment_status"]) == ("PAID", "paid")
    assert Payment.objects.get().order_id == body["id"]


def test_a_guest_needs_an_email_and_an_address_and_pays_by_card(api_client, guest_cart):
    token = guest_cart["token"]
    missing = api_client.post(URL, {"payment_method": "card"}, format="json", HTTP_X_CART_TOKEN=token)
    assert missing.status_code == 400
    assert {(e["attr"], e["code"]) for e in missing.json()["errors"]} == {
        ("email", "required"),
        ("shipping_address", "required"),
    }
    bad_email = place(api_client, token, email="not an e-mail")
    assert (bad_email.status_code, bad_email.json()["errors"][0]["attr"]) == (400, "email")
    bad_address = place(api_client, token, shipping_address={**ADDRESS, "country": "XX", "phone": "call me"})
    assert bad_address.status_code == 400
    assert {e["attr"] for e in bad_address.json()["errors"]} == {"shipping_address.country", "shipping_address.phone"}
    cod = place(api_client, token, payment_method="cod")
    assert (cod.status_code, _code(cod)) == (403, "email_not_verified")
    # Nothing was placed, nothing was taken.
    assert not Order.objects.exists()
    assert Product.objects.get(pk=guest_cart["mug"].pk).stock == 5


def test_without_a_cart_token_it_is_401_and_an_unknown_cart_is_empty(api_client, guest_cart):
    assert api_client.post(URL, _body(), format="json").status_code == 401
    unknown = place(api_client, "x" * 43)
    assert (unknown.status_code, _code(unknown)) == (400, "cart_empty")


def test_guest_checkout_off_is_401_everywhere(api_client, guest_cart, settings):
    body = place(api_client, guest_cart["token"]).json()
    settings.GUEST_CHECKOUT = False

    assert place(api_client, guest_cart["token"]).status_code == 401
    headers = {"HTTP_X_ORDER_TOKEN": body["order_token"]}
    assert api_client.get(f"/api/orders/{body['id']}/", **headers).status_code == 401
    assert api_client.post(f"/api/orders/cancel/{body['id']}/", **headers).status_code == 401
    assert api_client.post(INTENT_URL, {"order_id": body["id"]}, format="json", **headers).status_code == 401
    lookup = api_client.post("/api/orders/lookup/", {"number": body["number"], "email": "grace@example.com"})
    assert lookup.status_code == 401


def test_a_replayed_guest_order_answers_the_same_with_its_token_and_keys_are_scoped_by_cart(api_client, guest_cart):
    first = api_client.post(
        URL, _body(), format="json", HTTP_X_CART_TOKEN=guest_cart["token"], HTTP_IDEMPOTENCY_KEY="guest-key-1"
    )
    again = api_client.post(
        URL, _body(), format="json", HTTP_X_CART_TOKEN=guest_cart["token"], HTTP_IDEMPOTENCY_KEY="guest-key-1"
    )

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Order.objects.count() == 1
    key = IdempotencyKey.objects.get()
    assert key.user is None and key.guest and first.json()["order_token"] not in str(key.response_body)
    # Another guest's cart with the same key is another request.
    other = Cart.objects.create()
    CartItemFactory(cart=other, product=guest_cart["mug"], quantity=1)
    theirs = api_client.post(
        URL,
        _body(email="linus@example.com"),
        format="json",
        HTTP_X_CART_TOKEN=other.token,
        HTTP_IDEMPOTENCY_KEY="guest-key-1",
    )
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers


def test_a_guest_voucher_counts_per_email(api_client, guest_cart):
    voucher = VoucherFactory(code="ONCE", per_customer_limit=1)
    guest_cart["cart"].voucher = voucher
    guest_cart["cart"].save(update_fields=["voucher"])
    first = place(api_client, guest_cart["token"])
    assert first.status_code == 201 and first.json()["voucher_code"] == "ONCE"
    assert VoucherRedemption.objects.get().email == "grace@example.com"

    again = Cart.objects.create(voucher=voucher)
    CartItemFactory(cart=again, product=guest_cart["mug"], quantity=1)
    refused = place(api_client, again.token, email="GRACE@example.com")
    assert (refused.status_code, _code(refused)) == (409, "voucher_exhausted")


def test_lookup_always_answers_202_and_mails_a_fresh_link_when_it_matches(
    api_client, guest_cart, django_capture_on_commit_callbacks
):
    body = place(api_client, guest_cart["token"]).json()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        wrong_email = api_client.post("/api/orders/lookup/", {"number": body["number"], "email": "x@example.com"})
        wrong_number = api_client.post(
            "/api/orders/lookup/", {"number": "NC-000000-AAAAAA", "email": "grace@example.com"}
        )
    assert (wrong_email.status_code, wrong_number.status_code) == (202, 202)
    assert wrong_email.json() == wrong_number.json()
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        found = api_client.post(
            "/api/orders/lookup/", {"number": body["number"].lower(), "email": " GRACE@example.com "}
        )
    assert found.status_code == 202 and found.json() == wrong_email.json()
    [message] = mail.outbox
    assert message.to == ["Grace@example.com"] and body["number"] in message.subject
    token = parse_qs(urlsplit(re.search(r"http\S+token=[0-9a-f]{64}", message.body).group(0)).query)["token"][0]
    assert token != body["order_token"]
    assert api_client.get(f"/api/orders/{body['id']}/", HTTP_X_ORDER_TOKEN=token).status_code == 200
    # The old link stopped working.
    assert api_client.get(f"/api/orders/{body['id']}/", HTTP_X_ORDER_TOKEN=body["order_token"]).status_code == 404


def test_lookup_does_not_mail_links_of_orders_placed_with_an_account(
    api_client, user, django_capture_on_commit_callbacks
):
    order = place_order(user)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/orders/lookup/", {"number": order.number, "email": user.email})
    assert response.status_code == 202 and mail.outbox == []


def test_lookup_is_throttled_per_email(api_client, guest_cart, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "order_lookup_email": "2/hour"},
    }
    asks = [
        api_client.post("/api/orders/lookup/", {"number": f"NC-000000-AAAAA{n}", "email": "grace@example.com"})
        for n in range(3)
    ]
    assert [r.status_code for r in asks] == [202, 202, 429]
    # Another e-mail from the same address still gets through.
    assert api_client.post("/api/orders/lookup/", {"number": "NC-1", "email": "linus@example.com"}).status_code == 202


def test_lookup_validates_its_body(api_client):
    response = api_client.post("/api/orders/lookup/", {"number": "", "email": "nope"}, format="json")
    assert response.status_code == 400
    assert {e["attr"] for e in response.json()["errors"]} == {"number", "email"}


def _verify(client, user):
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return client.post(
        "/api/auth/verify-email/", {"uid": uid, "token": make_email_verification_token(user)}, format="json"
    )


def test_guest_orders_join_the_account_when_its_email_is_verified_not_before(api_client, guest_cart):
    placed = place(api_client, guest_cart["token"]).json()
    account = UserFactory(email="grace@example.com", email_verified=False)
    client = client_of(account)

    # Registered, not verified: the guest order is not theirs.
    assert orders_attach_guest_orders(user=account) == 0
    assert client.get("/api/orders/my/").json()["count"] == 0
    assert client.get(f"/api/orders/{placed['id']}/").status_code == 404

    assert _verify(api_client, account).status_code == 200
    mine = client.get("/api/orders/my/").json()
    assert [o["number"] for o in mine["results"]] == [placed["number"]]
    assert client.get(f"/api/orders/{placed['id']}/").status_code == 200
    assert Order.objects.get(pk=placed["id"]).user == account
    # The guest's link still opens it.
    assert api_client.get(f"/api/orders/{placed['id']}/", HTTP_X_ORDER_TOKEN=placed["order_token"]).status_code == 200


def test_a_guest_order_with_a_verified_accounts_email_is_that_accounts_at_once(api_client, guest_cart):
    account = UserFactory(email="grace@example.com", email_verified=True)
    placed = place(api_client, guest_cart["token"]).json()

    assert Order.objects.get(pk=placed["id"]).user == account
    assert placed["order_token"]  # the guest still gets the order's token


def test_the_order_token_is_not_the_cart_token_nor_another_orders(api_client, guest_cart):
    first = place(api_client, guest_cart["token"]).json()
    second_cart = Cart.objects.create()
    CartItemFactory(cart=second_cart, product=guest_cart["mug"], quantity=1)
    second = place(api_client, second_cart.token).json()

    assert first["order_token"] != second["order_token"]
    assert api_client.get(f"/api/orders/{first['id']}/", HTTP_X_ORDER_TOKEN=guest_cart["token"]).status_code == 404
    assert api_client.get(f"/api/orders/{first['id']}/", HTTP_X_ORDER_TOKEN=second["order_token"]).status_code == 404
    assert Order.objects.filter(status=OrderStatus.PENDING).count() == 2
