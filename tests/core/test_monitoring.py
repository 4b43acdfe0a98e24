"""Error monitoring (issue 15, part 6): with a DSN, unhandled errors of requests and Celery tasks reach
Sentry as one event each, with no token, password, cookie or card number in them. The real SDK posts
to a local fake ingestion server (tests.core.fake_sentry)."""

import json
import urllib.error
import urllib.request

import pytest
import sentry_sdk

from novacart.celery import app as celery_app
from novacart.logging import redact_data
from novacart.monitoring import sentry_init
from tests.core.boom_urls import SECRET_TEXT
from tests.core.fake_sentry import FakeSentry
from tests.core.test_settings import _django_setup
from users.services import tokens_for_user

PASSWORD = "correct-Horse-battery-staple-91"
SESSION_ID = "f3c9a1e0b7d24c5e9a8b6d4c2e0f1a3b"
QUERY_TOKEN = "qtok-5d1e8f2a9c7b"
CARD = "4000056655665556"  # a Luhn-valid test card number
CARD_SPACED = "4000 0566 5566 5556"
TASK_TOKEN = "ttok-8e2b4c6a1f9d"
# Personal data (issue 15: none reaches Sentry, a third party) and secrets with no recognisable shape.
EMAIL = "ada.lovelace@example.com"
PHONE = "+44 20 7946 0958"
KEY_SECRET = "rzpsecret4Xq9Lm2"  # a Razorpay key secret: a bare value under a name ending in _secret
SIGNATURE = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.fixture
def sentry():
    """The SDK initialised as the settings do with SENTRY_DSN, pointed at a fake server; closed after."""
    server = FakeSentry().start()
    assert sentry_init(dsn=server.dsn, environment="test", release="abc123", traces_sample_rate=None)
    yield server
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)
    server.stop()


def _delivered(server: FakeSentry) -> list[dict]:
    sentry_sdk.flush(timeout=5)
    return server.events()


def _post(url: str, body: dict, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the local live server)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.urls("tests.core.boom_urls")
def test_an_unhandled_error_in_a_request_is_one_event_without_secrets(sentry, live_server, user):
    """Over real HTTP through Django's WSGI handler, as gunicorn serves it."""
    tokens = tokens_for_user(user)
    body_token = tokens_for_user(user)["refresh"]

    status, body = _post(
        f"{live_server.url}/boom/drf/?token={QUERY_TOKEN}&page=2",
        {
            "password": PASSWORD,
            "refresh": body_token,
            "card_number": CARD_SPACED,
            "note": f"card {CARD}, write to {EMAIL}",
            "email": EMAIL,
            "phone": PHONE,
            "key_secret": KEY_SECRET,
        },
        {
            "X-Razorpay-Signature": SIGNATURE,
            "Authorization": f"Bearer {tokens['access']}",
            "Cookie": f"refresh={tokens['refresh']}; sessionid={SESSION_ID}",
            "X-Cart-Token": "cart-7c1d9e3f5a",
        },
    )

    assert status == 500
    assert body["errors"][0]["code"] == "error"
    [event] = _delivered(sentry)
    assert event["level"] == "error"
    [exception] = event["exception"]["values"]
    assert exception["type"] == "RuntimeError" and exception["value"] == SECRET_TEXT
    assert event["environment"] == "test" and event["release"] == "abc123"
    assert "user" not in event  # send_default_pii is off
    # The request was reported, each secret in it redacted (Sentry's own scrubber knows no "refresh").
    request = event["request"]
    assert request["url"].endswith("/boom/drf/") and request["method"] == "POST"
    assert request["data"]["refresh"] == "[redacted]"
    assert request["data"]["password"] == "[redacted]"
    assert request["data"]["note"] == "card [redacted-pan], write to [redacted-email]"
    assert request["data"]["email"] == request["data"]["phone"] == request["data"]["key_secret"] == "[redacted]"
    assert "page=2" in request["query_string"]
    assert request["headers"]["Content-Type"] == "application/json"
    raw = sentry.raw().decode()
    secrets = (tokens["access"], tokens["refresh"], body_token, PASSWORD, SESSION_ID, QUERY_TOKEN, CARD, CARD_SPACED)
    for secret in (*secrets, "cart-7c1d9e3f5a", EMAIL, PHONE, KEY_SECRET, SIGNATURE):
        assert secret not in raw


@celery_app.task(name="tests.core.test_monitoring.task_that_fails")
def task_that_fails(order_id, *, token):
    raise RuntimeError(f"order {order_id}: could not charge card {CARD}")


