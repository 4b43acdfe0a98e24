import pytest

from tests.payments.fake_stripe import SECRET_KEY, FakeStripe
from tests.payments.helpers import WEBHOOK_SECRET


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


@pytest.fixture
def dummy_gateway(settings):
    """The development gateway. Settings refuse it with DEBUG off at load time; a test may allow it."""
    settings.PAYMENT_GATEWAY = "dummy"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


# 5xx answers (502/503 payment_provider_error, 500 from a failing webhook handler) are rendered in the
# error shape *and* reported through got_request_exception, which Django's test client re-raises by
# default. Payment tests look at the response a client (or Stripe) gets instead.
@pytest.fixture
def api_client(api_client):
    api_client.raise_request_exception = False
    return api_client


@pytest.fixture
def user_client(user_client):
    user_client.raise_request_exception = False
    return user_client


@pytest.fixture
def other_client(other_client):
    other_client.raise_request_exception = False
    return other_client


@pytest.fixture
def staff_client(staff_client):
    staff_client.raise_request_exception = False
    return staff_client
