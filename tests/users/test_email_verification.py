"""E-mail verification: the link mailed at registration, POST /api/auth/verify-email/ and resend/,
`me.email_verified`, the migration's choice for existing accounts, and the helper orders will use."""

import importlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from novacart.exceptions import Forbidden
from tests.factories import UserFactory
from tests.users.test_auth import assert_error_shape
from users.selectors import require_verified_email, user_has_verified_email
from users.tasks import send_email_verification_email
from users.tokens import make_email_verification_token

User = get_user_model()
pytestmark = pytest.mark.django_db

VERIFY = "/api/auth/verify-email/"
RESEND = "/api/auth/verify-email/resend/"


def link_of(message) -> dict:
    """uid and token of the verification link in a mail (the text and the HTML part agree)."""
    text_links = [word for word in message.body.split() if "/verify-email?" in word]
    assert len(text_links) == 1, message.body
    link = text_links[0]
    assert f'href="{link.replace("&", "&amp;")}"' in message.alternatives[0][0]
    query = parse_qs(urlsplit(link).query)
    return {"uid": query["uid"][0], "token": query["token"][0], "link": link}


def register(client, django_capture_on_commit_callbacks, email="new.person@example.com"):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/auth/register/", {"email": email, "password": "c0rrect-Horse-battery"})
    assert response.status_code == 201, response.json()
    return response


def verification_of(user) -> dict:
    return {"uid": urlsafe_base64_encode(force_bytes(user.pk)), "token": make_email_verification_token(user)}


def test_registration_mails_a_link_that_verifies_the_address(api_client, django_capture_on_commit_callbacks, settings):
    settings.FRONTEND_URL = "https://shop.example.com"
    response = register(api_client, django_capture_on_commit_callbacks)
    assert response.json()["user"]["email_verified"] is False

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.com"]
    link = link_of(message)
    assert link["link"].startswith("https://shop.example.com/verify-email?")
    assert "new.person" not in link["link"]  # the address is signed, not carried

    verified = api_client.post(VERIFY, {"uid": link["uid"], "token": link["token"]})

    assert verified.status_code == 200, verified.json()
    assert verified.json() == {"detail": "E-mail address verified.", "email_verified": True}
    user = User.objects.get(email="new.person@example.com")
    assert user.email_verified is True
    me = api_client.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert me.json()["email_verified"] is True


def test_a_link_works_once(api_client, user):
    body = verification_of(user)
    assert api_client.post(VERIFY, body).status_code == 200

    again = api_client.post(VERIFY, body)

    assert again.status_code == 400
    assert_error_shape(again.json(), code="email_already_verified", attr="token")


def test_an_expired_link_is_refused_and_changes_nothing(api_client, user, settings, monkeypatch):
    settings.EMAIL_VERIFICATION_TIMEOUT_HOURS = 1
    body = verification_of(user)
    later = timezone.now().timestamp() + 3601
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)

    response = api_client.post(VERIFY, body)

    assert response.status_code == 400
    assert_error_shape(response.json(), code="verification_token_expired", attr="token")
    user.refresh_from_db()
    assert user.email_verified is False


def test_a_link_within_its_lifetime_works(api_client, user, settings, monkeypatch):
    settings.EMAIL_VERIFICATION_TIMEOUT_HOURS = 1
    body = verification_of(user)
    later = timezone.now().timestamp() + 3500
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)

    assert api_client.post(VERIFY, body).status_code == 200


def _tampered(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(lambda user, other: {**verification_of(user), "token": _tampered(verification_of(user)["token"])}),
        pytest.param(lambda user, other: {**verification_of(user), "token": "garbage"}, id="garbage"),
        pytest.param(lambda user, other: {**verification_of(other), "uid": verification_of(user)["uid"]}, id="other"),
        pytest.param(lambda user, other: {**verification_of(user), "uid": "!!!"}, id="bad-uid"),
        pytest.param(
            lambda user, other: {**verification_of(user), "uid": urlsafe_base64_encode(b"999999")}, id="unknown-uid"
        ),
    ],
)
def test_a_bad_link_is_refused_and_changes_nothing(api_client, user, other_user, make_body):
    response = api_client.post(VERIFY, make_body(user, other_user))

    assert response.status_code == 400
    assert_error_shape(response.json(), code="invalid_verification_token", attr="token")
    assert not User.objects.filter(email_verified=True).exists()


