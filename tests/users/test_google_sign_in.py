"""POST /api/auth/google/: Google ID tokens signed by a local RSA key, checked by google-auth against
the certificates of a local server (tests.users.fake_google)."""

import re
import socket
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from cart.models import Cart
from tests.concurrency import run_concurrently
from tests.conftest import requires_postgres
from tests.factories import DEFAULT_PASSWORD, CartFactory, CartItemFactory, UserFactory
from tests.users.fake_google import CLIENT_ID, KEY, OTHER_KEY, claims, id_token
from tests.users.test_auth import assert_error_shape
from users.google import verify_id_token
from users.models import SocialAccount, UsedGoogleCredential
from users.services import tokens_for_user
from users.tasks import purge_used_google_credentials

User = get_user_model()
pytestmark = pytest.mark.django_db

GOOGLE = "/api/auth/google/"


def sign_in(client, credential, **headers):
    return client.post(GOOGLE, {"credential": credential}, format="json", **headers)


def assert_refused(response, code="invalid_google_token", status=400):
    assert response.status_code == status, response.json()
    assert_error_shape(response.json(), code=code)
    assert "access" not in response.cookies and "refresh" not in response.cookies


def assert_nothing_written(users_before=0):
    assert User.objects.count() == users_before
    assert not SocialAccount.objects.exists()
    assert not UsedGoogleCredential.objects.exists()


# --- happy paths ----------------------------------------------------------------------------


def test_first_sign_in_creates_a_verified_account_without_a_password(api_client, fake_google):
    response = sign_in(api_client, id_token())

    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert response.cookies["access"].value == body["access"]
    assert response.cookies["access"]["httponly"]
    assert response.cookies["refresh"].value == body["refresh"]
    assert "csrftoken" in response.cookies
    user = User.objects.get()
    assert (user.email, user.first_name, user.last_name) == ("ada@gmail.com", "Ada", "Lovelace")
    assert user.email_verified is True
    assert not user.has_usable_password()
    assert user.last_login is not None
    link = SocialAccount.objects.get()
    assert (link.user, link.provider, link.subject) == (user, "google", "110169484474386276334")
    assert AccessToken(body["access"])["user_id"] == str(user.pk)
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.get("/api/auth/me/").json()["email_verified"] is True


def test_an_existing_verified_account_is_signed_in_and_linked(api_client, fake_google):
    user = UserFactory(email="ada@gmail.com", email_verified=True)

    response = sign_in(api_client, id_token(email="Ada@Gmail.com"))

    assert response.status_code == 200, response.json()
    assert AccessToken(response.json()["access"])["user_id"] == str(user.pk)
    assert User.objects.count() == 1
    assert SocialAccount.objects.get().user == user
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)  # the owner proved the address before: the password stays


def test_linking_an_unverified_account_ends_its_password_and_sessions(api_client, fake_google):
    # Someone registered ada@gmail.com before Ada did, never verifying it; Google now vouches for
    # Ada: the account is hers, and the registrant's password and tokens stop working.
    squatter = UserFactory(email="ada@gmail.com", email_verified=False)
    squatter_access = tokens_for_user(squatter)["access"]

    response = sign_in(api_client, id_token())

    assert response.status_code == 200, response.json()
    squatter.refresh_from_db()
    assert squatter.email_verified is True
    assert not squatter.has_usable_password()
    old_session = APIClient()
    old_session.credentials(HTTP_AUTHORIZATION=f"Bearer {squatter_access}")
    assert old_session.get("/api/auth/me/").status_code == 401
    password_login = APIClient().post("/api/auth/login/", {"email": "ada@gmail.com", "password": DEFAULT_PASSWORD})
    assert password_login.status_code == 401


def test_a_changed_email_at_google_signs_into_the_same_account(api_client, fake_google):
    first = sign_in(api_client, id_token())
    assert first.status_code == 200

    response = sign_in(APIClient(), id_token(email="ada.lovelace@example.org"))

    assert response.status_code == 200, response.json()
    user = User.objects.get()  # no second account
    assert user.email == "ada@gmail.com"
    assert AccessToken(response.json()["access"])["user_id"] == str(user.pk)
    assert SocialAccount.objects.get().email == "ada.lovelace@example.org"


def test_the_same_email_from_another_google_account_opens_no_second_link(api_client, fake_google):
    assert sign_in(api_client, id_token()).status_code == 200

    response = sign_in(APIClient(), id_token(sub="999999999999999999999"))

    assert_refused(response, code="google_account_conflict", status=409)
    assert SocialAccount.objects.count() == 1


