from django.contrib import admin
from django.db.models import Count, Sum

from novacart.admin_base import ActionSelectionGuard

from .models import Cart, CartItem


class CartOwnerFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "owner"

    def lookups(self, request, model_admin):
        return [("user", "User carts"), ("anonymous", "Anonymous carts")]

    def queryset(self, request, queryset):
        if self.value() == "user":
            return queryset.filter(user__isnull=False)
        if self.value() == "anonymous":
            return queryset.filter(user__isnull=True)
        return queryset


class CartItemInline(admin.TabularInline):
    """Lines are the customer's: staff look, they do not edit."""

    model = CartItem
    fields = ["product", "quantity", "created_at", "updated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(Cart)
class CartAdmin(ActionSelectionGuard, admin.ModelAdmin):
    list_display = ["id", "user", "is_anonymous", "line_count", "unit_count", "updated_at", "created_at"]
    list_filter = [CartOwnerFilter, "updated_at"]
    search_fields = ["user__email", "=id"]
    readonly_fields = ["user", "created_at", "updated_at"]
    exclude = ["token"]  # an anonymous cart's token is its only credential: never shown
    inlines = [CartItemInline]
    list_select_related = ["user"]
    date_hierarchy = "updated_at"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_lines=Count("items"), _units=Sum("items__quantity"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description="anonymous")
    def is_anonymous(self, obj):
        return obj.is_anonymous

    @admin.display(description="lines", ordering="_lines")
    def line_count(self, obj):
        return obj._lines

    @admin.display(description="units", ordering="_units")
    def unit_count(self, obj):
        return obj._units or 0
