"""The money a payment provider is asked for is the priced order's total (API.md "Checkout pricing":
the payment amount is the order `total`): an order with shipping, tax and a voucher, placed through
the API, then paid with Stripe (a payment intent and a Checkout session) and with Razorpay, in a
two-decimal currency and in yen, which has no minor unit (sent as is, never times 100)."""

import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from orders.models import Order, OrderStatus, ShippingMethod, ShippingZone, TaxRate
from payments.models import Payment, PaymentStatus
from tests.conftest import auth_client
from tests.factories import ProductFactory, UserFactory, VoucherFactory
from tests.payments.fake_stripe import sign_payload
from tests.payments.helpers import WEBHOOK_SECRET, WEBHOOK_URL
from tests.payments.razorpay_helpers import VERIFY_URL

pytestmark = pytest.mark.django_db

D = Decimal
# Two mugs at 12.50 and a towel at 4.99 (29.99), 10% off the cart (3.00: 2.50 on the mugs, 0.50 on the
# towel), VAT 20% on top (4.50 + 0.90, and 0.79 on the 3.95 shipping): 37.13. In yen the same digits
# are whole yen (1250, 499, shipping 395): 3713 yen.
PRICES = {
    "usd": {"mug": "12.50", "towel": "4.99", "shipping": "3.95", "total": "37.13", "minor": 3713},
    "inr": {"mug": "12.50", "towel": "4.99", "shipping": "3.95", "total": "37.13", "minor": 3713},
    "jpy": {"mug": "1250", "towel": "499", "shipping": "395", "total": "3713.00", "minor": 3713},
}


def _customer_places_a_priced_order(currency: str) -> tuple[APIClient, Order]:
    """Through the API: a cart of two mugs and a towel, the voucher, a GB address, Royal Mail."""
    prices = PRICES[currency]
    mug = ProductFactory(price=D(prices["mug"]), stock=5)
    towel = ProductFactory(price=D(prices["towel"]), stock=5)
    zone = ShippingZone.objects.create(name="UK", countries=["GB"])
    post = ShippingMethod.objects.create(zone=zone, name="Royal Mail", price=D(prices["shipping"]))
    TaxRate.objects.create(country="GB", name="VAT 20%", rate=D("0.20"))
    VoucherFactory(code="TENOFF", value=D("10"))
    customer = auth_client(UserFactory())
    for product, quantity in ((mug, 2), (towel, 1)):
        added = customer.post("/api/cart/add/", {"product_id": product.pk, "quantity": quantity}, format="json")
        assert added.status_code == 201, added.content
    assert customer.post("/api/cart/voucher/", {"code": "tenoff"}, format="json").status_code == 200
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
    ).json()
    created = customer.post(
        "/api/orders/create/",
        {"shipping_address_id": address["id"], "shipping_method_id": post.pk, "payment_method": "card"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"priced-{currency}",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["discount_total"], body["shipping_total"], body["voucher_code"]) == (
        {"usd": "3.00", "inr": "3.00", "jpy": "300.00"}[currency],
        {"usd": "3.95", "inr": "3.95", "jpy": "395.00"}[currency],
        "TENOFF",
    )
    assert (body["total"], body["currency"]) == (prices["total"], currency)
    return customer, Order.objects.get(pk=body["id"])


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_stripe_is_asked_for_the_priced_total(stripe_gateway, settings, currency):
    settings.STORE_CURRENCY = currency
    customer, order = _customer_places_a_priced_order(currency)

    initiated = customer.post("/api/payments/initiate/", {"order_id": order.pk}, format="json")

    assert initiated.status_code == 200, initiated.content
    assert (initiated.json()["amount"], initiated.json()["currency"]) == (PRICES[currency]["total"], currency)
    [sent] = stripe_gateway.requests_to("POST", "/v1/payment_intents")
    minor = PRICES[currency]["minor"]
    assert (sent.form["amount"], sent.form["currency"]) == (str(minor), currency)
    assert Payment.objects.get(order=order).amount_minor == minor

    # Stripe reports exactly that amount received: the order is paid.
    paid_intent = stripe_gateway.state.intents[initiated.json()["payment_intent_id"]] | {
        "status": "succeeded",
        "amount_received": minor,
    }
    event = {"id": f"evt_priced_{currency}", "object": "event", "type": "payment_intent.succeeded"}
    raw = json.dumps({**event, "data": {"object": paid_intent}}).encode()
    webhook = APIClient().post(
        WEBHOOK_URL, data=raw, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign_payload(raw, WEBHOOK_SECRET)
    )
    assert webhook.status_code == 200, webhook.content
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Payment.objects.get(order=order).status == PaymentStatus.SUCCEEDED


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_stripe_checkout_session_charges_the_priced_total(stripe_gateway, settings, currency):
    settings.STORE_CURRENCY = currency
    settings.FRONTEND_ALLOWED_ORIGINS = ["http://localhost:5173"]
    customer, order = _customer_places_a_priced_order(currency)

    response = customer.post(
        "/api/payments/checkout-session/",
        {
            "order_id": order.pk,
            "success_url": "http://localhost:5173/checkout/success?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://localhost:5173/checkout/cancel",
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    [sent] = stripe_gateway.requests_to("POST", "/v1/checkout/sessions")
    [line] = sent.form["line_items"]
    assert (line["price_data"]["unit_amount"], line["quantity"]) == (str(PRICES[currency]["minor"]), "1")
    assert line["price_data"]["currency"] == currency


@pytest.mark.parametrize("currency", ["inr", "jpy"])
def test_razorpay_is_asked_for_the_priced_total(razorpay_gateway, settings, currency):
    settings.STORE_CURRENCY = currency
    customer, order = _customer_places_a_priced_order(currency)

    initiated = customer.post("/api/payments/initiate/", {"order_id": order.pk}, format="json")

    assert initiated.status_code == 200, initiated.content
    minor = PRICES[currency]["minor"]
    assert (initiated.json()["amount"], initiated.json()["currency"]) == (minor, currency)
    [created] = razorpay_gateway.requests_to("POST", "/v1/orders")
    assert (created.body["amount"], created.body["currency"]) == (minor, currency.upper())

    # The customer pays that amount in Razorpay Checkout: the signed answer marks the order paid.
    answer = razorpay_gateway.checkout(initiated.json()["razorpay_order_id"])
    verified = customer.post(VERIFY_URL, answer, format="json")
    assert verified.status_code == 200, verified.content
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Payment.objects.get(order=order).amount_minor == minor
