"""The returns queue in the admin: open returns first, oldest first; approve, reject and receive go
through orders.returns.return_transition, the refund through payments.refunds.refund_for_return, the
same services as the staff API. The admin never writes a return itself. Imported by orders/admin.py."""

import logging

from django.contrib import admin, messages
from django.db.models import Sum
from django.utils.html import format_html

from novacart.admin_base import ActionSelectionGuard
from novacart.exceptions import ServiceError
from novacart.permissions import Perm, user_has
from payments.refunds import refund_for_return

from .models import RETURN_OPEN_STATUSES, OrderReturn, OrderReturnLine, OrderReturnStatusChange, ReturnStatus
from .returns import return_transition
from .transitions import Actor

logger = logging.getLogger(__name__)


class ReturnQueueFilter(admin.SimpleListFilter):
    """Open returns (those staff still act on) unless asked otherwise: the queue."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("open", "Open (requested, approved, received)"), ("closed", "Closed (rejected, refunded)")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(status__in=RETURN_OPEN_STATUSES)
        if self.value() == "closed":
            return queryset.exclude(status__in=RETURN_OPEN_STATUSES)
        return queryset


class ReturnLineInline(admin.TabularInline):
    model = OrderReturnLine
    extra = 0
    can_delete = False
    fields = ("order_item", "quantity", "restock")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReturnHistoryInline(admin.TabularInline):
    model = OrderReturnStatusChange
    extra = 0
    can_delete = False
    fields = ("created_at", "from_status", "to_status", "actor_label", "actor", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OrderReturn)
class OrderReturnAdmin(ActionSelectionGuard, admin.ModelAdmin):
    list_display = ("id", "order_link", "status", "units", "created_at", "updated_at")
    list_filter = (ReturnQueueFilter, "status")
    search_fields = ("order__number", "order__user__email", "order__email")
    ordering = ("created_at", "id")
    list_select_related = ("order",)
    fields = ("order", "status", "reason", "refund", "created_at", "approved_at", "received_at", "refunded_at")
    readonly_fields = fields
    inlines = [ReturnLineInline, ReturnHistoryInline]
    actions = ["approve", "reject", "mark_received", "refund"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(units_total=Sum("lines__quantity"))

    @admin.display(description="Units", ordering="units_total")
    def units(self, obj) -> int:
        return obj.units_total or 0

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, obj):
        return format_html('<a href="../order/{}/change/">{}</a>', obj.order_id, obj.order.number)

    def changelist_view(self, request, extra_context=None):
        if not request.GET and request.method == "GET":
            # The queue: open returns unless another view was asked for.
            request.GET = request.GET.copy()
            request.GET["queue"] = "open"
            request.META["QUERY_STRING"] = request.GET.urlencode()
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_move_permission(self, request) -> bool:
        return user_has(request.user, Perm.CHANGE_ORDER)

    def has_refund_permission(self, request) -> bool:
        return user_has(request.user, Perm.REFUND_PAYMENT)

    def _each(self, request, queryset, work, done: str) -> None:
        """Runs `work(return)` for each selected return, saying by id what happened."""
        ok, refused = [], []
        for order_return in queryset.order_by("pk"):
            try:
                work(order_return)
            except ServiceError as exc:
                logger.info("admin: return %s refused: %s", order_return.pk, exc)
                refused.append(f"return {order_return.pk}: {exc}")
            else:
                ok.append(str(order_return.pk))
        if ok:
            self.message_user(request, f"{done}: return {', '.join(ok)}.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    def _move(self, request, queryset, target: str, done: str) -> None:
        self._each(
            request,
            queryset,
            lambda r: return_transition(return_id=r.pk, to_status=target, actor=Actor.STAFF, user=request.user),
            done,
        )

    @admin.action(description="Approve selected returns", permissions=["move"])
    def approve(self, request, queryset):
        self._move(request, queryset, ReturnStatus.APPROVED, "Approved")

    @admin.action(description="Reject selected returns", permissions=["move"])
    def reject(self, request, queryset):
        self._move(request, queryset, ReturnStatus.REJECTED, "Rejected")

    @admin.action(description="Mark selected returns received", permissions=["move"])
    def mark_received(self, request, queryset):
        self._move(request, queryset, ReturnStatus.RECEIVED, "Received")

    @admin.action(description="Refund selected received returns", permissions=["refund"])
    def refund(self, request, queryset):
        self._each(request, queryset, lambda r: refund_for_return(return_id=r.pk, user=request.user), "Refunded")
