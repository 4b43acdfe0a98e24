import pytest


@pytest.fixture
def lower_rates(settings):
    """Lowers throttle rates for one test (the test settings' rates are generous): lower_rates(login="3/min")."""

    def lower(**rates):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }

    return lower


@pytest.fixture
def fake_google(settings):
    """Google sign-in configured against a local certificate server (tests.users.fake_google)."""
    from tests.users.fake_google import CLIENT_ID, FakeGoogleCerts

    server = FakeGoogleCerts().start()
    settings.GOOGLE_CLIENT_ID = CLIENT_ID
    settings.GOOGLE_CERTS_URL = server.url
    settings.GOOGLE_CERTS_TIMEOUT_SECONDS = 2
    yield server
    server.stop()
