"""Address writes and the default-address rule: a user with addresses has exactly one default.

The first address becomes the default; making another one the default unsets the old one in the
same transaction; deleting the default promotes the most recent remaining address. Every write
locks the user's row (the mutex, which also covers a user with no addresses yet) and then the
user's address rows, so concurrent writes of one user run one after the other. The partial unique
constraint `address_one_default_per_user` is the database's last word.
"""

from django.conf import settings
from django.db import transaction

from novacart.exceptions import ValidationFailed

from .error_codes import AddressErrorCode
from .lock_objects import lock_user_addresses
from .models import Address
from .selectors import address_get_for_user

# settings.ADDRESS_MAX_PER_USER, read once at import (tests patch this module attribute).
ADDRESS_MAX_PER_USER = settings.ADDRESS_MAX_PER_USER

EDITABLE_FIELDS = (
    "full_name",
    "phone",
    "line1",
    "line2",
    "city",
    "state",
    "postal_code",
    "country",
    "address_type",
)


def _make_default(*, address: Address) -> None:
    """Inside the lock: unsets the old default (first, so the partial unique index never sees two)."""
    Address.objects.filter(user_id=address.user_id, is_default=True).exclude(pk=address.pk).update(is_default=False)
    if not address.is_default:
        address.is_default = True
        address.save(update_fields=["is_default", "updated_at"])


def address_create(*, user, data: dict) -> Address:
    """Adds an address to the user's book. The first address is the default whatever `is_default`
    says; `is_default: true` moves the default to the new address.
    Raises `address_limit_reached` (400) past settings.ADDRESS_MAX_PER_USER addresses."""
    fields = {name: data[name] for name in EDITABLE_FIELDS if name in data}
    with transaction.atomic():
        existing = lock_user_addresses(user=user)
        if len(existing) >= ADDRESS_MAX_PER_USER:
            raise ValidationFailed(
                f"An account holds at most {ADDRESS_MAX_PER_USER} addresses; delete one first.",
                code=AddressErrorCode.ADDRESS_LIMIT_REACHED,
            )
        address = Address.objects.create(user=user, is_default=False, **fields)
        if data.get("is_default") or not existing:
            _make_default(address=address)
    return address


def address_update(*, address: Address, data: dict) -> Address:
    """Changes an address's fields. `is_default: true` makes it the default (through the same rule
    as set-default); `is_default: false` on the default is ignored: a user with addresses always has
    a default, moved by making another address the default."""
    with transaction.atomic():
        lock_user_addresses(user=address.user)
        address = Address.objects.get(pk=address.pk)  # re-read under the lock
        changed = [name for name in EDITABLE_FIELDS if name in data and getattr(address, name) != data[name]]
        for name in changed:
            setattr(address, name, data[name])
        if changed:
            address.save(update_fields=[*changed, "updated_at"])
        if data.get("is_default"):
            _make_default(address=address)
    return address


def address_set_default(*, user, address_id: int) -> Address:
    """Makes the user's address `address_id` the one default (the old default is unset in the same
    transaction). Raises `address_not_found` (404) for an unknown or another user's address."""
    with transaction.atomic():
        lock_user_addresses(user=user)
        address = address_get_for_user(user=user, address_id=address_id)
        _make_default(address=address)
    return address


def address_delete(*, address: Address) -> None:
    """Deletes an address; when it was the default, the most recent remaining address becomes the
    default. Orders keep their own copy of the address, so history is not affected."""
    with transaction.atomic():
        lock_user_addresses(user=address.user)
        deleted = Address.objects.filter(pk=address.pk).first()
        if deleted is None:
            return
        was_default = deleted.is_default
        deleted.delete()
        if was_default:
            successor = Address.objects.filter(user_id=address.user_id).order_by("-created_at", "-id").first()
            if successor is not None:
                _make_default(address=successor)
