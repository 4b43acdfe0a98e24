"""A forged admin action post (a selected id that is not an id) is a message on the list, never a 500
and never a change, for every action of every admin on the site: ours, and Django's and SimpleJWT's,
which novacart/admin.py registers again with the same guard."""

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from novacart.admin_base import ActionSelectionGuard
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GARBAGE = [["abc"], ["1.5"], [""], ["99999999999999999999999"]]


def _site_actions():
    for model, model_admin in admin.site._registry.items():
        for name in model_admin.actions or []:
            yield pytest.param(model, name, id=f"{model._meta.label}.{name}")
        yield pytest.param(model, "delete_selected", id=f"{model._meta.label}.delete_selected")


def test_every_admin_on_the_site_has_the_guard():
    assert [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, ActionSelectionGuard)
    ] == []


@pytest.mark.parametrize("selected", GARBAGE, ids=["letters", "decimal", "empty", "too-large"])
@pytest.mark.parametrize(("model", "action"), list(_site_actions()))
def test_a_forged_selection_is_refused_in_words(model, action, selected):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    before = model.objects.count()

    response = client.post(url, {"action": action, ACTION_CHECKBOX_NAME: selected, "apply": "yes", "post": "yes"})

    assert response.status_code in (200, 302)
    if action in admin.site._registry[model].get_actions(response.wsgi_request):
        assert "That selection is not valid; nothing was done." in [str(m) for m in get_messages(response.wsgi_request)]
    assert model.objects.count() == before
