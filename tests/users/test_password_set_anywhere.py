"""Whoever sets a new password (the API, the admin, `manage.py changepassword`, a shell), every token
issued before stops working: the outside check found `changepassword` left sessions alive."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import UserFactory
from users.services import tokens_for_user

pytestmark = pytest.mark.django_db


def _me(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/auth/me/")


def test_manage_py_changepassword_ends_every_session(monkeypatch):
    user = UserFactory()
    before = tokens_for_user(user)
    assert _me(before["access"]).status_code == 200
    monkeypatch.setattr(
        "django.contrib.auth.management.commands.changepassword.getpass.getpass", lambda prompt="": "N3w-Passw0rd!!"
    )

    call_command("changepassword", user.email, stdout=None)

    user.refresh_from_db()
    assert user.check_password("N3w-Passw0rd!!")
    answer = _me(before["access"])
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "password_changed"
    assert _me(tokens_for_user(user)["access"]).status_code == 200


@pytest.mark.parametrize("update_fields", [None, ["password"]])
def test_a_password_saved_from_a_shell_ends_every_session(update_fields):
    user = UserFactory()
    before = tokens_for_user(user)["access"]

    user.set_password("An0ther-Passw0rd!")
    user.save(update_fields=update_fields)

    assert _me(before).status_code == 401
    assert _me(tokens_for_user(user)["access"]).status_code == 200


def test_saving_other_fields_keeps_the_sessions():
    user = UserFactory()
    before = tokens_for_user(user)["access"]

    user.first_name = "Ada"
    user.save()

    assert _me(before).status_code == 200
