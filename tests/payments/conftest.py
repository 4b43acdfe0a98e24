import pytest

from tests.payments.helpers import WEBHOOK_SECRET


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