def test_sign_in_merges_the_anonymous_cart(api_client, fake_google):
    anonymous = CartFactory(user=None)
    item = CartItemFactory(cart=anonymous, quantity=2)

    response = sign_in(api_client, id_token(), HTTP_X_CART_TOKEN=anonymous.token)

    assert response.status_code == 200
    cart = Cart.objects.get(user=User.objects.get())
    assert [(line.product_id, line.quantity) for line in cart.items.all()] == [(item.product_id, 2)]


def test_a_token_just_past_its_expiry_is_accepted_within_the_clock_skew(api_client, fake_google, settings):
    settings.GOOGLE_CLOCK_SKEW_SECONDS = 10
    now = int(time.time())

    response = sign_in(api_client, id_token(iat=now - 3600, exp=now - 5))

    assert response.status_code == 200, response.json()


def test_the_plain_issuer_spelling_is_accepted(api_client, fake_google):
    assert sign_in(api_client, id_token(iss="accounts.google.com")).status_code == 200


def test_one_of_several_client_ids(api_client, fake_google, settings):
    settings.GOOGLE_CLIENT_ID = f"web.apps.googleusercontent.com, {CLIENT_ID}"

    assert sign_in(api_client, id_token()).status_code == 200


# --- bad tokens: one code, nothing written --------------------------------------------------


@pytest.mark.parametrize(
    "credential",
    [
        pytest.param(lambda: id_token(iat=int(time.time()) - 7200, exp=int(time.time()) - 60), id="expired"),
        pytest.param(lambda: id_token(aud="someone-else.apps.googleusercontent.com"), id="wrong-audience"),
        pytest.param(lambda: id_token(iss="https://evil.example.com"), id="wrong-issuer"),
        pytest.param(lambda: id_token(iat=int(time.time()) + 600), id="issued-in-the-future"),
        pytest.param(lambda: OTHER_KEY.sign(claims(), kid=KEY.kid), id="bad-signature"),
        pytest.param(lambda: OTHER_KEY.sign(claims()), id="unknown-key"),
        pytest.param(lambda: id_token()[:-8] + "AAAAAAAA", id="tampered-signature"),
        pytest.param(lambda: id_token(sub=None), id="no-subject"),
        pytest.param(lambda: id_token(exp=None), id="no-expiry"),
        pytest.param(lambda: "not-a-token", id="malformed"),
        pytest.param(lambda: "a.b.c", id="garbage-segments"),
        pytest.param(lambda: "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", id="alg-none"),
    ],
)
def test_a_bad_token_is_refused_with_one_code(api_client, fake_google, credential):
    response = sign_in(api_client, credential())

    assert_refused(response)
    assert response.json()["errors"][0]["attr"] == "credential"
    assert_nothing_written()


def test_a_token_without_an_email_cannot_create_an_account(api_client, fake_google):
    assert_refused(sign_in(api_client, id_token(email=None, email_verified=None)))
    assert_nothing_written()


def test_a_missing_or_empty_credential_is_a_validation_error(api_client, fake_google):
    for body in ({}, {"credential": ""}, {"credential": "x" * 9000}):
        response = api_client.post(GOOGLE, body, format="json")
        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "credential"
    assert_nothing_written()


# --- e-mail the token does not vouch for --------------------------------------------------


def test_an_unverified_google_email_does_not_sign_into_an_existing_account(api_client, fake_google):
    user = UserFactory(email="ada@gmail.com", email_verified=False)

    response = sign_in(api_client, id_token(email_verified=False))

    assert_refused(response, code="google_email_not_verified", status=403)
    assert_nothing_written(users_before=1)
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD) and not user.email_verified


def test_an_unverified_google_email_creates_no_account(api_client, fake_google):
    assert_refused(sign_in(api_client, id_token(email_verified=False)), code="google_email_not_verified", status=403)
    assert_nothing_written()


def test_email_verified_as_the_string_true_counts(api_client, fake_google):
    assert sign_in(api_client, id_token(email_verified="true")).status_code == 200


# --- replay ---------------------------------------------------------------------------------


def test_a_token_signs_in_once(api_client, fake_google):
    credential = id_token()
    assert sign_in(api_client, credential).status_code == 200

    response = sign_in(APIClient(), credential)

    assert_refused(response)
    assert UsedGoogleCredential.objects.count() == 1


