"""Admin building blocks shared by the apps' admin modules."""

from django.contrib import admin


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """A record staff may look at but never add, change or delete (payments, events, stock movements)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
