"""Row locks on a user's address book. Call inside `transaction.atomic()`.

Address writes hold no other lock (CONTRIBUTING.md, "Lock order"): the user row, then the user's
addresses by primary key, which serialises the "one default address" and per-user cap rules.
"""

from django.contrib.auth import get_user_model
from django.db import connection

from .models import Address


def lock_user_addresses(*, user) -> list[Address]:
    """Locks the user row, then the user's addresses (by pk); returns the addresses."""
    # NO KEY UPDATE: other tables' rows may still reference the user (their FK check takes KEY SHARE).
    no_key = connection.features.has_select_for_no_key_update
    list(get_user_model().objects.select_for_update(no_key=no_key).filter(pk=user.pk).values_list("pk", flat=True))
    return list(Address.objects.select_for_update().filter(user=user).order_by("pk"))