def test_a_link_for_a_previous_address_stops_working(api_client, user):
    body = verification_of(user)
    user.email = "changed@example.com"
    user.save(update_fields=["email"])

    response = api_client.post(VERIFY, body)

    assert_error_shape(response.json(), code="invalid_verification_token")
    user.refresh_from_db()
    assert not user.email_verified


def test_an_inactive_account_cannot_verify(api_client):
    user = UserFactory(is_active=False)

    response = api_client.post(VERIFY, verification_of(user))

    assert_error_shape(response.json(), code="invalid_verification_token")


def test_verify_needs_uid_and_token(api_client):
    response = api_client.post(VERIFY, {})

    assert response.status_code == 400
    assert {e["attr"] for e in response.json()["errors"]} == {"uid", "token"}


# --- resend ---------------------------------------------------------------------------------


def test_resend_mails_a_new_link(user_client, user, api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(RESEND)

    assert response.status_code == 202
    assert set(response.json()) == {"detail"}
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    link = link_of(mail.outbox[0])
    assert api_client.post(VERIFY, {"uid": link["uid"], "token": link["token"]}).status_code == 200


def test_resend_sends_nothing_once_verified(user_client, user, django_capture_on_commit_callbacks):
    User.objects.filter(pk=user.pk).update(email_verified=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(RESEND)

    assert response.status_code == 202
    assert mail.outbox == []


def test_resend_needs_a_signed_in_user(api_client):
    response = api_client.post(RESEND)

    assert response.status_code == 401
    assert mail.outbox == []


def test_resend_is_throttled_per_user(user_client, lower_rates, django_capture_on_commit_callbacks):
    lower_rates(email_verification_resend="2/hour")
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [user_client.post(RESEND).status_code for _ in range(3)]

    assert statuses == [202, 202, 429]
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("fail", ["all", "writes"])
def test_resend_fails_closed_when_its_limit_cannot_be_kept(user, settings, fail, django_capture_on_commit_callbacks):
    from tests.conftest import auth_client

    client = auth_client(user)
    client.raise_request_exception = False  # a 503 is logged as a server error
    settings.CACHES = {"default": {"BACKEND": "tests.security.failing_cache.FailingCache", "OPTIONS": {"FAIL": fail}}}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RESEND)

    assert response.status_code == 503
    assert_error_shape(response.json(), code="cache_unavailable")
    assert mail.outbox == []


def test_the_mail_task_sends_nothing_for_a_verified_or_inactive_user(db):
    verified, inactive = UserFactory(email_verified=True), UserFactory(is_active=False)

    send_email_verification_email(verified.pk)
    send_email_verification_email(inactive.pk)
    send_email_verification_email(999_999)

    assert mail.outbox == []


# --- me -------------------------------------------------------------------------------------


def test_me_cannot_set_email_verified(user_client, user):
    response = user_client.patch("/api/auth/me/", {"email_verified": True, "first_name": "Ada"})

    assert response.status_code == 200
    assert response.json()["email_verified"] is False
    user.refresh_from_db()
    assert user.email_verified is False and user.first_name == "Ada"


# --- the helper for the orders app ------------------------------------------------------------


def test_require_verified_email_refuses_with_403_email_not_verified(user):
    with pytest.raises(Forbidden) as refused:
        require_verified_email(user=user)

    assert refused.value.status_code == 403 and refused.value.code == "email_not_verified"
    assert user_has_verified_email(user=user) is False
    user.email_verified = True
    require_verified_email(user=user)
    assert user_has_verified_email(user=user) is True


def test_an_anonymous_user_has_no_verified_email():
    from django.contrib.auth.models import AnonymousUser

    assert user_has_verified_email(user=AnonymousUser()) is False


# --- the migration: which existing accounts count as verified -------------------------------


def test_the_migration_marks_verified_only_accounts_signed_in_since_registering():
    migration = importlib.import_module("users.migrations.0005_email_verified_social_accounts")
    joined = timezone.now() - timedelta(days=30)
    never = UserFactory(date_joined=joined, last_login=None)
    only_registration = UserFactory(date_joined=joined, last_login=joined + timedelta(milliseconds=40))
    returned = UserFactory(date_joined=joined, last_login=joined + timedelta(days=2))

    from django.apps import apps

    migration.mark_returning_accounts_verified(apps, None)

    verified = set(User.objects.filter(email_verified=True).values_list("pk", flat=True))
    assert verified == {returned.pk}
    assert {never.pk, only_registration.pk}.isdisjoint(verified)
