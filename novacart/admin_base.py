"""Admin building blocks shared by the apps' admin modules."""

from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect


class ActionSelectionGuard:
    """Mixed into every ModelAdmin of ours: an action post whose selected ids are not ids of this model
    ("abc", "1.5", one past the database's integer range) is refused with a message before the action
    runs. Django's own `response_action` filters by them as they come, which is a 500 (ValueError,
    OverflowError) when the action's queryset is read."""

    def response_action(self, request, queryset):
        pk = self.model._meta.pk
        try:
            for value in request.POST.getlist(ACTION_CHECKBOX_NAME):
                pk.clean(value, None)  # the type, and the database's range (an integer field's validators)
        except ValidationError:
            self.message_user(request, "That selection is not valid; nothing was done.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)


class ReadOnlyModelAdmin(ActionSelectionGuard, admin.ModelAdmin):
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
