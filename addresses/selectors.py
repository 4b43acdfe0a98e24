"""Address reads. Another user's address does not exist as far as a caller can tell."""

from django.db.models import QuerySet

from novacart.exceptions import NotFound

from .error_codes import AddressErrorCode
from .models import Address


def address_list(*, user) -> QuerySet[Address]:
    """The user's addresses, the default first, then the newest."""
    return Address.objects.filter(user=user).order_by("-is_default", "-created_at", "-id")


def address_get_for_user(*, user, address_id: int) -> Address:
    """The user's address `address_id`. Raises `address_not_found` (404), also for another user's."""
    address = Address.objects.filter(pk=address_id, user=user).first()
    if address is None:
        raise NotFound("No such address.", code=AddressErrorCode.ADDRESS_NOT_FOUND)
    return address
