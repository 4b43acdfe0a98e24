"""A user with addresses has exactly one default address."""

from functools import partial

import pytest
from django.db import IntegrityError, transaction

from addresses import services
from addresses.models import Address
from tests.concurrency import run_concurrently
from tests.conftest import requires_postgres
from tests.factories import AddressFactory, UserFactory

from .test_addresses_api import URL, VALID, detail

pytestmark = pytest.mark.django_db


def defaults(user):
    return list(Address.objects.filter(user=user, is_default=True).values_list("pk", flat=True))


def test_first_address_becomes_the_default_even_when_not_asked(user, user_client):
    first = user_client.post(URL, {**VALID, "is_default": False}, format="json").json()
    second = user_client.post(URL, VALID, format="json").json()

    assert first["is_default"] is True
    assert second["is_default"] is False
    assert defaults(user) == [first["id"]]


def test_creating_with_is_default_moves_the_default(user, user_client):
    old = AddressFactory(user=user, is_default=True)

    new = user_client.post(URL, {**VALID, "is_default": True}, format="json").json()

    assert new["is_default"] is True
    assert defaults(user) == [new["id"]]
    old.refresh_from_db()
    assert old.is_default is False


def test_set_default_switches_the_default(user, user_client):
    old = AddressFactory(user=user, is_default=True)
    new = AddressFactory(user=user)

    response = user_client.post(f"{detail(new.pk)}set-default/")

    assert response.status_code == 200
    assert response.json()["id"] == new.pk and response.json()["is_default"] is True
    assert defaults(user) == [new.pk]
    assert user_client.get(URL).json()["results"][0]["id"] == new.pk
    old.refresh_from_db()
    assert old.is_default is False


def test_set_default_on_the_default_is_harmless(user, user_client):
    address = AddressFactory(user=user, is_default=True)

    assert user_client.post(f"{detail(address.pk)}set-default/").status_code == 200
    assert defaults(user) == [address.pk]


def test_set_default_leaves_other_users_alone(user, user_client, other_user):
    theirs = AddressFactory(user=other_user, is_default=True)
    mine = AddressFactory(user=user)

    user_client.post(f"{detail(mine.pk)}set-default/")

    assert defaults(other_user) == [theirs.pk]


@pytest.mark.parametrize("method", ["patch", "put"])
def test_update_with_is_default_true_goes_through_set_default(user, user_client, method):
    old = AddressFactory(user=user, is_default=True)
    new = AddressFactory(user=user)

    response = getattr(user_client, method)(detail(new.pk), {**VALID, "is_default": True}, format="json")

    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert defaults(user) == [new.pk]
    old.refresh_from_db()
    assert old.is_default is False


def test_unsetting_the_default_is_ignored(user, user_client):
    address = AddressFactory(user=user, is_default=True)
    AddressFactory(user=user)

    response = user_client.patch(detail(address.pk), {"is_default": False, "city": "Rome"}, format="json")

    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert response.json()["city"] == "Rome"
    assert defaults(user) == [address.pk]


def test_deleting_the_default_promotes_the_most_recent_address(user, user_client):
    oldest = AddressFactory(user=user)
    default = AddressFactory(user=user, is_default=True)
    newest = AddressFactory(user=user)

    assert user_client.delete(detail(default.pk)).status_code == 204

    assert defaults(user) == [newest.pk]
    oldest.refresh_from_db()
    assert oldest.is_default is False


def test_deleting_a_non_default_keeps_the_default(user, user_client):
    default = AddressFactory(user=user, is_default=True)
    other = AddressFactory(user=user)

    user_client.delete(detail(other.pk))

    assert defaults(user) == [default.pk]


def test_deleting_the_last_address_leaves_no_default(user, user_client):
    only = AddressFactory(user=user, is_default=True)

    user_client.delete(detail(only.pk))

    assert not Address.objects.filter(user=user).exists()
    assert user_client.post(URL, VALID, format="json").json()["is_default"] is True


def test_a_sequence_of_operations_never_leaves_two_defaults(user, user_client):
    ids = [user_client.post(URL, VALID, format="json").json()["id"] for _ in range(4)]
    user_client.post(f"{detail(ids[2])}set-default/")
    user_client.patch(detail(ids[3]), {"is_default": True}, format="json")
    user_client.post(URL, {**VALID, "is_default": True}, format="json")
    user_client.delete(detail(ids[3]))
    user_client.post(f"{detail(ids[1])}set-default/")
    user_client.delete(detail(ids[1]))

    assert len(defaults(user)) == 1


def test_database_refuses_two_defaults_for_one_user(user):
    AddressFactory(user=user, is_default=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        AddressFactory(user=user, is_default=True)


def test_services_can_be_called_directly(user):
    first = services.address_create(user=user, data={**VALID, "country": "FR", "is_default": False})
    second = services.address_create(user=user, data={**VALID, "country": "FR"})

    services.address_set_default(user=user, address_id=second.pk)
    services.address_delete(address=second)

    assert defaults(user) == [first.pk]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_addresses_and_set_defaults_keep_one_default():
    user = UserFactory()

    def create(index):
        return services.address_create(user=user, data={**VALID, "city": f"City {index}", "is_default": index % 2 == 0})

    _, failures = run_concurrently(*[partial(create, i) for i in range(6)])

    assert failures == []
    assert Address.objects.filter(user=user).count() == 6
    assert len(defaults(user)) == 1

    ids = list(Address.objects.filter(user=user).values_list("pk", flat=True))
    _, failures = run_concurrently(*[partial(services.address_set_default, user=user, address_id=pk) for pk in ids])

    assert failures == []
    assert len(defaults(user)) == 1
