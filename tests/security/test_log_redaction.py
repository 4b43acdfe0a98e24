"""Logs never hold passwords, tokens, client secrets or card numbers.

A whole journey runs with the root logger at DEBUG: register, login (cookies too), refresh, cart,
address, order, a Stripe payment intent (the real SDK against the payments helper's fake Stripe),
the signed webhook, a password reset and a password change, plus a client that wrongly sends card
data. What the project's stdout handler (as LOGGING configures it: filters and format) wrote is
then searched for every secret the journey handled.

pytest's caplog handler is not that handler: it has none of LOGGING's filters (the redaction filter
sits on the handler, not on the loggers). caplog only shows redacted text when the stdout handler's
filter happened to rewrite the shared record first, so the test reads the configured handler's output.
"""

import io
import json
import logging
import re
import time

import pytest
from django.core import mail
from rest_framework.test import APIClient

from novacart.logging import RedactSecretsFilter
from payments.models import Payment
from tests.factories import ProductFactory
from tests.payments.fake_stripe import SECRET_KEY, sign_payload
from tests.payments.helpers import WEBHOOK_SECRET

PASSWORD = "Correct-Horse-Battery-9"
NEW_PASSWORD = "Another-Horse-Staple-7"
RESET_PASSWORD = "Reset-Horse-Battery-5"
CARD = "4242424242424242"
CARD_SPACED = "4000 0566 5566 5556"


@pytest.fixture
def project_log_output():
    """A handler built like LOGGING's stdout handler (same filters and formatter) on the root logger,
    with everything at DEBUG."""
    configured = [h for h in logging.getLogger().handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters)]
    assert configured, "LOGGING installs no handler with RedactSecretsFilter on the root logger"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(configured[0].formatter)
    for log_filter in configured[0].filters:
        handler.addFilter(log_filter)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    saved_level = root.level
    # Loggers LOGGING quietens are opened up too (the stripe SDK logs requests at DEBUG/INFO).
    quiet = {name: logging.getLogger(name).level for name in ("stripe", "django.request", "django.security")}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in quiet:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(saved_level)
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)


