from django.contrib import admin, messages

from novacart.admin_base import ActionSelectionGuard

from . import services
from .models import Address


@admin.register(Address)
class AddressAdmin(ActionSelectionGuard, admin.ModelAdmin):
    """Writes go through the services, so the one-default rule holds here too."""

    list_display = ["id", "user", "full_name", "city", "country", "address_type", "is_default", "updated_at"]
    list_filter = ["address_type", "is_default", "country"]
    search_fields = ["user__email", "full_name", "line1", "city", "postal_code", "phone"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["is_default", "created_at", "updated_at"]
    actions = ["make_default"]

    def get_readonly_fields(self, request, obj=None):
        # The owner of an existing address does not change.
        return [*self.readonly_fields, "user"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in services.EDITABLE_FIELDS if name in form.cleaned_data}
        if change:
            saved = services.address_update(address=obj, data=data)
        else:
            saved = services.address_create(user=obj.user, data=data)
        obj.pk, obj.is_default = saved.pk, saved.is_default

    def delete_model(self, request, obj):
        services.address_delete(address=obj)

    def delete_queryset(self, request, queryset):
        for address in queryset.select_related("user"):
            services.address_delete(address=address)

    @admin.action(permissions=["change"], description="Make the selected address its owner's default")
    def make_default(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one address.", level=messages.WARNING)
            return
        address = queryset.get()
        services.address_set_default(user=address.user, address_id=address.pk)
        self.message_user(request, f"{address} is now the default address of {address.user}.")
