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