def _journey(stripe_gateway, capture) -> dict:
    """Returns every secret the journey handled."""
    secrets = {"password": PASSWORD, "new_password": NEW_PASSWORD, "reset_password": RESET_PASSWORD}
    product = ProductFactory(stock=5)
    anonymous = APIClient()

    cart = anonymous.post("/api/cart/add/", {"product_id": product.pk, "quantity": 1}, format="json")
    assert cart.status_code == 201
    secrets["cart_token"] = cart.json()["cart_token"]

    registered = anonymous.post(
        "/api/auth/register/", {"email": "grace@example.com", "password": PASSWORD}, format="json"
    )
    assert registered.status_code == 201, registered.content
    secrets["register_access"] = registered.json()["access"]
    secrets["register_refresh"] = registered.json()["refresh"]
    # A wrong password, then the right one (with the anonymous cart merged in).
    assert anonymous.post("/api/token/", {"email": "grace@example.com", "password": PASSWORD + "x"}).status_code == 401
    login = anonymous.post(
        "/api/auth/login/",
        {"email": "grace@example.com", "password": PASSWORD},
        format="json",
        HTTP_X_CART_TOKEN=secrets["cart_token"],
    )
    assert login.status_code == 200, login.content
    secrets["access"], secrets["refresh"] = login.json()["access"], login.json()["refresh"]
    refreshed = APIClient().post("/api/token/refresh/", {"refresh": secrets["refresh"]}, format="json")
    assert refreshed.status_code == 200
    secrets["access2"], secrets["refresh2"] = refreshed.json()["access"], refreshed.json()["refresh"]

    customer = APIClient()
    customer.credentials(HTTP_AUTHORIZATION=f"Bearer {secrets['access2']}")
    address = customer.post(
        "/api/addresses/",
        {"full_name": "Grace Hopper", "phone": "+1 555 0100", "line1": "1 Navy Way", "city": "Arlington",
         "postal_code": "22202", "country": "US"},
        format="json",
    )  # fmt: skip
    assert address.status_code == 201, address.content
    order = customer.post(
        "/api/orders/create/",
        {"shipping_address_id": address.json()["id"], "payment_method": "card"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="journey-order",
    )
    assert order.status_code == 201, order.content
    order_id = order.json()["id"]

    # A client that wrongly sends card data along: refused or ignored, never logged.
    customer.post(
        "/api/payments/payment-intent/",
        {"order_id": "x", "card_number": CARD, "cvc": "123", "card": {"number": CARD_SPACED}},
        format="json",
    )
    intent = customer.post("/api/payments/payment-intent/", {"order_id": order_id, "card_number": CARD}, format="json")
    assert intent.status_code == 200, intent.content
    secrets["client_secret"] = intent.json()["client_secret"]
    intent_id = intent.json()["payment_intent_id"]
    amount = Payment.objects.get(provider_payment_id=intent_id).amount_minor

    event = {
        "id": f"evt_logs_{time.time_ns()}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "api_version": "2025-09-30.clover",
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "status": "succeeded",
                "amount": amount,
                "amount_received": amount,
                "currency": "usd",
                "client_secret": secrets["client_secret"],
                "metadata": {"order_id": str(order_id)},
                "payment_method_details": {"card": {"number": CARD}},
            }
        },
    }
    payload = json.dumps(event)
    bad = APIClient().post(
        "/api/payments/webhook/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00"
    )
    assert bad.status_code == 400
    hook = APIClient().post(
        "/api/payments/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_payload(payload, WEBHOOK_SECRET),
    )
    assert hook.status_code == 200, hook.content
    assert customer.get(f"/api/orders/{order_id}/").json()["status"] == "PAID"

    changed = customer.post(
        "/api/auth/change-password/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert changed.status_code == 200, changed.content
    # The change refused every earlier token: sign in again with the new password.
    relogin = APIClient().post("/api/token/", {"email": "grace@example.com", "password": NEW_PASSWORD}, format="json")
    assert relogin.status_code == 200, relogin.content
    secrets["access3"] = relogin.json()["access"]
    customer.credentials(HTTP_AUTHORIZATION=f"Bearer {secrets['access3']}")
    wrong = customer.post(
        "/api/auth/change-password/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert wrong.status_code == 400

    mail.outbox.clear()
    with capture(execute=True):  # the reset e-mail goes out after commit
        assert APIClient().post("/api/auth/password-reset/", {"email": "grace@example.com"}).status_code == 202
    link = re.search(r"uid=([\w-]+)&(?:amp;)?token=([\w-]+)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    secrets["reset_token"] = link.group(2)
    confirm = APIClient().post(
        "/api/auth/password-reset/confirm/",
        {"uid": link.group(1), "token": secrets["reset_token"], "new_password": RESET_PASSWORD},
        format="json",
    )
    assert confirm.status_code == 200, confirm.content
    logout = customer.post("/api/auth/logout/", {"refresh": secrets["refresh2"]}, format="json")
    assert logout.status_code == 401  # refresh2 was revoked by the password change (and the reset)
    secrets["stripe_secret_key"] = SECRET_KEY
    secrets["webhook_secret"] = WEBHOOK_SECRET
    secrets["card"] = CARD
    secrets["card_spaced"] = CARD_SPACED
    return secrets


def test_a_full_journey_logs_no_secret(db, stripe_gateway, project_log_output, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        secrets = _journey(stripe_gateway, django_capture_on_commit_callbacks)

    output = project_log_output.getvalue()
    assert len(output.splitlines()) >= 10, output  # the journey did log (requests, orders, payments)
    leaked = {name: value for name, value in secrets.items() if value and value in output}
    assert not leaked, f"secrets in the logs: {sorted(leaked)}"
    assert CARD_SPACED.replace(" ", "") not in output.replace(" ", "")
    # JWTs have one recognisable shape: none may appear at all, whoever's.
    assert not re.search(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}", output)
