"""Who may call the endpoints a guest uses too (`GUEST_CHECKOUT`, API.md "Guest checkout").

With guest checkout off, both are DRF's IsAuthenticated: 401 without a login, as before guests.
"""

from rest_framework.permissions import BasePermission

from .selectors import guest_checkout_enabled


def _signed_in(request) -> bool:
    return bool(request.user and request.user.is_authenticated)


class CustomerOrGuestCart(BasePermission):
    """Placing an order: a signed-in customer, or a guest with an anonymous cart (`X-Cart-Token`).
    Anyone else is 401, as without guest checkout: nothing says who they are."""

    def has_permission(self, request, view):
        if _signed_in(request):
            return True
        return guest_checkout_enabled() and bool((request.headers.get("X-Cart-Token") or "").strip())


class CustomerOrGuestOrder(BasePermission):
    """An order's own endpoints (detail, cancel, paying it): a signed-in customer, or anyone while
    guest checkout is on, since an `X-Order-Token` may open the order. The order is then looked up
    among the requester's own (orders.selectors.order_owner_q): without the right token, 404."""

    def has_permission(self, request, view):
        return _signed_in(request) or guest_checkout_enabled()
