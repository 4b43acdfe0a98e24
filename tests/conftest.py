import os

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import StaffFactory, UserFactory
from tests.payments import fake_razorpay
from tests.payments.fake_razorpay import FakeRazorpay
from tests.payments.fake_stripe import SECRET_KEY, FakeStripe
from tests.payments.helpers import WEBHOOK_SECRET
from tests.users.fake_google import CLIENT_ID as GOOGLE_CLIENT_ID
from tests.users.fake_google import FakeGoogleCerts
from users.services import tokens_for_user


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client():
    return APIClient()


def auth_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user)['access']}")
    return client


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def user_client(user):
    return auth_client(user)


@pytest.fixture
def other_client(other_user):
    return auth_client(other_user)


@pytest.fixture
def staff_client(staff):
    return auth_client(staff)


# .ci/run sets this and starts PostgreSQL and Redis first: there, a test that needs a local service and
# cannot reach it fails instead of skipping, so CI never passes without running it.
REQUIRE_SERVICES = os.environ.get("NOVACART_REQUIRE_SERVICES") == "1"


def service_missing(reason: str):
    """A local service a test needs is not there: a failure in CI (REQUIRE_SERVICES), a skip elsewhere."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (NOVACART_REQUIRE_SERVICES=1: CI must run this test)")
    pytest.skip(reason)


requires_postgres = pytest.mark.skipif(
    not settings.IS_POSTGRES,
    reason="needs PostgreSQL row locks and real concurrency; CI runs the suite with DATABASE_URL=postgres://...",
)


# --- Stripe: the real SDK against a local fake (payments, e2e and security tests) ---


@pytest.fixture
def fake_stripe():
    """A local fake Stripe API on a free 127.0.0.1 port (tests.payments.fake_stripe)."""
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_gateway(settings, fake_stripe):
    """The real Stripe gateway and SDK, pointed at the fake server; no SDK retries unless a test asks."""
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_novacart_fake"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake_stripe.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 2
    return fake_stripe


# --- Razorpay: the official SDK against a local fake (tests.payments.fake_razorpay) ---


@pytest.fixture
def fake_razorpay_server():
    server = FakeRazorpay().start()
    yield server
    server.stop()


@pytest.fixture
def razorpay_gateway(settings, fake_razorpay_server):
    """The real Razorpay gateway and SDK, pointed at the fake server, for orders in rupees."""
    settings.PAYMENT_GATEWAY = "razorpay"
    settings.RAZORPAY_KEY_ID = fake_razorpay.KEY_ID
    settings.RAZORPAY_KEY_SECRET = fake_razorpay.KEY_SECRET
    settings.RAZORPAY_WEBHOOK_SECRET = fake_razorpay.WEBHOOK_SECRET
    settings.RAZORPAY_API_BASE = fake_razorpay_server.url
    settings.RAZORPAY_TIMEOUT_SECONDS = 1
    settings.STORE_CURRENCY = "inr"
    return fake_razorpay_server


# --- Google sign-in: google-auth against a local certificate server (users, security tests) ---


@pytest.fixture
def fake_google(settings):
    """Google sign-in configured against a local certificate server (tests.users.fake_google)."""
    server = FakeGoogleCerts().start()
    settings.GOOGLE_CLIENT_ID = GOOGLE_CLIENT_ID
    settings.GOOGLE_CERTS_URL = server.url
    settings.GOOGLE_CERTS_TIMEOUT_SECONDS = 2
    yield server
    server.stop()
