"""A password change or reset refuses every token issued before it, access tokens included, and a
logout refuses that session's access token: at the cost of no extra query per request."""

from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import aware_utcnow

from addresses.models import Address
from tests.factories import DEFAULT_PASSWORD
from tests.users.test_account import NEW_PASSWORD, _request_reset, _uid_and_token
from tests.users.test_token_errors import assert_one_error

pytestmark = pytest.mark.django_db

ADDRESS = {
    "full_name": "Ada Lovelace",
    "phone": "+44 20 7946 0958",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
    "address_type": "HOME",
}


def _login(user, password=DEFAULT_PASSWORD, path="/api/token/") -> dict:
    response = APIClient().post(path, {"email": user.email, "password": password})
    assert response.status_code == 200, response.json()
    return response.json()


def _bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _change_password(access: str):
    response = _bearer(access).post(
        "/api/auth/change-password/", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 200, response.json()


# --- password change and reset ------------------------------------------------------------------


def test_a_password_change_refuses_every_earlier_access_token(user):
    this_session, other_session = _login(user), _login(user, path="/api/auth/login/")

    _change_password(this_session["access"])

    for access in (this_session["access"], other_session["access"]):
        assert_one_error(_bearer(access).get("/api/auth/me/"), "password_changed")
        assert_one_error(_bearer(access).post("/api/addresses/", ADDRESS, format="json"), "password_changed")
    assert not Address.objects.filter(user=user).exists()


def test_a_password_change_refuses_every_earlier_refresh_token_with_password_changed(user, api_client):
    this_session, other_session = _login(user), _login(user)

    _change_password(this_session["access"])

    for refresh in (this_session["refresh"], other_session["refresh"]):
        assert_one_error(api_client.post("/api/token/refresh/", {"refresh": refresh}), "password_changed")


def test_the_login_right_after_a_password_change_works(user):
    _change_password(_login(user)["access"])

    fresh = _login(user, NEW_PASSWORD)

    assert _bearer(fresh["access"]).get("/api/auth/me/").status_code == 200
    rotated = APIClient().post("/api/token/refresh/", {"refresh": fresh["refresh"]})
    assert rotated.status_code == 200, rotated.json()
    assert _bearer(rotated.json()["access"]).get("/api/auth/me/").status_code == 200


def test_tokens_of_the_same_second_as_the_change_are_told_apart(user):
    """`iat` has whole seconds: a token issued in the second of the change, before it, is refused, and
    one issued in that second after it works."""
    one_second = aware_utcnow().replace(microsecond=0)
    with mock.patch("rest_framework_simplejwt.tokens.aware_utcnow", return_value=one_second):
        before = _login(user)
        _change_password(before["access"])
        after = _login(user, NEW_PASSWORD)

    assert AccessToken(before["access"])["iat"] == AccessToken(after["access"])["iat"]
    assert_one_error(_bearer(before["access"]).get("/api/auth/me/"), "password_changed")
    assert _bearer(after["access"]).get("/api/auth/me/").status_code == 200


def test_a_password_reset_refuses_every_earlier_token(api_client, user, django_capture_on_commit_callbacks):
    header_session = _login(user)
    cookie_client = APIClient(enforce_csrf_checks=True)
    cookie_client.post("/api/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD})
    library_refresh = str(RefreshToken.for_user(user))  # a refresh token without our claims
    _request_reset(api_client, user.email, django_capture_on_commit_callbacks)
    _, uid, token = _uid_and_token(mail.outbox[0])

    confirm = api_client.post(
        "/api/auth/password-reset/confirm/", {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    )

    assert confirm.status_code == 200, confirm.json()
    assert_one_error(_bearer(header_session["access"]).get("/api/auth/me/"), "password_changed")
    assert_one_error(cookie_client.get("/api/auth/me/"), "password_changed")
    for refresh in (header_session["refresh"], library_refresh):
        assert_one_error(api_client.post("/api/token/refresh/", {"refresh": refresh}), "password_changed")
    assert _bearer(_login(user, NEW_PASSWORD)["access"]).get("/api/auth/me/").status_code == 200


def test_verify_refuses_a_token_issued_before_a_password_change(user, api_client):
    session = _login(user)

    _change_password(session["access"])

    for token in (session["access"], session["refresh"]):
        assert_one_error(api_client.post("/api/token/verify/", {"token": token}), "password_changed")
    assert api_client.post("/api/token/verify/", {"token": _login(user, NEW_PASSWORD)["access"]}).status_code == 200


def test_a_password_set_in_the_admin_refuses_earlier_tokens(user, client):
    session = _login(user)
    admin = type(user).objects.create_superuser(email="root@example.com", password=DEFAULT_PASSWORD)
    client.force_login(admin)

    response = client.post(
        f"/admin/users/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302, response.content[:2000]
    assert_one_error(_bearer(session["access"]).get("/api/auth/me/"), "password_changed")


# --- logout -------------------------------------------------------------------------------------


def test_logout_refuses_that_sessions_access_token_and_no_other(user):
    leaving, staying = _login(user), _login(user)
    client = _bearer(leaving["access"])

    assert client.post("/api/auth/logout/", {"refresh": leaving["refresh"]}).status_code == 200

    assert_one_error(client.get("/api/auth/me/"), "token_not_valid")
    assert_one_error(client.post("/api/addresses/", ADDRESS, format="json"), "token_not_valid")
    assert not Address.objects.filter(user=user).exists()
    assert _bearer(staying["access"]).get("/api/auth/me/").status_code == 200


def test_logout_without_a_refresh_token_still_ends_the_session(user, api_client):
    session = _login(user)
    client = _bearer(session["access"])

    assert client.post("/api/auth/logout/", {}).status_code == 200

    assert_one_error(client.get("/api/auth/me/"), "token_not_valid")
    assert_one_error(api_client.post("/api/token/refresh/", {"refresh": session["refresh"]}), "token_not_valid")


def test_cookie_logout_refuses_the_access_cookie_even_when_a_client_keeps_it(user):
    client = APIClient(enforce_csrf_checks=True)
    login = client.post("/api/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD})
    access = login.cookies[settings.AUTH_COOKIE_ACCESS].value

    logout = client.post("/api/auth/logout/", {}, HTTP_X_CSRFTOKEN=login.cookies["csrftoken"].value)

    assert logout.status_code == 200
    kept = APIClient(enforce_csrf_checks=True)
    kept.cookies[settings.AUTH_COOKIE_ACCESS] = access
    assert_one_error(kept.get("/api/auth/me/"), "token_not_valid")


def test_a_refresh_ends_the_access_tokens_of_the_spent_refresh_token(user, api_client):
    first = _login(user)

    rotated = api_client.post("/api/token/refresh/", {"refresh": first["refresh"]}).json()

    assert_one_error(_bearer(first["access"]).get("/api/auth/me/"), "token_not_valid")
    assert _bearer(rotated["access"]).get("/api/auth/me/").status_code == 200


def test_an_access_token_tied_to_no_session_is_refused(user):
    """Only the API mints access tokens, each tied to its refresh token; one made by hand with the
    signing key and no session could never be logged out."""
    untied = str(AccessToken.for_user(user))

    assert_one_error(_bearer(untied).get("/api/auth/me/"), "token_not_valid")


# --- the price: no query added ------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["header", "cookie"])
def test_the_revocation_checks_add_no_query(user, transport):
    """The user, the session's revocation and the password generation come in one indexed query."""
    session = _login(user)
    client = APIClient()
    if transport == "header":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {session['access']}")
    else:
        client.cookies[settings.AUTH_COOKIE_ACCESS] = session["access"]

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/auth/me/")

    assert response.status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert "token_blacklist_blacklistedtoken" in queries[0]["sql"]
