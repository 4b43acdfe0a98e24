"""Admin building blocks shared by the apps' admin modules."""

from decimal import Decimal

from django.contrib import admin


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """A record staff may look at but never add, change or delete (payments, events, stock movements)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def money(amount: Decimal | None, currency: str) -> str:
    """An amount as staff read money in the admin: `1,019.99 USD` (the places the amount carries, the
    ISO code upper-case), `-` when there is none. Amounts in minor units become Decimals through
    `payments.provider_types.from_minor_units` first, which knows each currency's places."""
    if amount is None:
        return "-"
    return f"{amount:,} {currency.upper()}"
