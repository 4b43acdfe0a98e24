"""Staff screens: payments and webhook events are read-only records. A refund is confirmed on the
order's refund page (orders.admin.OrderAdmin.refund_view), which shows what goes back and calls the
same service as POST /api/payments/refund/; the list's refund action leads there."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html

from novacart.admin_base import ReadOnlyModelAdmin, money
from novacart.permissions import Perm, user_has

from .models import Payment, WebhookEvent
from .provider_types import from_minor_units


@admin.register(Payment)
class PaymentAdmin(ReadOnlyModelAdmin):
    list_display = [
        "id",
        "order_link",
        "provider",
        "status",
        "amount",
        "needs_review",
        "provider_payment_id",
        "created_at",
    ]
    list_filter = ["status", "provider", "needs_review", "currency"]
    search_fields = ["order__number", "provider_payment_id", "provider_checkout_session_id", "provider_refund_id"]
    list_select_related = ["order"]
    # The amount as money instead of minor units; never the client secret.
    readonly_fields = [
        "order_link",
        "amount",
        *(
            field.name
            for field in Payment._meta.fields
            if field.name not in ("id", "order", "amount_minor", "currency", "client_secret")
        ),
    ]
    fields = readonly_fields
    date_hierarchy = "created_at"
    actions = ["refund_payments"]

    @admin.display(description="amount", ordering="amount_minor")
    def amount(self, obj):
        return money(from_minor_units(obj.amount_minor, obj.currency), obj.currency)

    @admin.display(description="order", ordering="order__number")
    def order_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[obj.order_id]), obj.order.number
        )

    def has_refund_permission(self, request):
        return user_has(request.user, Perm.REFUND_PAYMENT)

    @admin.action(
        description="Refund the selected payment's order (shows what will be refunded first)", permissions=["refund"]
    )
    def refund_payments(self, request, queryset):
        orders = sorted(set(queryset.values_list("order_id", "order__number")))
        if len(orders) != 1:
            numbers = ", ".join(number for _id, number in orders)
            self.message_user(
                request,
                f"Refunds are confirmed one order at a time; select the payment of one order (you selected {numbers}).",
                messages.WARNING,
            )
            return None
        [(order_id, _number)] = orders
        return redirect("admin:orders_order_refund", order_id)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyModelAdmin):
    list_display = ["event_id", "type", "received_at", "processed_at", "outcome"]
    list_filter = ["type", "provider"]
    search_fields = ["event_id", "type", "outcome"]
    readonly_fields = [field.name for field in WebhookEvent._meta.fields]
    date_hierarchy = "received_at"
