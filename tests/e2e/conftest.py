import pytest

from tests.payments.fake_stripe import SECRET_KEY, FakeStripe

WEBHOOK_SECRET = "whsec_test_e2e"


@pytest.fixture
def stripe_gateway(settings):
    """The real Stripe SDK against a local fake Stripe API (see tests/payments/fake_stripe.py)."""
    server = FakeStripe().start()
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_e2e"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    yield server
    server.stop()
