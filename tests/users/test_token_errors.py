"""A refused token is one error item with one documented code: never SimpleJWT's internals."""

import base64
import json
from datetime import timedelta

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

INTERNALS = ("token_class", "token_type", "messages", "AccessToken", "RefreshToken")


def _login(user) -> dict:
    response = APIClient().post("/api/token/", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.json()
    return response.json()


def _expired(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(minutes=1))
    return str(token)


def _tampered(user) -> str:
    """The user's real access token with its payload changed (another user id) and the signature kept."""
    header, payload, signature = _login(user)["access"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["user_id"] = str(user.pk + 1)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


BAD_ACCESS = {
    "expired": _expired,
    "tampered": _tampered,
    "refresh used as access": lambda user: _login(user)["refresh"],
    "garbage": lambda user: "not-a-jwt",
}


def assert_one_error(response, code: str) -> dict:
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["type"] == "client_error"
    assert len(body["errors"]) == 1, body
    [error] = body["errors"]
    assert set(error) == {"code", "detail", "attr"}
    assert error["code"] == code
    assert error["attr"] is None
    assert error["detail"]
    text = json.dumps(body)
    for internal in INTERNALS:
        assert internal not in text, body
    return error


@pytest.mark.parametrize("kind", BAD_ACCESS)
def test_a_bad_bearer_token_is_one_error_item(user, kind):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {BAD_ACCESS[kind](user)}")

    response = client.get("/api/auth/me/")

    assert_one_error(response, "token_not_valid")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("kind", BAD_ACCESS)
def test_a_bad_access_cookie_is_one_error_item(user, kind):
    client = APIClient(enforce_csrf_checks=True)
    client.cookies[settings.AUTH_COOKIE_ACCESS] = BAD_ACCESS[kind](user)

    assert_one_error(client.get("/api/auth/me/"), "token_not_valid")


def test_an_expired_token_says_so_in_its_one_item(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_expired(user)}")

    error = assert_one_error(client.get("/api/auth/me/"), "token_not_valid")

    assert "expired" in error["detail"].lower()


@pytest.mark.parametrize(
    "refresh",
    [
        pytest.param(lambda user: _login(user)["access"], id="access used as refresh"),
        pytest.param(lambda user: _tampered(user), id="tampered"),
        pytest.param(lambda user: "not-a-jwt", id="garbage"),
    ],
)
def test_a_bad_refresh_token_is_one_error_item(user, refresh):
    response = APIClient().post("/api/token/refresh/", {"refresh": refresh(user)})

    assert_one_error(response, "token_not_valid")


def test_verify_refuses_a_bad_token_with_one_error_item(user):
    response = APIClient().post("/api/token/verify/", {"token": _tampered(user)})

    assert_one_error(response, "token_not_valid")


def test_the_token_of_a_deleted_user_is_one_error_item(user):
    access = _login(user)["access"]
    user.delete()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    assert_one_error(client.get("/api/auth/me/"), "user_not_found")


def test_a_malformed_authorization_header_is_one_error_item(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer two parts")

    assert_one_error(client.get("/api/auth/me/"), "bad_authorization_header")
