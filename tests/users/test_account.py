"""Profile, password change, password reset by e-mail, and throttling of the auth endpoints."""

import html
import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.users.test_auth import assert_error_shape
from users import throttles
from users.services import tokens_for_user

User = get_user_model()
pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Brand-new-Passw0rd"


# --- me -------------------------------------------------------------------------


def test_me_returns_the_profile(user_client, user):
    response = user_client.get("/api/auth/me/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "email", "first_name", "last_name", "phone", "is_staff", "email_verified", "date_joined"}
    assert body["id"] == user.pk
    assert body["email"] == user.email
    assert body["is_staff"] is False
    assert body["email_verified"] is True  # the factory's customer opened the verification link


def test_me_requires_authentication(api_client):
    response = api_client.get("/api/auth/me/")

    assert response.status_code == 401
    assert_error_shape(response.json(), code="not_authenticated")


def test_me_patch_updates_the_editable_fields(user_client, user):
    response = user_client.patch("/api/auth/me/", {"first_name": "Ada", "last_name": "Lovelace", "phone": "+44 1"})

    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.phone) == ("Ada", "Lovelace", "+44 1")
    assert response.json()["first_name"] == "Ada"


def test_me_patch_cannot_escalate_or_change_email(user_client, user):
    original_email = user.email

    response = user_client.patch(
        "/api/auth/me/",
        {"is_staff": True, "is_superuser": True, "email": "boss@example.com", "id": 999, "first_name": "Eve"},
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.is_staff is False
    assert user.is_superuser is False
    assert user.email == original_email
    assert user.pk != 999
    assert user.first_name == "Eve"
    assert response.json()["is_staff"] is False
    assert response.json()["email"] == original_email


def test_me_rejects_put_and_delete_with_405(user_client, user):
    for method in ("put", "delete"):
        response = getattr(user_client, method)("/api/auth/me/", {})
        assert response.status_code == 405
        assert_error_shape(response.json(), code="method_not_allowed")
    assert User.objects.filter(pk=user.pk).exists()


# --- change password ---------------------------------------------------------------


def test_change_password_switches_the_password_and_revokes_refresh_tokens(user, api_client):
    tokens = api_client.post("/api/token/", {"email": user.email, "password": DEFAULT_PASSWORD}).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = client.post(
        "/api/auth/change-password/", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 200, response.json()
    old = api_client.post("/api/token/", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert old.status_code == 401
    new = api_client.post("/api/token/", {"email": user.email, "password": NEW_PASSWORD})
    assert new.status_code == 200
    assert api_client.post("/api/token/refresh/", {"refresh": tokens["refresh"]}).status_code == 401


def test_change_password_also_revokes_rotated_refresh_tokens(user, api_client):
    first = api_client.post("/api/token/", {"email": user.email, "password": DEFAULT_PASSWORD}).json()
    rotated = api_client.post("/api/token/refresh/", {"refresh": first["refresh"]}).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {rotated['access']}")

    response = client.post(
        "/api/auth/change-password/", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 200
    assert api_client.post("/api/token/refresh/", {"refresh": rotated["refresh"]}).status_code == 401


def test_change_password_with_a_wrong_old_password_is_400(user_client, user):
    response = user_client.post(
        "/api/auth/change-password/", {"old_password": "not-my-password", "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 400
    assert_error_shape(response.json(), code="wrong_password", attr="old_password")
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_change_password_to_a_weak_one_is_400(user_client, user):
    response = user_client.post("/api/auth/change-password/", {"old_password": DEFAULT_PASSWORD, "new_password": "123"})

    assert response.status_code == 400
    body = response.json()
    assert_error_shape(body, code="password_too_short", attr="new_password")
    assert_error_shape(body, code="password_entirely_numeric", attr="new_password")
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_change_password_requires_authentication(api_client):
    response = api_client.post(
        "/api/auth/change-password/", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 401


# --- password reset ----------------------------------------------------------------


def _request_reset(client, email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/api/auth/password-reset/", {"email": email})


def _uid_and_token(message):
    links = re.findall(r"https?://\S+", message.body)
    assert len(links) == 1, message.body
    link = links[0]
    query = parse_qs(urlparse(link).query)
    return link, query["uid"][0], query["token"][0]


def test_password_reset_end_to_end(api_client, user, django_capture_on_commit_callbacks, settings):
    settings.FRONTEND_URL = "https://shop.example.com"
    old_refresh = str(RefreshToken.for_user(user))

    response = _request_reset(api_client, user.email.upper(), django_capture_on_commit_callbacks)

    assert response.status_code == 202
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    link, uid, token = _uid_and_token(message)
    assert link.startswith("https://shop.example.com/reset-password?")
    assert "&amp;" not in message.body  # a plain-text body is not HTML-escaped
    assert html.escape(link) in message.alternatives[0][0]

    confirm = api_client.post(
        "/api/auth/password-reset/confirm/", {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    )
    assert confirm.status_code == 200, confirm.json()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert api_client.post("/api/token/", {"email": user.email, "password": NEW_PASSWORD}).status_code == 200
    assert api_client.post("/api/token/refresh/", {"refresh": old_refresh}).status_code == 401

    again = api_client.post(
        "/api/auth/password-reset/confirm/", {"uid": uid, "token": token, "new_password": "Yet-another-Passw0rd"}
    )
    assert again.status_code == 400
    assert_error_shape(again.json(), code="invalid_reset_token", attr="token")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_reset_does_not_reveal_who_has_an_account(api_client, user, django_capture_on_commit_callbacks):
    known = _request_reset(api_client, user.email, django_capture_on_commit_callbacks)
    unknown = _request_reset(api_client, "nobody@example.com", django_capture_on_commit_callbacks)

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert known.content == unknown.content
    assert [m.to for m in mail.outbox] == [[user.email]]


def test_password_reset_sends_nothing_to_an_inactive_user(api_client, django_capture_on_commit_callbacks):
    inactive = UserFactory(is_active=False)

    response = _request_reset(api_client, inactive.email, django_capture_on_commit_callbacks)

    assert response.status_code == 202
    assert mail.outbox == []


def test_password_reset_rejects_a_malformed_email(api_client):
    response = api_client.post("/api/auth/password-reset/", {"email": "nope"})

    assert response.status_code == 400
    assert_error_shape(response.json(), attr="email")


@pytest.mark.parametrize(
    ("uid", "token"),
    [
        ("garbage", "garbage"),
        ("", "x"),
        ("MTIzNDU2Nzg5MDEyMzQ1Njc4OTA", "abc-def"),  # base64 of a pk that does not exist / overflows
        ("bm90LWEtbnVtYmVy", "abc-def"),  # base64 of "not-a-number"
    ],
)
def test_password_reset_confirm_with_a_bad_link_is_400(api_client, user, uid, token):
    response = api_client.post(
        "/api/auth/password-reset/confirm/", {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 400
    assert_error_shape(response.json())
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_password_reset_confirm_with_another_users_uid_is_refused(
    api_client, user, other_user, django_capture_on_commit_callbacks
):
    _request_reset(api_client, user.email, django_capture_on_commit_callbacks)
    _, _, token = _uid_and_token(mail.outbox[0])
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    other_uid = urlsafe_base64_encode(force_bytes(other_user.pk))

    response = api_client.post(
        "/api/auth/password-reset/confirm/", {"uid": other_uid, "token": token, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 400
    assert_error_shape(response.json(), code="invalid_reset_token")
    other_user.refresh_from_db()
    assert other_user.check_password(DEFAULT_PASSWORD)


def test_password_reset_confirm_with_a_weak_password_keeps_the_token_usable(
    api_client, user, django_capture_on_commit_callbacks
):
    _request_reset(api_client, user.email, django_capture_on_commit_callbacks)
    _, uid, token = _uid_and_token(mail.outbox[0])

    weak = api_client.post("/api/auth/password-reset/confirm/", {"uid": uid, "token": token, "new_password": "abc"})
    assert weak.status_code == 400
    assert_error_shape(weak.json(), code="password_too_short", attr="new_password")

    ok = api_client.post(
        "/api/auth/password-reset/confirm/", {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    )
    assert ok.status_code == 200


# --- throttling -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/token/", "/api/auth/login/"])
def test_a_burst_of_wrong_passwords_is_throttled(api_client, user, lower_rates, path):
    lower_rates(login="3/min")

    statuses = [
        api_client.post(path, {"email": user.email, "password": "wrong-password"}).status_code for _ in range(3)
    ]
    throttled = api_client.post(path, {"email": user.email, "password": DEFAULT_PASSWORD})

    assert statuses == [401, 401, 401]
    assert throttled.status_code == 429
    body = throttled.json()
    assert body["type"] == "client_error"
    assert_error_shape(body, code="throttled")
    assert int(throttled["Retry-After"]) > 0


def test_registration_is_throttled(api_client, lower_rates, monkeypatch):
    lower_rates(register="2/hour")
    # Early in an hour's window: the wait is most of the hour. (Near the end of a window the
    # sliding estimate lets the next request in at the boundary, a Retry-After of seconds.)
    start_of_an_hour = 3600 * 490_000 + 10
    monkeypatch.setattr(throttles._Counter, "timer", staticmethod(lambda: start_of_an_hour))

    for n in range(2):
        assert (
            api_client.post(
                "/api/auth/register/", {"email": f"r{n}@example.com", "password": "c0rrect-Horse-battery"}
            ).status_code
            == 201
        )
    response = api_client.post("/api/auth/register/", {"email": "r9@example.com", "password": "c0rrect-Horse-battery"})

    assert response.status_code == 429
    assert_error_shape(response.json(), code="throttled")
    assert int(response["Retry-After"]) > 60
    assert not User.objects.filter(email="r9@example.com").exists()


def test_probing_registration_for_taken_addresses_is_throttled(api_client, lower_rates):
    """Registration says `email_taken` (the contract, and what a shop front must tell a customer);
    what keeps it from being a directory of customers is its own, tight limit per address."""
    lower_rates(register="3/hour")
    taken = UserFactory.create_batch(4)

    probes = [
        api_client.post("/api/auth/register/", {"email": u.email, "password": "c0rrect-Horse-battery"}) for u in taken
    ]

    assert [r.status_code for r in probes] == [400, 400, 400, 429]
    assert_error_shape(probes[0].json(), code="email_taken", attr="email")
    assert_error_shape(probes[3].json(), code="throttled")


def test_registration_and_token_refresh_have_separate_limits(api_client, user, lower_rates):
    lower_rates(register="1/hour", auth="1/hour")
    refresh = str(RefreshToken.for_user(user))

    register = api_client.post("/api/auth/register/", {"email": "n@example.com", "password": "c0rrect-Horse-battery"})
    refreshed = api_client.post("/api/token/refresh/", {"refresh": refresh})

    assert register.status_code == 201
    assert refreshed.status_code == 200


def test_password_reset_is_throttled(api_client, user, lower_rates, django_capture_on_commit_callbacks):
    lower_rates(password_reset="2/hour")

    for _ in range(2):
        assert _request_reset(api_client, user.email, django_capture_on_commit_callbacks).status_code == 202
    response = _request_reset(api_client, user.email, django_capture_on_commit_callbacks)

    assert response.status_code == 429
    assert_error_shape(response.json(), code="throttled")
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("path", ["/api/token/", "/api/auth/login/"])
def test_successful_logins_do_not_use_up_the_failure_limit(api_client, user, lower_rates, path):
    lower_rates(login="2/min")

    statuses = [
        api_client.post(path, {"email": user.email, "password": DEFAULT_PASSWORD}).status_code for _ in range(5)
    ]

    assert statuses == [200] * 5


def test_token_refresh_is_throttled(api_client, lower_rates):
    lower_rates(auth="1/min")

    api_client.post("/api/token/refresh/", {"refresh": "garbage"})
    response = api_client.post("/api/token/refresh/", {"refresh": "garbage"})

    assert response.status_code == 429


def test_throttle_counts_per_client_address(user, lower_rates):
    lower_rates(login="1/min")
    first = APIClient(REMOTE_ADDR="10.0.0.1")
    second = APIClient(REMOTE_ADDR="10.0.0.2")

    assert first.post("/api/token/", {"email": user.email, "password": "x"}).status_code == 401
    assert first.post("/api/token/", {"email": user.email, "password": "x"}).status_code == 429
    assert second.post("/api/token/", {"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 200


def test_change_password_failures_are_limited_per_user(user, lower_rates):
    lower_rates(password_change="3/hour")
    client = APIClient(REMOTE_ADDR="10.6.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user)['access']}")

    failures = [
        client.post("/api/auth/change-password/", {"old_password": f"guess-{n}", "new_password": NEW_PASSWORD})
        for n in range(3)
    ]
    # Another session of the same user, from another address: the count is the user's.
    elsewhere = APIClient(REMOTE_ADDR="10.6.0.2")
    elsewhere.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user)['access']}")
    refused = elsewhere.post(
        "/api/auth/change-password/", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert [r.status_code for r in failures] == [400] * 3
    assert refused.status_code == 429
    assert_error_shape(refused.json(), code="throttled")
    assert int(refused["Retry-After"]) > 3000
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_change_password_limit_counts_only_wrong_old_passwords(user, other_user, lower_rates):
    lower_rates(password_change="2/hour")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user)['access']}")

    weak = [
        client.post("/api/auth/change-password/", {"old_password": DEFAULT_PASSWORD, "new_password": "123"})
        for _ in range(3)
    ]
    client.post("/api/auth/change-password/", {"old_password": "guess", "new_password": NEW_PASSWORD})
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(other_user)['access']}")
    other.post("/api/auth/change-password/", {"old_password": "guess", "new_password": NEW_PASSWORD})
    other.post("/api/auth/change-password/", {"old_password": "guess", "new_password": NEW_PASSWORD})
    ok = client.post("/api/auth/change-password/", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})

    assert [r.status_code for r in weak] == [400] * 3
    assert ok.status_code == 200, ok.json()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def _confirm(client, uid, token, password=NEW_PASSWORD):
    return client.post("/api/auth/password-reset/confirm/", {"uid": uid, "token": token, "new_password": password})


def test_reset_requests_do_not_use_up_the_confirm_limit(user, lower_rates, django_capture_on_commit_callbacks):
    lower_rates(password_reset="2/hour", password_reset_confirm="2/hour")
    network = APIClient(REMOTE_ADDR="10.7.0.1")  # the victim and an attacker behind one address
    _request_reset(network, user.email, django_capture_on_commit_callbacks)
    _, uid, token = _uid_and_token(mail.outbox[0])

    flood = [_request_reset(network, "anyone@example.com", django_capture_on_commit_callbacks) for _ in range(5)]
    confirm = _confirm(network, uid, token)

    assert [r.status_code for r in flood] == [202] + [429] * 4
    assert confirm.status_code == 200, confirm.json()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_reset_requests_are_limited_per_target_email(user, lower_rates, django_capture_on_commit_callbacks):
    lower_rates(password_reset_email="2/hour")

    answers = [
        _request_reset(APIClient(REMOTE_ADDR=f"10.7.1.{n}"), email, django_capture_on_commit_callbacks)
        for n, email in enumerate([user.email, user.email.upper(), f" {user.email} "])
    ]
    other = UserFactory()
    other_answer = _request_reset(APIClient(REMOTE_ADDR="10.7.1.9"), other.email, django_capture_on_commit_callbacks)

    assert [r.status_code for r in answers] == [202, 202, 429]
    assert_error_shape(answers[2].json(), code="throttled")
    assert other_answer.status_code == 202
    assert [m.to for m in mail.outbox] == [[user.email], [user.email], [other.email]]


def test_confirm_attempts_with_other_links_do_not_starve_a_real_link(
    user, lower_rates, django_capture_on_commit_callbacks
):
    lower_rates(password_reset="2/hour", password_reset_confirm="2/hour")
    _request_reset(APIClient(), user.email, django_capture_on_commit_callbacks)
    _, uid, token = _uid_and_token(mail.outbox[0])
    network = APIClient(REMOTE_ADDR="10.7.2.1")

    forged = [_confirm(network, uid, f"{token[:-4]}{n:04d}") for n in range(6)]
    real = _confirm(network, uid, token)

    assert [r.status_code for r in forged] == [400] * 6
    assert real.status_code == 200, real.json()


def test_retries_of_one_reset_link_are_limited(user, lower_rates, django_capture_on_commit_callbacks):
    lower_rates(password_reset_confirm="2/hour")
    _request_reset(APIClient(), user.email, django_capture_on_commit_callbacks)
    _, uid, token = _uid_and_token(mail.outbox[0])
    client = APIClient(REMOTE_ADDR="10.7.3.1")

    retries = [_confirm(client, uid, token, password="abc") for _ in range(2)]
    refused = _confirm(client, uid, token)
    other_address = _confirm(APIClient(REMOTE_ADDR="10.7.3.2"), uid, token)

    assert [r.status_code for r in retries] == [400, 400]
    assert refused.status_code == 429
    assert_error_shape(refused.json(), code="throttled")
    assert other_address.status_code == 200


# --- every sign-in ends the reset links made before it ------------------------------------------


def _sign_in_with_token(user):
    assert APIClient().post("/api/token/", {"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 200


def _sign_in_with_cookies(user):
    response = APIClient().post("/api/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert response.cookies[settings.AUTH_COOKIE_ACCESS].value


def _sign_in_to_the_admin(user):
    client = Client()
    response = client.post(
        f"/{settings.ADMIN_URL}login/", {"username": user.email, "password": DEFAULT_PASSWORD, "next": "/"}
    )
    assert response.status_code == 302, response.content


@pytest.mark.parametrize("sign_in", [_sign_in_with_token, _sign_in_with_cookies, _sign_in_to_the_admin])
def test_a_sign_in_refuses_the_reset_links_made_before_it(api_client, sign_in, django_capture_on_commit_callbacks):
    user = UserFactory(is_staff=True)  # the admin signs in staff only; the API anyone
    _request_reset(api_client, user.email, django_capture_on_commit_callbacks)
    _, uid, token = _uid_and_token(mail.outbox[0])

    sign_in(user)
    response = _confirm(api_client, uid, token)

    assert response.status_code == 400
    assert_error_shape(response.json(), code="invalid_reset_token", attr="token")
    user.refresh_from_db()
    assert user.last_login is not None
    assert user.check_password(DEFAULT_PASSWORD)


def test_registration_is_a_sign_in(api_client):
    response = api_client.post("/api/auth/register/", {"email": "new@example.com", "password": "c0rrect-Horse-battery"})

    assert response.status_code == 201
    assert User.objects.get(email="new@example.com").last_login is not None


# --- names are shown to others (review author): the addresses' rule on control characters --------

HOSTILE_NAMES = [
    "Ada\u202eecalevoL",
    "line\nbreak",
    "tab\there",
    "bell\u0007",
    "esc\u001b[31m",
    "sep\u2028arator",
    "\u2066iso",
]
HOSTILE_IDS = ["rtl-override", "newline", "tab", "bell", "ansi-escape", "line-separator", "bidi-isolate"]


@pytest.mark.parametrize("field", ["first_name", "last_name"])
@pytest.mark.parametrize("value", HOSTILE_NAMES, ids=HOSTILE_IDS)
def test_register_refuses_control_and_bidi_characters_in_names(api_client, field, value):
    response = api_client.post(
        "/api/auth/register/", {"email": "new@example.com", "password": "c0rrect-Horse-battery", field: value}
    )

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert_error_shape(response.json(), code="control_characters", attr=field)
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.parametrize("field", ["first_name", "last_name"])
@pytest.mark.parametrize("value", HOSTILE_NAMES, ids=HOSTILE_IDS)
def test_me_patch_refuses_control_and_bidi_characters_in_names(user_client, user, field, value):
    before = getattr(user, field)

    response = user_client.patch("/api/auth/me/", {field: value})

    assert response.status_code == 400
    assert_error_shape(response.json(), code="control_characters", attr=field)
    user.refresh_from_db()
    assert getattr(user, field) == before


def test_names_in_any_script_are_kept(user_client, user):
    response = user_client.patch("/api/auth/me/", {"first_name": "Zoë عائشة", "last_name": "O'Brien-李"})

    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Zoë عائشة", "O'Brien-李")
