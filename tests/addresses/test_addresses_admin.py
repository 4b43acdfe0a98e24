import pytest

from addresses.models import Address
from tests.factories import AddressFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def test_address_changelist_loads(admin_client):
    AddressFactory.create_batch(3)

    assert admin_client.get("/admin/addresses/address/?is_default__exact=1").status_code == 200


def test_admin_make_default_action_goes_through_the_service(admin_client, user):
    old = AddressFactory(user=user, is_default=True)
    new = AddressFactory(user=user)

    response = admin_client.post(
        "/admin/addresses/address/", {"action": "make_default", "_selected_action": [new.pk]}, follow=True
    )

    assert response.status_code == 200
    assert list(Address.objects.filter(user=user, is_default=True).values_list("pk", flat=True)) == [new.pk]
    old.refresh_from_db()
    assert old.is_default is False


def test_admin_delete_of_the_default_promotes_another(admin_client, user):
    default = AddressFactory(user=user, is_default=True)
    other = AddressFactory(user=user)

    response = admin_client.post(f"/admin/addresses/address/{default.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    other.refresh_from_db()
    assert other.is_default is True
