import pytest

from addresses.models import Address
from novacart.permissions import ORDER_MANAGERS, SUPPORT
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


@pytest.mark.parametrize(
    ("roles", "superuser", "status", "moved"),
    [
        ((SUPPORT,), False, 200, False),
        ((ORDER_MANAGERS,), False, 200, False),
        ((), False, 403, False),
        ((), True, 200, True),
    ],
    ids=["support", "order-managers", "no-role", "superuser"],
)
def test_make_default_by_role(client, user, roles, superuser, status, moved):
    """Support and order managers see addresses but may not change them: the action is not offered
    and a forged post changes nothing; staff without a role get a 403."""
    old = AddressFactory(user=user, is_default=True)
    new = AddressFactory(user=user)
    client.force_login(StaffFactory(roles=roles, is_superuser=superuser))

    page = client.get("/admin/addresses/address/")
    response = client.post("/admin/addresses/address/", {"action": "make_default", "_selected_action": [new.pk]})

    assert (page.status_code, response.status_code in (200, 302)) == (status, status != 403)
    assert ('value="make_default"' in page.content.decode()) is moved
    default = Address.objects.get(user=user, is_default=True)
    assert default.pk == (new.pk if moved else old.pk)
