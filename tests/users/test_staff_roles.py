"""The staff roles of API.md exist as groups holding exactly the permissions of the role table, and
the one permission test (`novacart.permissions.user_has` / `StaffPermission`) means what it says."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from rest_framework.test import APIRequestFactory

from novacart.permissions import (
    CATALOG_MANAGERS,
    FINANCE,
    ORDER_MANAGERS,
    ROLES,
    SUPPORT,
    Perm,
    StaffPermission,
    user_has,
)
from tests.factories import StaffFactory, UserFactory, staff_in

pytestmark = pytest.mark.django_db


def test_the_migrations_made_one_group_per_role_with_exactly_its_permissions():
    made = {
        group.name: {f"{perm.content_type.app_label}.{perm.codename}" for perm in group.permissions.all()}
        for group in Group.objects.prefetch_related("permissions__content_type")
    }
    assert made == {name: set(perms) for name, perms in ROLES.items()}
    assert set(ROLES) == {CATALOG_MANAGERS, ORDER_MANAGERS, FINANCE, SUPPORT}


def test_the_custom_permissions_exist_and_only_finance_refunds_or_reads_revenue():
    holders = {name for name, perms in ROLES.items() if Perm.REFUND_PAYMENT in perms}
    assert holders == {FINANCE}
    assert {name for name, perms in ROLES.items() if Perm.VIEW_SALES_REPORT in perms} == {FINANCE}


def test_support_changes_nothing():
    assert all(perm.split(".")[1].startswith("view_") for perm in ROLES[SUPPORT])


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: staff_in(FINANCE), True),
        (lambda: staff_in(SUPPORT), False),
        (lambda: StaffFactory(roles=()), False),
        (lambda: staff_in(FINANCE, is_active=False), False),
        # The permission without staff status: not a staff user, nothing staff-only.
        (lambda: UserFactory(), False),
        (lambda: StaffFactory(roles=(), is_superuser=True), True),
    ],
    ids=["finance", "support", "staff-without-role", "inactive-finance", "customer", "superuser"],
)
def test_refund_permission_by_kind_of_account(make, expected):
    user = make()
    assert user_has(user, Perm.REFUND_PAYMENT) is expected
    request = APIRequestFactory().post("/")
    request.user = user
    assert StaffPermission.require(Perm.REFUND_PAYMENT)().has_permission(request, view=None) is expected


def test_a_customer_given_the_permission_directly_is_still_not_staff():
    user = UserFactory()
    user.groups.set(Group.objects.filter(name=FINANCE))
    assert user_has(user, Perm.REFUND_PAYMENT) is False


def test_anonymous_holds_nothing():
    assert user_has(AnonymousUser(), Perm.VIEW_ORDER) is False


def test_the_default_staff_factory_holds_every_role():
    assert set(StaffFactory().groups.values_list("name", flat=True)) == set(ROLES)


@pytest.mark.django_db(transaction=True)
def test_the_groups_come_back_after_a_flush():
    """A flush (every transactional test ends with one) empties what the data migration made; the
    post_migrate handler makes the groups again, so a staff account's roles never silently vanish."""
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)

    assert set(Group.objects.values_list("name", flat=True)) == set(ROLES)
    assert user_has(staff_in(FINANCE), Perm.REFUND_PAYMENT)
