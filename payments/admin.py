"""Staff screens: payments, refunds and webhook events are read-only records. A refund is made on the
order's refund page (orders.admin.OrderAdmin.refund_view), which shows what goes back and calls the
same service as POST /api/payments/refund/; the payments list's refund action leads there. The
order page lists the order's refunds (RefundInline)."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from novacart.admin_base import ReadOnlyModelAdmin, money
from novacart.permissions import Perm, user_has

from .models import Payment, Refund, RefundStatus, WebhookEvent
from .provider_types import from_minor_units


def _minor(amount_minor: int, currency: str) -> str:
    return money(from_minor_units(amount_minor, currency), currency)


def _order_link(obj):
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[obj.order_id]), obj.order.number
    )


class RefundColumns:
    """What the order page's refunds and the refunds list show of one refund, from its own row and
    lines (the queryset prefetches `lines__order_item` and selects `created_by`)."""

    @admin.display(description="amount", ordering="amount_minor")
    def amount(self, refund):
        return _minor(refund.amount_minor, refund.currency)

    @admin.display(description="status", ordering="status")
    def status_display(self, refund):
        """Its status, and why when the provider has not confirmed it or refused it."""
        if refund.last_error and refund.status != RefundStatus.SUCCEEDED:
            return f"{refund.get_status_display()}: {refund.last_error}"
        return refund.get_status_display()

    @admin.display(description="lines")
    def lines(self, refund):
        """Each line's units and what they returned ("2 × Mug (MUG-1), 21.60 USD, restocked"), then any
        other amount (goodwill, or what a refund of whatever was left or one made at the provider gave
        beyond lines and shipping)."""
        restocked = {RefundStatus.SUCCEEDED: ", restocked", RefundStatus.PENDING: ", restocked when refunded"}
        parts = [
            format_html(
                "{} &times; {} ({}), {}{}",
                line.quantity,
                line.order_item.product_name,
                line.order_item.sku,
                _minor(line.amount_minor, refund.currency),
                restocked.get(refund.status, "") if line.restock else "",
            )
            for line in refund.lines.all()
        ]
        if refund.goodwill_minor:
            parts.append(format_html("Other amount: {}", _minor(refund.goodwill_minor, refund.currency)))
        return format_html_join(mark_safe("<br>"), "{}", ((part,) for part in parts)) if parts else "-"

    @admin.display(description="shipping")
    def shipping_display(self, refund):
        return _minor(refund.shipping_minor, refund.currency) if refund.shipping else "-"

    @admin.display(description="made by", ordering="created_by__email")
    def made_by(self, refund):
        return refund.created_by.email if refund.created_by else "-"


class RefundInline(RefundColumns, admin.TabularInline):
    """The order page's refunds, oldest first: read-only (refunds are made on its refund page)."""

    model = Refund
    fk_name = "order"
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = "refund"
    verbose_name_plural = "refunds"
    fields = ["created_at", "amount", "status_display", "lines", "shipping_display", "source", "made_by", "reason"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by").prefetch_related("lines__order_item")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
        return _order_link(obj)

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


@admin.register(Refund)
class RefundAdmin(RefundColumns, ReadOnlyModelAdmin):
    """Every refund: made in the shop (by staff, or automatically for a payment an order could not
    take) or found at the provider (its dashboard). Written only by payments.refunds."""

    list_display = ["id", "order_link", "amount", "status", "source", "shipping", "made_by", "created_at"]
    list_filter = ["status", "source", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["order__number", "provider_refund_id", "payment__provider_payment_id"]
    list_select_related = ["order", "created_by"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "order_link",
        "payment_link",
        "amount",
        "status_display",
        "source",
        "lines",
        "shipping_display",
        "reason",
        "made_by",
        "provider_refund_id",
        "of_sale",
        "created_at",
        "updated_at",
        "completed_at",
    ]
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment").prefetch_related("lines__order_item")

    @admin.display(description="order", ordering="order__number")
    def order_link(self, refund):
        return _order_link(refund)

    @admin.display(description="payment")
    def payment_link(self, refund):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:payments_payment_change", args=[refund.payment_id]),
            refund.payment.provider_payment_id or refund.payment_id,
        )


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyModelAdmin):
    list_display = ["event_id", "type", "received_at", "processed_at", "outcome"]
    list_filter = ["type", "provider"]
    search_fields = ["event_id", "type", "outcome"]
    readonly_fields = [field.name for field in WebhookEvent._meta.fields]
    date_hierarchy = "received_at"