def test_a_failing_celery_task_is_one_event_without_secrets(sentry):
    # The suite runs tasks eagerly, propagating their errors; the Celery integration reports them there too.
    with pytest.raises(RuntimeError):
        task_that_fails.delay(7, token=TASK_TOKEN)

    [event] = _delivered(sentry)
    [exception] = event["exception"]["values"]
    assert exception["mechanism"]["type"] == "celery"
    assert exception["value"] == "order 7: could not charge card [redacted-pan]"
    assert event["extra"]["celery-job"]["task_name"] == "tests.core.test_monitoring.task_that_fails"
    raw = sentry.raw().decode()
    assert TASK_TOKEN not in raw and CARD not in raw


def test_a_handled_request_sends_nothing(sentry, api_client, db):
    assert api_client.get("/api/health/").status_code == 200

    assert _delivered(sentry) == []


def test_redact_data_redacts_strings_and_the_values_of_secret_keys():
    data = {
        "headers": {"Authorization": "Bearer x", "X-Cart-Token": "abc", "Accept": "application/json"},
        "cookies": {"sessionid": "s"},
        "body": [
            {"new_password": "p", "cvc": "123", "email": "a@example.com", "full_name": "Ada L", "line1": "1 St"},
            "password=hunter2&x=1",
            "no account for a@example.com",
            "page=2&q=ada.l%40example.com",
        ],
        "settings": {"RAZORPAY_KEY_SECRET": "k", "webhook_secret": "w", "Stripe-Signature": "t=1,v1=ab"},
        "count": 3,
    }

    assert redact_data(data) == {
        "headers": {"Authorization": "[redacted]", "X-Cart-Token": "[redacted]", "Accept": "application/json"},
        "cookies": "[redacted]",
        "body": [
            {
                "new_password": "[redacted]",
                "cvc": "[redacted]",
                "email": "[redacted]",
                "full_name": "[redacted]",
                "line1": "[redacted]",
            },
            "password=[redacted]&x=1",
            "no account for [redacted-email]",
            "page=2&q=[redacted-email]",
        ],
        "settings": {
            "RAZORPAY_KEY_SECRET": "[redacted]",
            "webhook_secret": "[redacted]",
            "Stripe-Signature": "[redacted]",
        },
        "count": 3,
    }


SENTRY_PROBE = (
    "import json, django, sentry_sdk; django.setup(); client = sentry_sdk.get_client(); "
    "options = client.options if client.is_active() else {}; "
    "print(json.dumps({'active': client.is_active(), "
    "'integrations': sorted(client.integrations) if client.is_active() else [], "
    "**{k: options.get(k) for k in ('environment', 'release', 'send_default_pii', 'traces_sample_rate')}}))"
)


def _sentry_options(**variables: str) -> dict:
    result = _django_setup(**variables, script=SENTRY_PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_without_a_dsn_nothing_is_initialised():
    assert _sentry_options(RENDER_GIT_COMMIT="0a1b2c3")["active"] is False


@pytest.mark.slow
def test_the_settings_initialise_sentry_with_a_dsn():
    options = _sentry_options(SENTRY_DSN="http://key@127.0.0.1:9/1", RENDER_GIT_COMMIT="0a1b2c3")

    assert options["active"] is True
    assert {"django", "celery"} <= set(options["integrations"])
    assert options["release"] == "0a1b2c3"  # Render's commit unless SENTRY_RELEASE says otherwise
    assert options["environment"] == "production"
    assert options["send_default_pii"] is False
    assert options["traces_sample_rate"] is None  # no traces unless asked for


@pytest.mark.slow
def test_release_environment_and_traces_come_from_the_settings():
    options = _sentry_options(
        SENTRY_DSN="http://key@127.0.0.1:9/1",
        SENTRY_RELEASE="novacart@1.4.0",
        RENDER_GIT_COMMIT="0a1b2c3",
        SENTRY_ENVIRONMENT="staging",
        SENTRY_TRACES_SAMPLE_RATE="0.25",
    )

    assert (options["release"], options["environment"], options["traces_sample_rate"]) == (
        "novacart@1.4.0",
        "staging",
        0.25,
    )


@pytest.mark.parametrize("rate", ["often", "1.5"])
def test_a_bad_traces_sample_rate_is_refused(rate):
    result = _django_setup(SENTRY_DSN="http://key@127.0.0.1:9/1", SENTRY_TRACES_SAMPLE_RATE=rate)

    assert result.returncode != 0
    assert "SENTRY_TRACES_SAMPLE_RATE must be" in result.stderr
