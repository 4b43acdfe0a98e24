"""Registration, JWT obtain/refresh/verify, logout and the HttpOnly cookie transport."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.factories import DEFAULT_PASSWORD, UserFactory
from users.services import tokens_for_user

User = get_user_model()
pytestmark = pytest.mark.django_db


def assert_error_shape(body, *, code=None, attr=None):
    assert set(body) == {"type", "errors"}
    assert body["type"] in {"validation_error", "client_error", "server_error"}
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}
    if code is not None:
        assert code in [e["code"] for e in body["errors"]], body
    if attr is not None:
        assert attr in [e["attr"] for e in body["errors"]], body


# --- registration -----------------------------------------------------------


def test_register_creates_user_and_returns_tokens(api_client):
    response = api_client.post(
        "/api/auth/register/",
        {"email": "New.Person@Example.com", "password": "c0rrect-Horse-battery", "first_name": "Ada"},
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"user", "access", "refresh"}
    assert body["user"]["email"] == "new.person@example.com"
    assert body["user"]["first_name"] == "Ada"
    assert body["user"]["is_staff"] is False
    assert "password" not in body["user"]
    user = User.objects.get(email="new.person@example.com")
    assert user.check_password("c0rrect-Horse-battery")
    assert not user.is_staff
    assert AccessToken(body["access"])["user_id"] == str(user.pk)
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.get("/api/auth/me/").json()["email"] == "new.person@example.com"


def test_register_ignores_is_staff_in_the_body(api_client):
    response = api_client.post(
        "/api/auth/register/",
        {"email": "sneaky@example.com", "password": "c0rrect-Horse-battery", "is_staff": True, "is_superuser": True},
    )

    assert response.status_code == 201
    user = User.objects.get(email="sneaky@example.com")
    assert not user.is_staff and not user.is_superuser


@pytest.mark.parametrize("email", ["taken@example.com", "TAKEN@Example.COM"])
def test_register_duplicate_email_is_refused_whatever_the_case(api_client, email):
    UserFactory(email="taken@example.com")

    response = api_client.post("/api/auth/register/", {"email": email, "password": "c0rrect-Horse-battery"})

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert_error_shape(body, code="email_taken", attr="email")
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short1!", "password_too_short"),
        ("password123", "password_too_common"),
        ("8237461928374619", "password_entirely_numeric"),
        ("weakling@example.com", "password_too_similar"),
    ],
)
def test_register_weak_password_reports_djangos_codes(api_client, password, code):
    response = api_client.post("/api/auth/register/", {"email": "weakling@example.com", "password": password})

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert_error_shape(body, code=code, attr="password")
    assert not User.objects.filter(email="weakling@example.com").exists()


def test_register_rejects_an_invalid_email(api_client):
    response = api_client.post("/api/auth/register/", {"email": "not-an-email", "password": "c0rrect-Horse-battery"})

    assert response.status_code == 400
    assert_error_shape(response.json(), code="invalid", attr="email")


# --- token obtain / refresh / verify ----------------------------------------


def test_token_obtain_with_email_and_password(api_client, user):
    response = api_client.post("/api/token/", {"email": user.email.upper(), "password": DEFAULT_PASSWORD})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert AccessToken(body["access"])["user_id"] == str(user.pk)


def test_token_obtain_with_a_wrong_password_is_401(api_client, user):
    response = api_client.post("/api/token/", {"email": user.email, "password": "wrong-password"})

    assert response.status_code == 401
    assert_error_shape(response.json(), code="no_active_account")


def test_token_lifetimes_are_an_hour_and_a_week(api_client, user):
    body = api_client.post("/api/token/", {"email": user.email, "password": DEFAULT_PASSWORD}).json()

    access = AccessToken(body["access"])
    refresh = RefreshToken(body["refresh"])
    assert access["exp"] - access["iat"] == 60 * 60
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 60 * 60


def test_refresh_rotates_and_blacklists_the_old_token(api_client, user):
    old = api_client.post("/api/token/", {"email": user.email, "password": DEFAULT_PASSWORD}).json()["refresh"]

    first = api_client.post("/api/token/refresh/", {"refresh": old})
    assert first.status_code == 200, first.json()
    new = first.json()
    assert set(new) == {"access", "refresh"}
    assert new["refresh"] != old

    replay = api_client.post("/api/token/refresh/", {"refresh": old})
    assert replay.status_code == 401
    assert_error_shape(replay.json(), code="token_not_valid")
    assert BlacklistedToken.objects.filter(token__jti=RefreshToken(new["refresh"], verify=False)["jti"]).count() == 0

    again = api_client.post("/api/token/refresh/", {"refresh": new["refresh"]})
    assert again.status_code == 200


def test_refresh_for_a_deleted_user_is_401_not_500(api_client, user):
    refresh = str(RefreshToken.for_user(user))
    user.delete()

    response = api_client.post("/api/token/refresh/", {"refresh": refresh})

    assert response.status_code == 401
    assert_error_shape(response.json())


def test_refresh_for_an_inactive_user_is_401(api_client, user):
    refresh = str(RefreshToken.for_user(user))
    user.is_active = False
    user.save()

    response = api_client.post("/api/token/refresh/", {"refresh": refresh})

    assert response.status_code == 401
    assert_error_shape(response.json(), code="no_active_account")


def test_refresh_with_garbage_is_401(api_client):
    response = api_client.post("/api/token/refresh/", {"refresh": "not-a-token"})

    assert response.status_code == 401
    assert_error_shape(response.json(), code="token_not_valid")


def test_verify_accepts_a_valid_token_and_refuses_a_forged_one(api_client, user):
    access = tokens_for_user(user)["access"]

    assert api_client.post("/api/token/verify/", {"token": access}).status_code == 200
    forged = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
    response = api_client.post("/api/token/verify/", {"token": forged})
    assert response.status_code == 401
    assert_error_shape(response.json(), code="token_not_valid")


# --- logout -------------------------------------------------------------------


def test_logout_blacklists_the_refresh_token(api_client, user):
    tokens = api_client.post("/api/token/", {"email": user.email, "password": DEFAULT_PASSWORD}).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = api_client.post("/api/auth/logout/", {"refresh": tokens["refresh"]})

    assert response.status_code == 200
    api_client.credentials()
    refused = api_client.post("/api/token/refresh/", {"refresh": tokens["refresh"]})
    assert refused.status_code == 401
    assert_error_shape(refused.json(), code="token_not_valid")


def test_logout_requires_authentication(api_client, user):
    refresh = str(RefreshToken.for_user(user))

    response = api_client.post("/api/auth/logout/", {"refresh": refresh})

    assert response.status_code == 401
    assert_error_shape(response.json(), code="not_authenticated")
    assert api_client.post("/api/token/refresh/", {"refresh": refresh}).status_code == 200


def test_logout_with_an_invalid_refresh_token_is_401(user_client):
    response = user_client.post("/api/auth/logout/", {"refresh": "garbage"})

    assert response.status_code == 401
    assert_error_shape(response.json(), code="token_not_valid")


def test_logout_cannot_revoke_another_users_refresh_token(user_client, other_user):
    theirs = str(RefreshToken.for_user(other_user))

    response = user_client.post("/api/auth/logout/", {"refresh": theirs})

    assert response.status_code == 401
    assert_error_shape(response.json(), code="token_not_valid")
    assert APIClient().post("/api/token/refresh/", {"refresh": theirs}).status_code == 200


# --- cookie transport -------------------------------------------------------------


def _cookie_login(client, user):
    response = client.post("/api/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.json()
    return response


def test_login_sets_httponly_cookies_and_returns_tokens(user):
    client = APIClient(enforce_csrf_checks=True)

    response = _cookie_login(client, user)

    body = response.json()
    assert set(body) == {"access", "refresh"}
    access_cookie = response.cookies[settings.AUTH_COOKIE_ACCESS]
    refresh_cookie = response.cookies[settings.AUTH_COOKIE_REFRESH]
    assert access_cookie.value == body["access"]
    assert refresh_cookie.value == body["refresh"]
    for cookie in (access_cookie, refresh_cookie):
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
    assert int(access_cookie["max-age"]) == 60 * 60
    assert int(refresh_cookie["max-age"]) == 7 * 24 * 60 * 60
    assert "csrftoken" in response.cookies
    assert response.cookies["csrftoken"]["httponly"] == ""  # the SPA has to read it


def test_login_with_a_wrong_password_sets_no_cookie(user):
    client = APIClient(enforce_csrf_checks=True)

    response = client.post("/api/auth/login/", {"email": user.email, "password": "nope-nope-nope"})

    assert response.status_code == 401
    assert_error_shape(response.json(), code="no_active_account")
    assert settings.AUTH_COOKIE_ACCESS not in response.cookies


def test_login_refuses_an_inactive_user(user):
    user.is_active = False
    user.save()

    response = APIClient().post("/api/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 401


def test_cookie_alone_authenticates_a_safe_request(user):
    client = APIClient(enforce_csrf_checks=True)
    _cookie_login(client, user)

    response = client.get("/api/auth/me/")

    assert response.status_code == 200
    assert response.json()["email"] == user.email


def test_cookie_authenticated_post_without_csrf_token_is_403(user):
    client = APIClient(enforce_csrf_checks=True)
    _cookie_login(client, user)
    old_password_hash = User.objects.get(pk=user.pk).password

    response = client.post(
        "/api/auth/change-password/", {"old_password": DEFAULT_PASSWORD, "new_password": "An0ther-long-pass"}
    )

    assert response.status_code == 403
    body = response.json()
    assert body["type"] == "client_error"
    assert_error_shape(body, code="permission_denied")
    assert "CSRF" in body["errors"][0]["detail"]
    assert User.objects.get(pk=user.pk).password == old_password_hash


def test_cookie_authenticated_patch_without_csrf_token_is_403(user):
    client = APIClient(enforce_csrf_checks=True)
    _cookie_login(client, user)

    response = client.patch("/api/auth/me/", {"first_name": "Mallory"})

    assert response.status_code == 403
    assert User.objects.get(pk=user.pk).first_name != "Mallory"


def test_cookie_authenticated_post_with_csrf_token_passes(user):
    client = APIClient(enforce_csrf_checks=True)
    login = _cookie_login(client, user)
    csrf = login.cookies["csrftoken"].value

    response = client.post(
        "/api/auth/change-password/",
        {"old_password": DEFAULT_PASSWORD, "new_password": "An0ther-long-pass"},
        HTTP_X_CSRFTOKEN=csrf,
    )

    assert response.status_code == 200, response.json()
    assert User.objects.get(pk=user.pk).check_password("An0ther-long-pass")


def test_header_auth_needs_no_csrf_token(user):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user)['access']}")

    response = client.patch("/api/auth/me/", {"first_name": "Grace"})

    assert response.status_code == 200
    assert User.objects.get(pk=user.pk).first_name == "Grace"


def test_an_invalid_access_cookie_is_401(user):
    client = APIClient(enforce_csrf_checks=True)
    client.cookies[settings.AUTH_COOKIE_ACCESS] = "garbage"

    response = client.get("/api/auth/me/")

    assert response.status_code == 401
    assert_error_shape(response.json(), code="token_not_valid")


def test_cookie_logout_blacklists_the_refresh_cookie_and_clears_cookies(user):
    client = APIClient(enforce_csrf_checks=True)
    login = _cookie_login(client, user)
    refresh = login.json()["refresh"]

    response = client.post("/api/auth/logout/", {}, HTTP_X_CSRFTOKEN=login.cookies["csrftoken"].value)

    assert response.status_code == 200
    assert response.cookies[settings.AUTH_COOKIE_ACCESS].value == ""
    assert response.cookies[settings.AUTH_COOKIE_REFRESH].value == ""
    assert int(response.cookies[settings.AUTH_COOKIE_ACCESS]["max-age"]) == 0
    assert APIClient().post("/api/token/refresh/", {"refresh": refresh}).status_code == 401
    assert client.get("/api/auth/me/").status_code == 401


def test_cookie_logout_without_csrf_token_is_403_and_revokes_nothing(user):
    client = APIClient(enforce_csrf_checks=True)
    refresh = _cookie_login(client, user).json()["refresh"]

    response = client.post("/api/auth/logout/", {})

    assert response.status_code == 403
    assert APIClient().post("/api/token/refresh/", {"refresh": refresh}).status_code == 200


def test_refresh_cookie_is_scoped_to_the_api(user):
    response = _cookie_login(APIClient(), user)

    assert response.cookies[settings.AUTH_COOKIE_REFRESH]["path"] == "/api/"
    assert response.cookies[settings.AUTH_COOKIE_ACCESS]["path"] == "/"


def test_cookie_refresh_rotates_the_cookies_with_a_csrf_token(user):
    client = APIClient(enforce_csrf_checks=True)
    login = _cookie_login(client, user)
    old_refresh = login.json()["refresh"]

    response = client.post("/api/token/refresh/", {}, HTTP_X_CSRFTOKEN=login.cookies["csrftoken"].value)

    assert response.status_code == 200, response.json()
    new_refresh = response.cookies[settings.AUTH_COOKIE_REFRESH].value
    assert new_refresh == response.json()["refresh"] != old_refresh
    assert response.cookies[settings.AUTH_COOKIE_ACCESS].value == response.json()["access"]
    assert response.cookies[settings.AUTH_COOKIE_ACCESS]["httponly"] is True
    assert APIClient().post("/api/token/refresh/", {"refresh": old_refresh}).status_code == 401
    assert client.get("/api/auth/me/").status_code == 200


def test_cookie_refresh_without_a_csrf_token_is_403_and_rotates_nothing(user):
    client = APIClient(enforce_csrf_checks=True)
    refresh = _cookie_login(client, user).json()["refresh"]

    response = client.post("/api/token/refresh/", {})

    assert response.status_code == 403
    assert_error_shape(response.json(), code="permission_denied")
    assert APIClient().post("/api/token/refresh/", {"refresh": refresh}).status_code == 200


def test_refresh_without_body_or_cookie_is_400(api_client):
    response = api_client.post("/api/token/refresh/", {})

    assert response.status_code == 400
    assert_error_shape(response.json(), code="required", attr="refresh")