def test_a_replay_with_the_signature_spelled_differently_is_refused(api_client, fake_google):
    # An RS256 signature is 256 bytes: 342 base64 characters whose last one has 2 unused bits, so
    # four spellings decode to the same signature, and google-auth accepts each.
    credential = id_token()
    header_payload, signature = credential.rsplit(".", 1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    respelled = f"{header_payload}.{signature[:-1]}{alphabet[last ^ 1]}"
    assert respelled != credential
    # google-auth takes both spellings: only the replay record can tell them apart.
    assert verify_id_token(respelled, client_ids=[CLIENT_ID]) == verify_id_token(credential, client_ids=[CLIENT_ID])
    assert sign_in(api_client, credential).status_code == 200

    assert_refused(sign_in(APIClient(), respelled))


def test_a_refused_sign_in_does_not_spend_the_token(api_client, fake_google):
    user = UserFactory(email="ada@gmail.com", is_active=False, email_verified=True)
    credential = id_token()

    response = sign_in(api_client, credential)

    assert_refused(response, code="no_active_account", status=401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert not SocialAccount.objects.exists() and not UsedGoogleCredential.objects.exists()
    user.is_active = True
    user.save(update_fields=["is_active"])
    assert sign_in(APIClient(), credential).status_code == 200


def test_a_linked_inactive_account_is_refused_like_login(api_client, fake_google):
    assert sign_in(api_client, id_token()).status_code == 200
    User.objects.update(is_active=False)

    assert_refused(sign_in(APIClient(), id_token()), code="no_active_account", status=401)


def test_expired_replay_records_are_purged(fake_google):
    now = timezone.now()
    UsedGoogleCredential.objects.create(digest="a" * 64, expires_at=now - timedelta(seconds=1))
    UsedGoogleCredential.objects.create(digest="b" * 64, expires_at=now + timedelta(minutes=5))

    assert purge_used_google_credentials() == 1

    assert list(UsedGoogleCredential.objects.values_list("digest", flat=True)) == ["b" * 64]


# --- configuration and Google's certificates ------------------------------------------------


@pytest.fixture
def server_error_client(api_client):
    """A 503 is logged as a server error, which the test client would raise instead of answering."""
    api_client.raise_request_exception = False
    return api_client


def test_without_a_client_id_it_is_not_configured(server_error_client, fake_google, settings):
    api_client = server_error_client
    settings.GOOGLE_CLIENT_ID = ""

    response = sign_in(api_client, id_token())

    assert_refused(response, code="google_not_configured", status=503)
    assert response.json()["type"] == "server_error"
    assert fake_google.requests == 0
    assert_nothing_written()


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/oauth2/v1/certs"


def test_a_certificate_server_that_is_down_is_a_503(server_error_client, fake_google, settings):
    api_client = server_error_client
    settings.GOOGLE_CERTS_URL = _closed_port_url()

    assert_refused(sign_in(api_client, id_token()), code="google_unavailable", status=503)
    assert_nothing_written()


@pytest.mark.parametrize(("status", "body"), [(500, b"oops"), (200, b"<html>maintenance</html>"), (200, b"[]")])
def test_a_certificate_server_answering_nonsense_is_a_503(server_error_client, fake_google, status, body):
    api_client = server_error_client
    fake_google.status, fake_google.body = status, body

    assert_refused(sign_in(api_client, id_token()), code="google_unavailable", status=503)
    assert_nothing_written()


def test_certificates_are_downloaded_once_for_their_max_age(api_client, fake_google):
    for n in range(3):
        assert sign_in(APIClient(), id_token(sub=f"sub-{n}", email=f"person{n}@gmail.com")).status_code == 200

    assert fake_google.requests == 1


def test_certificates_without_a_cache_lifetime_are_downloaded_each_time(api_client, fake_google):
    fake_google.cache_control = "no-store"
    for n in range(2):
        assert sign_in(APIClient(), id_token(sub=f"sub-{n}", email=f"person{n}@gmail.com")).status_code == 200

    assert fake_google.requests == 2


@pytest.mark.parametrize("fail", ["all", "writes"])
def test_a_failing_cache_only_costs_a_download(fake_google, settings, fail):
    settings.CACHES = {"default": {"BACKEND": "tests.security.failing_cache.FailingCache", "OPTIONS": {"FAIL": fail}}}

    identity = verify_id_token(id_token(), client_ids=[CLIENT_ID])

    assert identity.subject == "110169484474386276334" and identity.email_verified
    assert fake_google.requests == 1


# --- the sign-in rules it shares with the password login ------------------------------------


def test_refused_tokens_count_as_failed_sign_ins(api_client, fake_google, lower_rates):
    lower_rates(login="2/min")
    for _ in range(2):
        assert_refused(sign_in(api_client, "not-a-token"))

    response = sign_in(api_client, id_token())

    assert response.status_code == 429
    assert not User.objects.exists()


def test_a_sign_in_from_another_site_is_refused(api_client, fake_google):
    response = sign_in(api_client, id_token(), HTTP_ORIGIN="https://evil.example.com")

    assert_refused(response, code="cross_site_request", status=403)
    assert_nothing_written()


def test_only_json_is_taken(api_client, fake_google):
    response = api_client.post(GOOGLE, {"credential": id_token()}, format="multipart")

    assert response.status_code == 415
    assert_nothing_written()


def test_the_admin_shows_the_google_link_read_only(api_client, fake_google, client):
    assert sign_in(api_client, id_token()).status_code == 200
    user = User.objects.get()
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)

    page = client.get(f"/admin/users/user/{user.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "110169484474386276334" in html
    assert 'name="email_verified"' not in html  # shown, not editable
    assert client.get("/admin/users/user/?email_verified__exact=1").status_code == 200


# --- concurrency (PostgreSQL) ---------------------------------------------------------------


def test_a_link_made_a_moment_ago_by_the_same_person_is_not_a_conflict(api_client, fake_google, monkeypatch):
    """The race the PostgreSQL test below hit now and then: a concurrent first sign-in of the same
    Google user commits the account and its link between this one's look-up by subject (nothing yet)
    and its look-up by e-mail (the account, already linked). That link is this person's: sign in,
    never 409 `google_account_conflict`."""
    user = UserFactory(email="ada@gmail.com", email_verified=True)
    SocialAccount.objects.create(
        user=user, provider=SocialAccount.Provider.GOOGLE, subject=claims()["sub"], email="ada@gmail.com"
    )
    real = SocialAccount.objects.select_related
    lookups = []

    def first_lookup_before_the_other_commit(*fields):
        lookups.append(fields)
        return SocialAccount.objects.none() if len(lookups) == 1 else real(*fields)

    monkeypatch.setattr(SocialAccount.objects, "select_related", first_lookup_before_the_other_commit)

    response = sign_in(api_client, id_token())

    assert response.status_code == 200, response.content
    assert lookups  # the look-up by subject really missed
    assert User.objects.count() == 1 and SocialAccount.objects.count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_sign_ins_make_one_account_and_spend_a_token_once(fake_google):
    """Two different tokens of one new Google user (a double click) and a replay of one of them,
    all at once: one account, one link, and the replay refused."""
    first, second = id_token(), id_token()

    def attempt(credential):
        return lambda: sign_in(APIClient(), credential).status_code

    statuses, errors = run_concurrently(attempt(first), attempt(second), attempt(first))

    assert errors == []
    assert sorted(statuses) == [200, 200, 400]
    assert User.objects.count() == 1 and SocialAccount.objects.count() == 1
    assert UsedGoogleCredential.objects.count() == 2


# --- a password for a Google account ----------------------------------------------------------


@pytest.mark.parametrize("registered_before", [False, True], ids=["created-by-google", "squatted-then-linked"])
def test_a_google_account_can_set_a_password_by_reset(
    api_client, fake_google, django_capture_on_commit_callbacks, registered_before
):
    # The account has no usable password (made by Google, or its registrant's ended when Google
    # vouched for the owner): the reset link is how its owner gets one, as the services promise.
    if registered_before:
        UserFactory(email="ada@gmail.com", email_verified=False)
    assert sign_in(api_client, id_token()).status_code == 200
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post("/api/auth/password-reset/", {"email": "ada@gmail.com"}, format="json")

    assert response.status_code == 202
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@gmail.com"]
    query = parse_qs(urlparse(re.findall(r"https?://\S+", mail.outbox[0].body)[0]).query)
    confirm = APIClient().post(
        "/api/auth/password-reset/confirm/",
        {"uid": query["uid"][0], "token": query["token"][0], "new_password": "A-new-Passw0rd-for-Ada"},
        format="json",
    )
    assert confirm.status_code == 200, confirm.json()
    login = APIClient().post("/api/auth/login/", {"email": "ada@gmail.com", "password": "A-new-Passw0rd-for-Ada"})
    assert login.status_code == 200, login.json()
