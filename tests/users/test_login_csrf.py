"""Login CSRF: the endpoints that sign a browser in (login sets the auth cookies; registration signs
the new account in) refuse cross-site requests. A page on another site can make a browser POST a
form there (no preflight), which signed the victim into the attacker's account; now such a request
is a 403 `cross_site_request` without a cookie, and anything but JSON is refused anyway (415)."""

from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD
from tests.users.test_auth import assert_error_shape

User = get_user_model()
pytestmark = pytest.mark.django_db

EVIL = "http://evil.example"
SPA = "https://app.example.com"
SHOP = "https://shop.example.com"
REGISTRATION = {"email": "victim-signed-in-as-me@example.com", "password": "c0rrect-Horse-battery"}


@pytest.fixture(autouse=True)
def _trusted_origins(settings):
    settings.CORS_ALLOWED_ORIGINS = [SPA]
    settings.CSRF_TRUSTED_ORIGINS = [SHOP, "https://*.shops.example.net"]


@pytest.fixture
def endpoints(user):
    """(path, body) of each endpoint that signs a browser in."""
    return [
        ("/api/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD}),
        ("/api/auth/register/", REGISTRATION),
    ]


def _form_post(path, body, **headers):
    return APIClient().post(path, urlencode(body), content_type="application/x-www-form-urlencoded", **headers)


def _json_post(path, body, **headers):
    return APIClient().post(path, body, format="json", **headers)


def _assert_refused(response, status, code):
    assert response.status_code == status, response.content
    assert_error_shape(response.json(), code=code)
    assert not response.cookies
    assert "Set-Cookie" not in response
    assert not User.objects.filter(email=REGISTRATION["email"]).exists()


def test_a_cross_site_form_post_is_refused_and_sets_no_cookie(endpoints):
    for path, body in endpoints:
        response = _form_post(path, body, HTTP_ORIGIN=EVIL)

        _assert_refused(response, 403, "cross_site_request")
        assert response.json()["type"] == "client_error"


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": EVIL},
        {"HTTP_ORIGIN": "null"},  # sandboxed frames and some redirects send this
        {"HTTP_ORIGIN": "https://app.example.com.evil.example"},
        {"HTTP_ORIGIN": "http://app.example.com"},  # right host, wrong scheme
        {"HTTP_REFERER": f"{EVIL}/page.html"},  # no Origin: the Referer decides
        {"HTTP_ORIGIN": EVIL, "HTTP_REFERER": f"{SPA}/login"},  # the Origin wins
    ],
    ids=["other-site", "null", "suffix-lookalike", "wrong-scheme", "referer", "origin-over-referer"],
)
def test_a_cross_site_json_post_is_refused(endpoints, headers):
    for path, body in endpoints:
        _assert_refused(_json_post(path, body, **headers), 403, "cross_site_request")


def test_anything_but_json_is_refused_without_an_origin_too(endpoints):
    for path, body in endpoints:
        _assert_refused(_form_post(path, body), 415, "unsupported_media_type")
        response = APIClient().post(path, body, format="multipart")
        _assert_refused(response, 415, "unsupported_media_type")
        text = APIClient().post(path, '{"email": "x"}', content_type="text/plain", HTTP_ORIGIN=SPA)
        _assert_refused(text, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": SPA},  # CORS_ALLOWED_ORIGINS
        {"HTTP_ORIGIN": SHOP},  # CSRF_TRUSTED_ORIGINS
        {"HTTP_ORIGIN": "https://eu.shops.example.net"},  # a CSRF_TRUSTED_ORIGINS wildcard
        {"HTTP_ORIGIN": "http://testserver"},  # the API's own origin
        {"HTTP_REFERER": f"{SPA}/login?next=/cart"},
        {},  # no Origin at all: mobile apps, server-side clients
    ],
    ids=["cors-origin", "csrf-trusted-origin", "wildcard", "own-origin", "referer", "no-origin"],
)
def test_a_same_origin_spa_sign_in_works(user, headers):
    login = _json_post("/api/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD}, **headers)
    register = _json_post("/api/auth/register/", REGISTRATION, **headers)

    assert login.status_code == 200, login.content
    assert login.cookies["access"].value == login.json()["access"]
    assert register.status_code == 201, register.content
    assert User.objects.filter(email=REGISTRATION["email"]).exists()


def test_a_refused_cross_site_attempt_does_not_count_as_a_failed_sign_in(user, lower_rates):
    lower_rates(login="1/min", login_account="1/hour")

    for _ in range(3):
        _json_post("/api/auth/login/", {"email": user.email, "password": "wrong"}, HTTP_ORIGIN=EVIL)

    assert _json_post("/api/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 200
