"""Staff screens: payments and webhook events are read-only records; refunds go through the
same service as POST /api/payments/refund/."""

from django.contrib import admin, messages

from novacart.admin_base import ReadOnlyModelAdmin
from novacart.exceptions import ServiceError

from . import refunds
from .models import Payment, WebhookEvent


@admin.register(Payment)
class PaymentAdmin(ReadOnlyModelAdmin):
    list_display = [
        "id",
        "order",
        "provider",
        "status",
        "amount_minor",
        "currency",
        "needs_review",
        "provider_payment_id",
        "created_at",
    ]
    list_filter = ["status", "provider", "needs_review", "currency"]
    search_fields = ["order__number", "provider_payment_id", "provider_checkout_session_id", "provider_refund_id"]
    list_select_related = ["order"]
    readonly_fields = [field.name for field in Payment._meta.fields]
    exclude = ["client_secret"]
    date_hierarchy = "created_at"
    actions = ["refund_payments"]

    def get_readonly_fields(self, request, obj=None):
        return [name for name in self.readonly_fields if name != "client_secret"]

    def has_refund_permission(self, request):
        return request.user.is_active and request.user.is_staff

    @admin.action(description="Refund the selected payments' orders in full", permissions=["refund"])
    def refund_payments(self, request, queryset):
        for order_id in sorted(set(queryset.values_list("order_id", flat=True))):
            try:
                answer = refunds.payment_refund(order_id=order_id, user=request.user)
            except ServiceError as exc:
                self.message_user(request, f"Order {order_id}: {exc} ({exc.code})", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Order {order_id}: refund {answer.refund_id} {answer.refund_status}; order {answer.order_status}.",
                    messages.SUCCESS,
                )


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyModelAdmin):
    list_display = ["event_id", "type", "received_at", "processed_at", "outcome"]
    list_filter = ["type", "provider"]
    search_fields = ["event_id", "type", "outcome"]
    readonly_fields = [field.name for field in WebhookEvent._meta.fields]
    date_hierarchy = "received_at"
