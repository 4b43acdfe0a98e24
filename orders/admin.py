"""Staff screens for orders. Status changes go through orders.services.order_transition, like
everywhere else; the admin never writes an order's status itself."""

from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.urls import path, reverse

from novacart.exceptions import ServiceError

from . import selectors
from .models import Order, OrderItem, OrderStatus, OrderStatusChange
from .services import order_transition
from .transitions import Actor

CHART_WIDTH = 720
CHART_HEIGHT = 220
CHART_LABEL_SPACE = 40


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderItemInline(_ReadOnlyInline):
    model = OrderItem
    fields = ["product", "product_name", "sku", "unit_price", "quantity", "line_total"]
    readonly_fields = fields


class OrderStatusChangeInline(_ReadOnlyInline):
    model = OrderStatusChange
    fields = ["created_at", "from_status", "to_status", "actor_label", "actor", "note"]
    readonly_fields = fields
    verbose_name = "status change"
    verbose_name_plural = "status history"


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "user_email", "status", "payment_method", "total", "currency", "created_at", "paid_at"]
    list_filter = ["status", "payment_method", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["number", "user__email"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    inlines = [OrderItemInline, OrderStatusChangeInline]
    actions = ["mark_shipped", "mark_delivered"]
    change_list_template = "admin/orders/order/change_list.html"
    readonly_fields = [
        "number",
        "user",
        "status",
        "payment_method",
        "shipping_address",
        "subtotal",
        "total",
        "currency",
        "tracking_number",
        "created_at",
        "updated_at",
        "paid_at",
        "shipped_at",
        "delivered_at",
        "cancelled_at",
        "refunded_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # orders come from checkouts

    def has_delete_permission(self, request, obj=None):
        return False  # orders are the shop's records; cancel or refund instead

    @admin.display(description="customer", ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    def _transition(self, request, order: Order, to_status: str, **kwargs) -> bool:
        try:
            order_transition(
                order_id=order.pk,
                to_status=to_status,
                actor=Actor.STAFF,
                user=request.user,
                note=f"Marked {to_status.lower()} in the admin.",
                **kwargs,
            )
        except ServiceError as exc:
            self.message_user(request, f"{order.number}: {exc}", level=messages.ERROR)
            return False
        return True

    @admin.action(description="Mark selected orders as shipped (asks for tracking numbers)")
    def mark_shipped(self, request, queryset):
        orders = list(queryset.order_by("pk"))
        if request.POST.get("apply"):
            shipped = 0
            for order in orders:
                tracking = request.POST.get(f"tracking_{order.pk}", "")
                shipped += self._transition(request, order, OrderStatus.SHIPPED, tracking_number=tracking)
            if shipped:
                self.message_user(request, f"{shipped} order(s) marked as shipped.", level=messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Ship orders",
            "opts": self.model._meta,
            "orders": orders,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/order/mark_shipped.html", context)

    @admin.action(description="Mark selected orders as delivered")
    def mark_delivered(self, request, queryset):
        delivered = sum(self._transition(request, order, OrderStatus.DELIVERED) for order in queryset.order_by("pk"))
        if delivered:
            self.message_user(request, f"{delivered} order(s) marked as delivered.", level=messages.SUCCESS)

    # --- the sales report as a chart ---------------------------------------------

    def get_urls(self):
        custom = [
            path(
                "sales-report/",
                self.admin_site.admin_view(self.sales_report_view),
                name="orders_order_sales_report",
            )
        ]
        return custom + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "sales_report_url": reverse("admin:orders_order_sales_report")}
        return super().changelist_view(request, extra_context=extra_context)

    def sales_report_view(self, request):
        """Revenue per day as server-side SVG bars (no JavaScript, nothing from a CDN)."""
        error = ""
        try:
            days = int(request.GET.get("days", 30))
        except ValueError:
            days, error = 30, "Days must be a whole number; showing 30."
        if not 1 <= days <= 365:
            days, error = 30, "Days must be between 1 and 365; showing 30."
        report = selectors.order_sales_report(days=days)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Sales in the last {days} days",
            "opts": self.model._meta,
            "report": report,
            "chart": _bar_chart(report["daily"]),
            "error": error,
            "day_choices": [7, 30, 90, 365],
        }
        return TemplateResponse(request, "admin/orders/sales_report.html", context)


def _bar_chart(daily: list[dict]) -> dict:
    """Geometry for one bar per day, scaled to the best day."""
    best = max((row["revenue"] for row in daily), default=Decimal("0.00"))
    peak = best or 1
    slot = CHART_WIDTH / max(len(daily), 1)
    bar_width = max(slot * 0.8, 1)
    label_every = max(1, len(daily) // 10)
    bars = []
    for index, row in enumerate(daily):
        height = float(row["revenue"] / peak) * CHART_HEIGHT
        bars.append(
            {
                "x": round(index * slot + (slot - bar_width) / 2, 2),
                "y": round(CHART_HEIGHT - height, 2),
                "width": round(bar_width, 2),
                "height": round(height, 2),
                "row": row,
                "label": row["date"].strftime("%b %d") if index % label_every == 0 else "",
                "label_x": round(index * slot + slot / 2, 2),
            }
        )
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "total_height": CHART_HEIGHT + CHART_LABEL_SPACE,
        "label_y": CHART_HEIGHT + 16,
        "best": best,
    }
