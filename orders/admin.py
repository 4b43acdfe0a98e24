"""Staff screens for orders. Status changes go through orders.services.order_transition and refunds
through payments.refunds.refund_create, like everywhere else; the admin never writes an order itself.

What a staff member may do is the lifecycle table (`orders.transitions`) for this order, intersected
with their permissions (`novacart.permissions`): a button, an action or a page appears only for a
move the lifecycle allows now and the user may make, and the page refuses it (admin 403) otherwise.
"""

import csv
import logging
import math
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from novacart.admin_base import ActionSelectionGuard, money
from novacart.exceptions import ServiceError
from novacart.money import money_places, money_step
from novacart.permissions import Perm, user_has
from payments.admin import RefundInline
from payments.models import Refund, RefundStatus
from payments.provider_types import from_minor_units
from payments.refunds import RefundLineRequest, RefundPreview, refund_create, refund_preview, refund_refundable_units
from payments.selectors import payment_refundable_get

from . import admin_returns, selectors, vouchers  # noqa: F401 (admin_returns registers the returns queue)
from .error_codes import OrderErrorCode
from .idempotency import run_idempotent
from .models import (
    Order,
    OrderItem,
    OrderPaymentStatus,
    OrderStatus,
    OrderStatusChange,
    ShippingMethod,
    ShippingZone,
    TaxRate,
    Voucher,
    VoucherKind,
    VoucherRedemption,
)
from .services import order_transition, shipping_countries_parse
from .transitions import Actor, Tracking, allowed_move, move_for

logger = logging.getLogger(__name__)

# --- the staff moves: what each button, page and action says ------------------------------------


@dataclass(frozen=True)
class StaffMove:
    """One lifecycle move staff make from the admin (the move itself is a row of transitions.MOVES)."""

    name: str  # URL part: <order id>/<name>/
    target: str
    button: str  # the object tool on the order page
    title: str
    submit: str
    done: str  # "NC-123 shipped", "only paid orders can be shipped"


STAFF_MOVES = (
    StaffMove("confirm", OrderStatus.PROCESSING, "Confirm order", "Confirm order", "Confirm order", "confirmed"),
    StaffMove("ship", OrderStatus.SHIPPED, "Ship…", "Ship order", "Ship order", "shipped"),
    StaffMove("deliver", OrderStatus.DELIVERED, "Mark delivered", "Deliver order", "Mark delivered", "delivered"),
    StaffMove("cancel", OrderStatus.CANCELLED, "Cancel order…", "Cancel order", "Cancel order", "cancelled"),
)
_STAFF_MOVE = {move.name: move for move in STAFF_MOVES}
SHIP, DELIVER, CANCEL = (_STAFF_MOVE[name] for name in ("ship", "deliver", "cancel"))
REFUND_BUTTON = "Refund…"
# The hidden field of a confirmation page holding the status the order had when the page was shown
# (`shown_status_<pk>` on the list's pages): a move is made only from that status.
SHOWN_STATUS = "shown_status"


def _lifecycle_move(order: Order, target: str):
    """The lifecycle row when staff may move this order to `target` now, else None."""
    return allowed_move(source=order.status, target=target, actor=Actor.STAFF, payment_method=order.payment_method)


def _why_not(order: Order, staff_move: StaffMove) -> str:
    """Plain words for why the order cannot make the move now: "NC-123 is pending: only paid orders
    can be shipped". Read from the lifecycle table, never spelled out here."""
    status = order.get_status_display().lower()
    if order.status == staff_move.target:
        return f"{order.number} is already {status}."
    sources = [
        source.label.lower()
        for source in OrderStatus
        if allowed_move(source=source, target=staff_move.target, actor=Actor.STAFF, payment_method=order.payment_method)
    ]
    if not sources:
        method = order.get_payment_method_display().lower()
        return f"{order.number} is {status}: staff cannot mark {method} orders {staff_move.done}."
    return f"{order.number} is {status}: only {' or '.join(sources)} orders can be {staff_move.done}."


def _tracking_required(order: Order, move) -> bool:
    return move.tracking == Tracking.REQUIRED or (
        move.tracking == Tracking.REQUIRED_UNLESS_SET and not order.tracking_number
    )


def _shown_statuses(request, can) -> dict[int, str]:
    """The status each order had on the list's confirmation page (its hidden `shown_status_<pk>`)."""
    return {order.pk: request.POST.get(f"{SHOWN_STATUS}_{order.pk}", "") for order, _move in can}


def _numbers(numbers: list[str], limit: int = 10) -> str:
    shown = ", ".join(numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


TRACKING_MAX_LENGTH = Order._meta.get_field("tracking_number").max_length


class TrackingForm(forms.Form):
    tracking_number = forms.CharField(
        label="Tracking number",
        max_length=TRACKING_MAX_LENGTH,
        help_text="The carrier's tracking number for this parcel.",
    )


# --- the refund page: what to refund, then a confirmation of exactly what goes back ------------

# The idempotency scope of the refund page's confirmations (orders.idempotency): each confirmation
# carries a key of its own, so a confirmation sent twice (a double click, a reload) refunds once.
REFUND_SCOPE = "admin.refund"


@dataclass(frozen=True)
class RefundRow:
    """One order item on the refund page: its units refunded or being refunded, and how many a refund
    may still take (none when the order can only be refunded whole)."""

    item: OrderItem
    refunded: int
    left: int


def _units_field(item: OrderItem) -> str:
    return f"units_{item.pk}"


class RefundForm(forms.Form):
    """What staff choose to refund: units of each line (0 to what is left), the shipping when it is
    left to refund, or a goodwill amount on its own; whether the units go back in stock; a reason. What
    the choice gives back is planned by payments.refunds (refund_preview, then refund_create), never
    added up here."""

    def __init__(self, data=None, *, rows: list[RefundRow], shipping: Decimal, currency: str):
        super().__init__(data)
        self.rows = rows
        for row in rows:
            if row.left:
                label = f"Units of {row.item.product_name} ({row.item.sku}) to refund"
                self.fields[_units_field(row.item)] = forms.IntegerField(
                    label=label,
                    min_value=0,
                    max_value=row.left,
                    required=False,
                    initial=0,
                    widget=forms.NumberInput(attrs={"class": "refund-units", "aria-label": label}),
                )
        if shipping:
            self.fields["shipping"] = forms.BooleanField(
                label=f"Refund shipping ({money(shipping, currency)})", required=False
            )
        self.fields["amount"] = forms.DecimalField(
            label="Goodwill amount",
            required=False,
            min_value=money_step(currency),
            max_digits=12,
            decimal_places=money_places(currency),
            help_text=f"An amount ({currency.upper()}) given back on its own, without units or shipping, "
            "e.g. for a late delivery.",
        )
        self.fields["restock"] = forms.BooleanField(
            label="Put the refunded units back in stock",
            required=False,
            initial=True,
            help_text="Only when the goods are back: the units of a shipped order are with the customer "
            "until they are returned.",
        )
        self.fields["reason"] = forms.CharField(
            label="Reason", required=False, max_length=Refund._meta.get_field("reason").max_length
        )

    @classmethod
    def sent(cls, data, *, order: Order) -> "RefundForm":
        """The choices a confirmation sends, read for their shape only (units up to each line's
        quantity, the shipping box): what is left to refund now is the service's to check, and a
        confirmation sent again must still be recognised once nothing is left."""
        rows = [RefundRow(item, 0, item.quantity) for item in order.items.order_by("id")]
        return cls(data, rows=rows, shipping=Decimal(1), currency=order.currency)

    def lines(self) -> list[RefundLineRequest]:
        data = self.cleaned_data
        return [
            RefundLineRequest(row.item.pk, units)
            for row in self.rows
            if (units := data.get(_units_field(row.item)) or 0) > 0
        ]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        lines, shipping, amount = self.lines(), data.get("shipping", False), data.get("amount")
        if amount is not None and (lines or shipping):
            raise forms.ValidationError(
                "A goodwill amount is refunded on its own: clear the units and the shipping, or the amount."
            )
        if not (lines or shipping or amount is not None):
            raise forms.ValidationError(
                "Choose units to refund, the shipping or an amount (or refund everything that is left above)."
            )
        return data

    def choices(self) -> dict:
        """The refund asked for, as refund_preview and refund_create take it (the reason aside)."""
        data = self.cleaned_data
        return {
            "lines": self.lines() or None,
            "shipping": data.get("shipping", False),
            "amount": data.get("amount"),
            "restock": data["restock"],
        }

    def as_hidden_values(self) -> list[tuple[str, str]]:
        """The choices as the confirmation page carries them to the refund (what an unchecked box or an
        empty field sends: nothing)."""
        values = []
        for name, value in self.cleaned_data.items():
            if value is True:
                values.append((name, "on"))
            elif value not in (None, "", False, 0):
                values.append((name, str(value)))
        return values

    def add_service_error(self, exc: ServiceError, lines: list[RefundLineRequest]) -> None:
        """The service's refusal on the field it names: `lines.<n>.quantity` is the units of the n-th
        line asked for, `shipping` and `amount` themselves; anything else above the form."""
        for error in exc.errors:
            field = None
            attr = error.attr or ""
            if attr.startswith("lines.") and attr.split(".")[1].isdigit() and int(attr.split(".")[1]) < len(lines):
                asked = lines[int(attr.split(".")[1])].order_item_id
                field = next((_units_field(row.item) for row in self.rows if row.item.pk == asked), None)
            elif attr in ("shipping", "amount"):
                field = attr
            self.add_error(field if field in self.fields else None, error.detail)


class _NotAsShown(Exception):
    """The refund a confirmation would make now is not the one its page showed."""


def _latest_refund_id(order: Order) -> int:
    """The order's newest refund (0: none): a confirmation names the one its page showed, so a refund
    made since (a colleague's, the provider's) is seen before another goes out."""
    return Refund.objects.filter(order=order).order_by("-pk").values_list("pk", flat=True).first() or 0


def _confirmation(preview: RefundPreview, order: Order) -> dict:
    """What a confirmation form carries beside the choices: what its page showed, and its own key."""
    return {
        "key": secrets.token_urlsafe(16),
        "shown_amount": str(preview.amount),
        "shown_refund": _latest_refund_id(order),
    }


def _preview_context(preview: RefundPreview) -> dict:
    """A planned refund as the page shows it: each line's units and share, the shipping, the other
    amount, the total, whether units go back in stock."""
    currency = preview.currency
    lines = [
        {
            "item": line.item,
            "quantity": line.quantity,
            "amount": money(line.amount, currency),
            "restock": line.restock,
        }
        for line in preview.lines
    ]
    units = sum(line.quantity for line in preview.lines)
    shipping = money(preview.shipping, currency) if preview.shipping else ""
    goodwill = money(preview.goodwill, currency) if preview.goodwill else ""
    parts = [f"the {units} unit{'s' if units != 1 else ''} not refunded yet"] if units else []
    if shipping:
        parts.append(f"the shipping ({shipping})")
    if goodwill:
        parts.append(f"{goodwill} more of the payment" if parts else "what the payment still holds")
    summary = " and ".join(parts)
    # Refunding whatever is left is capped at what the payment still holds (an earlier goodwill amount
    # or a refund made at the provider may have given back part of the lines already).
    given = sum((line.amount for line in preview.lines), Decimal(0)) + preview.shipping + preview.goodwill
    if given > preview.amount:
        summary += f", less {money(given - preview.amount, currency)} that earlier refunds already gave back"
    return {
        "lines": lines,
        "units": units,
        "shipping": shipping,
        "goodwill": goodwill,
        "summary": summary,
        "amount": money(preview.amount, currency),
        "restocks": any(line.restock for line in preview.lines),
        "retry_of": preview.retry_of,
        "retry_amount": money(preview.retry_of.amount, currency) if preview.retry_of else "",
        "provider": preview.payment.get_provider_display(),
    }


# --- CSV export -------------------------------------------------------------------------------

CSV_HEADER = ["number", "date", "customer_email", "status", "payment_method", "subtotal", "total", "currency"]
# A cell a spreadsheet would read as a formula (OWASP "CSV injection") is written as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose write returns the line, so csv.writer feeds a streamed response."""

    def write(self, value):
        return value


def _orders_csv_rows(queryset):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for order in queryset.select_related("user").iterator(chunk_size=500):
        row = [
            order.number,
            timezone.localtime(order.created_at).isoformat(timespec="seconds"),
            order.customer_email,
            order.get_status_display(),
            order.get_payment_method_display(),
            order.subtotal,
            order.total,
            order.currency.upper(),
        ]
        yield writer.writerow([csv_cell(value) for value in row])


def orders_csv_response(queryset) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_orders_csv_rows(queryset), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
    return response


# --- inlines ----------------------------------------------------------------------------------


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
    fields = ["product", "product_name", "variant_name", "sku", "unit_price_display", "quantity", "line_total_display"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order", "product")

    @admin.display(description="unit price")
    def unit_price_display(self, item):
        return money(item.unit_price, item.order.currency)

    @admin.display(description="line total")
    def line_total_display(self, item):
        return money(item.line_total, item.order.currency)


class OrderStatusChangeInline(_ReadOnlyInline):
    model = OrderStatusChange
    fields = ["created_at", "from_status", "to_status", "actor_label", "actor", "note"]
    readonly_fields = fields
    verbose_name = "status change"
    verbose_name_plural = "status history"


# --- the order admin --------------------------------------------------------------------------


@admin.register(Order)
class OrderAdmin(ActionSelectionGuard, admin.ModelAdmin):
    list_display = ["number", "user_email", "status", "payment_method", "total_display", "created_at", "paid_at"]
    list_filter = ["status", "payment_method", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["number", "user__email", "email"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    inlines = [OrderItemInline, RefundInline, OrderStatusChangeInline]
    actions = ["mark_shipped", "mark_delivered", "cancel_pending", "export_csv"]
    change_list_template = "admin/orders/order/change_list.html"
    change_form_template = "admin/orders/order/change_form.html"
    readonly_fields = [
        "number",
        "customer",
        "status",
        "payment_method",
        "payments_display",
        "shipping_address_display",
        "subtotal_display",
        "pricing_display",
        "total_display",
        "refunded_total_display",
        "payment_status_display",
        "tracking_number",
        "created_at",
        "updated_at",
        "paid_at",
        "processing_at",
        "shipped_at",
        "delivered_at",
        "cancelled_at",
        "refunded_at",
    ]
    fields = readonly_fields

    class Media:
        css = {"all": ["orders/admin/orders.css"]}

    # Orders come from checkouts and are the shop's records: nothing is added, edited by form or
    # deleted here. Every change is a move with its own page (the buttons) or an action.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_move_permission(self, request):
        """Ship, deliver and cancel (the actions and the order page's buttons)."""
        return user_has(request.user, Perm.CHANGE_ORDER)

    def has_export_permission(self, request):
        return user_has(request.user, Perm.VIEW_ORDER)

    # --- what the pages show ------------------------------------------------------------------

    @admin.display(description="customer", ordering="user__email")
    def user_email(self, obj):
        return obj.customer_email if obj.user_id is not None else f"{obj.email} (guest)"

    @admin.display(description="customer")
    def customer(self, obj):
        if obj.user_id is None:
            return format_html("{} &middot; a guest, no account", obj.email)
        return format_html(
            '<a href="{}">{}</a> &middot; <a href="{}">their orders</a>',
            reverse("admin:users_user_change", args=[obj.user_id]),
            obj.user.email,
            reverse("admin:orders_order_changelist") + "?" + urlencode({"user__id__exact": obj.user_id}),
        )

    @admin.display(description="payments")
    def payments_display(self, obj):
        payments = list(obj.payments.order_by("created_at", "id"))
        if not payments:
            return "None"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{} &middot; {} &middot; {}</a>',
            (
                (
                    reverse("admin:payments_payment_change", args=[payment.pk]),
                    payment.get_provider_display(),
                    payment.get_status_display(),
                    money(from_minor_units(payment.amount_minor, payment.currency), payment.currency),
                )
                for payment in payments
            ),
        )

    @admin.display(description="shipping address")
    def shipping_address_display(self, obj):
        address = obj.shipping_address or {}
        place = " ".join(part for part in (address.get("postal_code"), address.get("city")) if part)
        if address.get("state"):
            place = f"{place}, {address['state']}"
        lines = [
            address.get("full_name"),
            address.get("line1"),
            address.get("line2"),
            place,
            address.get("country"),
            address.get("phone"),
        ]
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines if line))

    @admin.display(description="subtotal", ordering="subtotal")
    def subtotal_display(self, obj):
        return money(obj.subtotal, obj.currency)

    @admin.display(description="discount, shipping, tax")
    def pricing_display(self, obj):
        """The breakdown priced at checkout (orders.pricing): discount and voucher, shipping method,
        each tax line (inside the prices when they include tax)."""
        rows = []
        if obj.discount_total:
            code = f" ({obj.voucher_code})" if obj.voucher_code else ""
            rows.append((f"Discount{code}", "-" + money(obj.discount_total, obj.currency)))
        if obj.shipping_method_name:
            rows.append((f"Shipping: {obj.shipping_method_name}", money(obj.shipping_total, obj.currency)))
        included = " (included)" if obj.prices_include_tax else ""
        for line in obj.tax_lines or []:
            rows.append((f"{line['name']}{included}", money(Decimal(line["amount"]), obj.currency)))
        if not rows:
            return "None"
        return format_html_join(mark_safe("<br>"), "{}: {}", rows)

    @admin.display(description="total", ordering="total")
    def total_display(self, obj):
        return money(obj.total, obj.currency)

    @admin.display(description="refunded")
    def refunded_total_display(self, obj):
        """What went back to the customer (the order's succeeded refunds, listed below)."""
        return money(obj.refunded_total, obj.currency)

    @admin.display(description="payment status")
    def payment_status_display(self, obj):
        return OrderPaymentStatus(obj.payment_status).label

    def order_tools(self, request, order: Order) -> list[dict]:
        """The order page's buttons: the moves the lifecycle allows now that this user may make."""
        tools = []
        if self.has_move_permission(request):
            for staff_move in STAFF_MOVES:
                if _lifecycle_move(order, staff_move.target):
                    url = reverse(f"admin:orders_order_{staff_move.name}", args=[order.pk])
                    tools.append({"label": staff_move.button, "url": url})
        if user_has(request.user, Perm.REFUND_PAYMENT) and payment_refundable_get(order_id=order.pk):
            tools.append({"label": REFUND_BUTTON, "url": reverse("admin:orders_order_refund", args=[order.pk])})
        return tools

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, unquote(object_id))
        if order is not None:
            extra_context = {**(extra_context or {}), "order_tools": self.order_tools(request, order)}
        return super().change_view(request, object_id, form_url, extra_context=extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "sales_report_url": (
                reverse("admin:orders_order_sales_report") if user_has(request.user, Perm.VIEW_SALES_REPORT) else ""
            ),
            "export_url": reverse("admin:orders_order_export") if self.has_export_permission(request) else "",
        }
        return super().changelist_view(request, extra_context=extra_context)

    def get_urls(self):
        view = self.admin_site.admin_view

        custom = [
            path("sales-report/", view(self.sales_report_view), name="orders_order_sales_report"),
            path("export/", view(self.export_view), name="orders_order_export"),
            path("<int:order_id>/refund/", view(self.refund_view), name="orders_order_refund"),
        ] + [
            path(
                f"<int:order_id>/{staff_move.name}/",
                view(self.move_view),
                {"move_name": staff_move.name},
                name=f"orders_order_{staff_move.name}",
            )
            for staff_move in STAFF_MOVES
        ]
        return custom + super().get_urls()

    def _page(self, request, template: str, title: str, **context) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta, **context}
        return TemplateResponse(request, template, context)

    # --- one order: ship, deliver, cancel, refund -----------------------------------------------

    def move_view(self, request, order_id: int, move_name: str):
        """A confirmation (and, to ship, the tracking number) for one move; POST makes it."""
        staff_move = _STAFF_MOVE.get(move_name)
        if staff_move is None:
            raise Http404
        if not self.has_move_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order.objects.select_related("user"), pk=order_id)
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        move = _lifecycle_move(order, staff_move.target)
        if move is None:
            self.message_user(request, _why_not(order, staff_move), messages.WARNING)
            return redirect(change_url)
        form = None
        if move.tracking != Tracking.NONE:
            form = TrackingForm(request.POST or None, initial={"tracking_number": order.tracking_number})
            form.fields["tracking_number"].required = _tracking_required(order, move)
        error = ""
        if request.method == "POST" and (form is None or form.is_valid()):
            tracking = form.cleaned_data["tracking_number"] if form else ""
            try:
                order_transition(
                    order_id=order.pk,
                    to_status=staff_move.target,
                    actor=Actor.STAFF,
                    user=request.user,
                    note=f"Marked {staff_move.done} in the admin.",
                    tracking_number=tracking,
                    expected_status=request.POST.get(SHOWN_STATUS, ""),
                )
            except ServiceError as exc:
                logger.info("admin: %s of order %s refused: %s", staff_move.name, order.number, exc)
                error = str(exc)
            else:
                done = f"{order.number} {staff_move.done}"
                if tracking:
                    done += f" (tracking number {tracking})"
                if move.restock:
                    done += "; its items are back in stock"
                self.message_user(request, done + ".", messages.SUCCESS)
                return redirect(change_url)
        return self._page(
            request,
            "admin/orders/order/move.html",
            f"{staff_move.title} {order.number}",
            order=order,
            staff_move=staff_move,
            move=move,
            form=form,
            error=error,
            total=money(order.total, order.currency),
        )

    def refund_view(self, request, order_id: int):
        """The refund page. It shows what refunding everything that is left gives back (one click
        refunds it) and a form to refund units of the lines, the shipping or a goodwill amount; the
        form (GET with `review`) shows a confirmation of exactly what goes back, planned by
        payments.refunds.refund_preview, and the confirmation (POST with `confirm`) refunds through
        payments.refunds.refund_create, the same service as POST /api/payments/refund/. A confirmation
        refunds only what its page showed, once."""
        if not user_has(request.user, Perm.REFUND_PAYMENT):
            raise PermissionDenied
        order = get_object_or_404(Order.objects.select_related("user"), pk=order_id)
        if request.method == "POST" and request.POST.get("confirm"):
            # First, even once nothing is held any more: a confirmation sent twice says it was made.
            return self._refund_confirmed(request, order)
        if payment_refundable_get(order_id=order.pk) is None:
            self.message_user(request, f"{order.number} has no payment to refund: no money is held for it.")
            return redirect(reverse("admin:orders_order_change", args=[order.pk]))
        data = request.GET if ("review" in request.GET or "edit" in request.GET) else None
        return self._refund_page(request, order, data=data, review="review" in request.GET)

    def _refund_form(self, order: Order, data, whole: RefundPreview) -> RefundForm:
        refunded = refund_refundable_units(order=order)
        left = {line.item.pk: line.quantity for line in whole.lines}
        rows = [RefundRow(item, refunded.get(item.pk, 0), left.get(item.pk, 0)) for item in order.items.order_by("id")]
        return RefundForm(data, rows=rows, shipping=whole.shipping, currency=whole.currency)

    def _refund_page(self, request, order: Order, *, data=None, review: bool = False, error: str = ""):
        """The refund page (the form, and the one click for everything that is left), or with `review`
        and valid choices the confirmation of the refund they make."""
        title = f"Refund order {order.number}"
        context = {"order": order, "error": error, "refunded_total": money(order.refunded_total, order.currency)}
        try:
            whole = refund_preview(order_id=order.pk)
        except ServiceError as exc:
            # Nothing is left to refund (or the payment cannot be refunded here): no form to offer.
            context["whole_error"] = str(exc)
            return self._page(request, "admin/orders/order/refund.html", title, **context)
        form = self._refund_form(order, data, whole)
        if review and form.is_valid():
            lines = form.lines()
            try:
                preview = refund_preview(order_id=order.pk, **form.choices())
            except ServiceError as exc:
                logger.info("admin: refund of order %s previewed and refused: %s", order.number, exc)
                form.add_service_error(exc, lines)
            else:
                hidden = form.as_hidden_values()
                return self._page(
                    request,
                    "admin/orders/order/refund_confirm.html",
                    f"Confirm the refund of order {order.number}",
                    order=order,
                    plan=_preview_context(preview),
                    reason=form.cleaned_data["reason"],
                    hidden=hidden,
                    confirmation=_confirmation(preview, order),
                    edit_query=urlencode([*hidden, ("edit", "1")]),
                )
        currency = order.currency
        context.update(
            whole=_preview_context(whole),
            whole_confirmation=_confirmation(whole, order),
            refund_move=move_for(source=order.status, target=OrderStatus.REFUNDED, payment_method=order.payment_method),
            form=form,
            rows=[
                {
                    "row": row,
                    "unit_price": money(row.item.unit_price, currency),
                    "line_total": money(row.item.line_total, currency),
                    "field": form[_units_field(row.item)] if _units_field(row.item) in form.fields else None,
                }
                for row in form.rows
            ],
            extra_fields=[form[name] for name in ("shipping", "amount", "restock", "reason") if name in form.fields],
        )
        return self._page(request, "admin/orders/order/refund.html", title, **context)

    def _refund_confirmed(self, request, order: Order):
        """A confirmation sent: refunds what its page showed (everything that was left, or the choices
        it carries), once per confirmation, and says what happened; anything else is refused in words
        on the page again, with nothing refunded."""
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        post = request.POST
        whole = post.get("whole") == "1"
        choices: dict = {}
        reason = ""
        form = None
        if not whole:
            form = RefundForm.sent(post, order=order)
            if not form.is_valid():
                return self._refund_page(
                    request,
                    order,
                    data=post,
                    error="That confirmation is not one this page makes; nothing was refunded.",
                )
            choices, reason = form.choices(), form.cleaned_data["reason"]
        key, shown_amount, shown_refund = post.get("key", ""), post.get("shown_amount", ""), post.get("shown_refund")
        if not key or not shown_amount or shown_refund is None:
            return self._refund_page(
                request,
                order,
                data=post if form else None,
                error="That confirmation does not say what its page showed; nothing was refunded. "
                "Check the refund below and confirm it again.",
            )

        def refund() -> tuple[int, dict]:
            now = refund_preview(order_id=order.pk, **choices)
            latest = _latest_refund_id(order)
            if str(latest) != shown_refund:
                made = Refund.objects.get(pk=latest)
                raise _NotAsShown(
                    f"{order.number} has a refund its page did not show (refund {made.pk}: "
                    f"{money(made.amount, made.currency)}, {made.get_status_display().lower()}); nothing was "
                    "refunded. Check the refunds and confirm again."
                )
            if str(now.amount) != shown_amount:
                raise _NotAsShown(
                    f"This refund gives back {money(now.amount, now.currency)} now, not "
                    f"{money(Decimal(shown_amount), now.currency)} as its page showed; nothing was refunded. "
                    "Check it and confirm again."
                )
            answer = refund_create(order_id=order.pk, user=request.user, reason=reason, **choices)
            return 200, {"refund_id": answer.refund.pk}

        payload = {
            "order_id": order.pk,
            "whole": whole,
            "lines": [[line.order_item_id, line.quantity] for line in choices.get("lines") or ()],
            "shipping": choices.get("shipping", False),
            "amount": choices.get("amount"),
            "restock": choices.get("restock"),
            "reason": reason,
        }
        try:
            stored = run_idempotent(user=request.user, scope=REFUND_SCOPE, key=key, payload=payload, call=refund)
        except _NotAsShown as exc:
            logger.info("admin: refund of order %s not as shown: %s", order.number, exc)
            return self._refund_page(request, order, data=post if form else None, error=str(exc))
        except ServiceError as exc:
            if exc.code == OrderErrorCode.IDEMPOTENCY_REQUEST_IN_PROGRESS:
                self.message_user(
                    request,
                    f"{order.number}: this refund is already being made (its page was sent twice); "
                    "it shows in the order's refunds once the provider answers.",
                    messages.WARNING,
                )
                return redirect(change_url)
            if exc.code == OrderErrorCode.IDEMPOTENCY_KEY_REUSED:
                error = "That confirmation was already used for another refund; nothing was refunded."
            else:
                logger.warning("admin: refund of order %s refused: %s", order.number, exc)
                error = str(exc)
            return self._refund_page(request, order, data=post if form else None, error=error)
        refund = Refund.objects.get(pk=stored.body["refund_id"])
        refunded = money(refund.amount, refund.currency)
        if stored.replayed:
            self.message_user(
                request,
                f"{order.number}: this refund was already made ({refunded}, {refund.get_status_display().lower()}); "
                "nothing more was refunded.",
                messages.WARNING,
            )
        elif refund.status == RefundStatus.SUCCEEDED:
            restocked = sum(line.quantity for line in refund.lines.all() if line.restock)
            back = f" {restocked} unit(s) back in stock." if restocked else ""
            self.message_user(request, f"{order.number}: {refunded} refunded.{back}", messages.SUCCESS)
        else:
            self.message_user(
                request,
                f"{order.number}: refund of {refunded} asked for; the provider reports it {refund.status}, "
                "and it counts as refunded once the provider confirms.",
                messages.SUCCESS,
            )
        return redirect(change_url)

    # --- the list's actions -----------------------------------------------------------------------

    def _split(self, orders: list[Order], staff_move: StaffMove) -> tuple[list[tuple[Order, object]], list[str]]:
        """(order, lifecycle row) for the orders that can make the move now; why not for the others."""
        can, skipped = [], []
        for order in orders:
            move = _lifecycle_move(order, staff_move.target)
            if move is None:
                skipped.append(_why_not(order, staff_move))
            else:
                can.append((order, move))
        return can, skipped

    def _apply(self, request, orders, staff_move: StaffMove, tracking=None, shown=None) -> None:
        """Makes the move for each order through order_transition and says what happened, by number.
        `shown`: the status each order had on the confirmation page (the move is made only from it)."""
        done = []
        for order, _move in orders:
            number = (tracking or {}).get(order.pk, "").strip()
            if len(number) > TRACKING_MAX_LENGTH:
                self.message_user(
                    request,
                    f"{order.number} was not {staff_move.done}: the tracking number is longer than "
                    f"{TRACKING_MAX_LENGTH} characters.",
                    messages.ERROR,
                )
                continue
            try:
                order_transition(
                    order_id=order.pk,
                    to_status=staff_move.target,
                    actor=Actor.STAFF,
                    user=request.user,
                    note=f"Marked {staff_move.done} in the admin.",
                    tracking_number=number,
                    expected_status=None if shown is None else shown.get(order.pk, ""),
                )
            except ServiceError as exc:
                logger.info("admin: %s of order %s refused: %s", staff_move.name, order.number, exc)
                self.message_user(request, f"{order.number} was not {staff_move.done}: {exc}", messages.ERROR)
            else:
                done.append(order.number)
        if done:
            self.message_user(request, f"{staff_move.done.capitalize()}: {_numbers(done)}.", messages.SUCCESS)

    def _skipped(self, request, skipped: list[str]) -> None:
        for reason in skipped:
            self.message_user(request, f"Skipped {reason}", messages.WARNING)

    def _bulk_page(self, request, staff_move: StaffMove, can, skipped, action: str):
        orders = [
            {
                "order": order,
                "total": money(order.total, order.currency),
                "asks_tracking": move.tracking != Tracking.NONE,
                "tracking_required": _tracking_required(order, move),
            }
            for order, move in can
        ]
        return self._page(
            request,
            "admin/orders/order/bulk_move.html",
            f"{staff_move.title}s",
            staff_move=staff_move,
            orders=orders,
            asks_tracking=any(row["asks_tracking"] for row in orders),
            skipped=skipped,
            action=action,
            action_checkbox_name=ACTION_CHECKBOX_NAME,
        )

    @admin.action(description="Ship selected orders (asks for tracking numbers)", permissions=["move"])
    def mark_shipped(self, request, queryset):
        can, skipped = self._split(list(queryset.select_related("user").order_by("pk")), SHIP)
        if request.POST.get("apply"):
            tracking = {order.pk: request.POST.get(f"tracking_{order.pk}", "") for order, _move in can}
            self._skipped(request, skipped)
            self._apply(request, can, SHIP, tracking, shown=_shown_statuses(request, can))
            return None
        if not can:
            self._skipped(request, skipped)
            return None
        return self._bulk_page(request, SHIP, can, skipped, "mark_shipped")

    @admin.action(description="Mark selected orders delivered", permissions=["move"])
    def mark_delivered(self, request, queryset):
        can, skipped = self._split(list(queryset.order_by("pk")), DELIVER)
        self._skipped(request, skipped)
        self._apply(request, can, DELIVER)

    @admin.action(description="Cancel selected pending orders (restores stock)", permissions=["move"])
    def cancel_pending(self, request, queryset):
        can, skipped = self._split(list(queryset.select_related("user").order_by("pk")), CANCEL)
        if request.POST.get("apply") or not can:
            self._skipped(request, skipped)
            self._apply(request, can, CANCEL, shown=_shown_statuses(request, can))
            return None
        return self._bulk_page(request, CANCEL, can, skipped, "cancel_pending")

    @admin.action(description="Export CSV", permissions=["export"])
    def export_csv(self, request, queryset):
        return orders_csv_response(queryset)

    def export_view(self, request):
        """The change list as CSV, with the filters, search and date drill-down of the page it came from."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            self.message_user(request, "Those filters are not valid; nothing was exported.", messages.ERROR)
            return redirect("admin:orders_order_changelist")
        return orders_csv_response(changelist.queryset)

    # --- the sales report as a chart ---------------------------------------------

    def sales_report_view(self, request):
        """Revenue (net of refunds) per day, week or month (orders.selectors.sales_granularity) as
        server-side SVG bars with a y-axis, and the same buckets as a table with what customers paid,
        the refunds and the tax. No JavaScript, nothing from another origin."""
        if not user_has(request.user, Perm.VIEW_SALES_REPORT):
            raise PermissionDenied
        error = ""
        try:
            days = int(request.GET.get("days", 30))
        except ValueError:
            days, error = 30, "Days must be a whole number; showing 30."
        if not 1 <= days <= 365:
            days, error = 30, "Days must be between 1 and 365; showing 30."
        report = selectors.order_sales_report(days=days)
        buckets = selectors.order_sales_buckets(report=report)
        granularity = buckets["granularity"]
        return self._page(
            request,
            "admin/orders/sales_report.html",
            f"Sales in the last {days} days, by {granularity}",
            report=report,
            granularity=granularity,
            chart=_bar_chart(buckets["buckets"], granularity=granularity, currency=report["currency"]),
            totals={key: money(report["totals"][key], report["currency"]) for key in SALES_TABLE_MONEY},
            error=error,
            day_choices=[7, 30, 90, 180, 365],
        )


# The figures of orders.selectors.order_sales_report the page shows as money, in its table's order.
SALES_TABLE_MONEY = ("gross", "refunds", "revenue", "tax", "average_order_value")


# --- chart geometry --------------------------------------------------------------------------

CHART_WIDTH = 720
CHART_PLOT_HEIGHT = 220
CHART_LEFT = 76  # room for the y-axis values
CHART_RIGHT = 8
CHART_TOP = 14
CHART_LABEL_SPACE = 44  # two lines of x labels
CHART_FONT_PX = 11
# A generous average advance of an 11 px sans-serif glyph: labels are spaced by this estimate.
CHART_CHAR_PX = 7
CHART_LABEL_GAP_PX = 10
CHART_Y_TICKS = 4
_X_LABEL = {"day": "%b %d", "week": "%b %d", "month": "%b"}


def nice_step(peak: Decimal, ticks: int = CHART_Y_TICKS) -> Decimal:
    """The round step (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` gridlines up to `peak`."""
    raw = Decimal(peak) / ticks
    magnitude = Decimal(10) ** math.floor(math.log10(raw))
    for factor in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # unreachable: 10 x magnitude is always >= raw


def _tick_label(value: Decimal, step: Decimal) -> str:
    places = max(0, -step.normalize().as_tuple().exponent)
    return f"{value:,.{places}f}"


def _period(bucket: dict, granularity: str) -> str:
    if granularity == "day":
        return bucket["start"].strftime("%Y-%m-%d")
    if granularity == "month":
        return bucket["start"].strftime("%B %Y") + (f" (from {bucket['start']:%d})" if bucket["start"].day != 1 else "")
    return f"{bucket['start']:%Y-%m-%d} – {bucket['end']:%Y-%m-%d}"


def _bar_chart(buckets: list[dict], *, granularity: str = "day", currency: str = "usd") -> dict:
    """Geometry for one bar per bucket: a y-axis with gridlines at round values, and x labels spaced so
    that none overlaps the next (every n-th bucket is labelled, the year under the first and January)."""
    best = max((bucket["revenue"] for bucket in buckets), default=Decimal("0.00"))
    scale = best if best > 0 else Decimal(100)  # an empty period still gets an axis
    step = nice_step(scale)
    top = step * max(1, math.ceil(scale / step))
    plot_width = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    bottom = CHART_TOP + CHART_PLOT_HEIGHT

    def y_of(value: Decimal) -> float:
        return round(bottom - float(value / top) * CHART_PLOT_HEIGHT, 2)

    ticks = [
        {"value": step * i, "label": _tick_label(step * i, step), "y": y_of(step * i)}
        for i in range(int(top / step) + 1)
    ]
    slot = plot_width / max(len(buckets), 1)
    bar_width = max(slot * 0.8, 1)
    labels = [bucket["start"].strftime(_X_LABEL[granularity]) for bucket in buckets]
    widest = max((len(label) for label in labels), default=0) * CHART_CHAR_PX
    label_every = max(1, math.ceil((widest + CHART_LABEL_GAP_PX) / slot))
    bars = []
    last_year = None
    for index, bucket in enumerate(buckets):
        height = round(float(bucket["revenue"] / top) * CHART_PLOT_HEIGHT, 2)
        labelled = index % label_every == 0
        year = bucket["start"].year
        sublabel = ""
        if labelled and year != last_year:
            sublabel, last_year = str(year), year
        bars.append(
            {
                "x": round(CHART_LEFT + index * slot + (slot - bar_width) / 2, 2),
                "y": round(bottom - height, 2),
                "width": round(bar_width, 2),
                "height": height,
                "bucket": bucket,
                "period": _period(bucket, granularity),
                "revenue": money(bucket["revenue"], currency),
                "money": {key: money(bucket[key], currency) for key in SALES_TABLE_MONEY},
                "label": labels[index] if labelled else "",
                "sublabel": sublabel,
                "label_x": round(CHART_LEFT + index * slot + slot / 2, 2),
            }
        )
    return {
        "bars": bars,
        "ticks": ticks,
        "width": CHART_WIDTH,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - CHART_RIGHT,
        "top": CHART_TOP,
        "bottom": bottom,
        "total_height": bottom + CHART_LABEL_SPACE,
        "label_y": bottom + 16,
        "sublabel_y": bottom + 31,
        "font_px": CHART_FONT_PX,
        "char_px": CHART_CHAR_PX,
        "currency": currency.upper(),
        "best": money(best, currency),
        "has_sales": best > 0,
    }


# --- Shipping and tax ----------------------------------------------------------------------------


class ShippingZoneForm(forms.ModelForm):
    countries = forms.CharField(
        help_text="ISO country codes separated by commas or spaces, e.g. GB, IE.",
        widget=forms.TextInput(attrs={"size": 60}),
    )

    class Meta:
        model = ShippingZone
        fields = ["name", "countries", "is_active", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["countries"] = ", ".join(self.instance.countries)

    def clean_countries(self):
        try:
            return shipping_countries_parse(self.cleaned_data["countries"])
        except ServiceError as exc:
            raise forms.ValidationError(str(exc)) from exc


class ShippingMethodInline(admin.TabularInline):
    model = ShippingMethod
    extra = 0
    fields = [
        "name",
        "price",
        "free_over",
        "min_subtotal",
        "max_subtotal",
        "min_weight_grams",
        "max_weight_grams",
        "delivery_days_min",
        "delivery_days_max",
        "cod_allowed",
        "is_active",
        "position",
    ]


@admin.register(ShippingZone)
class ShippingZoneAdmin(ActionSelectionGuard, admin.ModelAdmin):
    """Where the shop ships: each zone's countries and the methods (flat price, free over a subtotal,
    subtotal and weight bounds, cash on delivery or not) a cart delivered there may use."""

    form = ShippingZoneForm
    list_display = ["name", "country_list", "method_count", "is_active", "position"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    inlines = [ShippingMethodInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("methods")

    @admin.display(description="countries")
    def country_list(self, zone):
        return ", ".join(zone.countries)

    @admin.display(description="methods")
    def method_count(self, zone):
        return len(zone.methods.all())


@admin.register(TaxRate)
class TaxRateAdmin(ActionSelectionGuard, admin.ModelAdmin):
    """The rate charged for each tax class in each country (a region's rate wins over its country's);
    shipping is taxed at the destination's standard rate."""

    list_display = ["country", "region", "tax_class", "name", "rate"]
    list_filter = ["tax_class", "country"]
    search_fields = ["country", "region", "name"]
    ordering = ["country", "region", "tax_class"]


# --- Vouchers -------------------------------------------------------------------------------------


def _form_error(form: forms.Form, exc: ServiceError) -> None:
    """A service's refusal shown on the form, on the field it names when the form has it."""
    for item in exc.errors:
        form.add_error(item.attr if item.attr in form.fields else None, item.detail)


class VoucherAdminForm(forms.ModelForm):
    """The voucher's terms checked by the same rules as the API (orders.vouchers); the code is
    upper-cased before its uniqueness is checked."""

    class Meta:
        model = Voucher
        fields = [
            "code",
            "kind",
            "value",
            "min_subtotal",
            "starts_at",
            "ends_at",
            "usage_limit",
            "per_customer_limit",
            "categories",
            "products",
            "is_active",
        ]

    def clean_code(self):
        try:
            return vouchers.voucher_code_clean(self.cleaned_data.get("code"))
        except ServiceError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            vouchers.voucher_terms_validate(
                kind=data.get("kind", ""),
                value=data.get("value"),
                starts_at=data.get("starts_at"),
                ends_at=data.get("ends_at"),
                usage_limit=data.get("usage_limit"),
                used_count=self.instance.used_count if self.instance.pk else 0,
            )
        except ServiceError as exc:
            _form_error(self, exc)
        return data


class VoucherRedemptionInline(admin.TabularInline):
    """The orders holding a use of the voucher now (a cancelled order gave its use back)."""

    model = VoucherRedemption
    fields = ["order", "email", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name = "use"
    verbose_name_plural = "uses"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class GenerateCodesForm(forms.Form):
    """The generate-codes action's page: how many single-use codes, and their terms."""

    count = forms.IntegerField(min_value=1, initial=10)
    prefix = forms.CharField(max_length=20, help_text="Codes read PREFIX-XXXXXXXXXX (letters, digits, - or _).")
    kind = forms.ChoiceField(choices=VoucherKind.choices)
    value = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Percent: 10 for 10%; fixed: the amount off; free shipping: 0 or empty.",
    )
    min_subtotal = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, help_text="Empty: no minimum."
    )
    starts_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Valid from (server time).",
    )
    ends_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Valid until (server time); empty: no end.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The bound is a setting, read when the page is built (not when the module is imported).
        self.fields["count"] = forms.IntegerField(
            label="Number of codes",
            min_value=1,
            max_value=settings.VOUCHER_GENERATE_MAX,
            initial=10,
            help_text=f"At most {settings.VOUCHER_GENERATE_MAX}; each code can be used by one order.",
        )


@admin.register(Voucher)
class VoucherAdmin(ActionSelectionGuard, admin.ModelAdmin):
    """Discount codes. `used_count` moves only with orders (counted at checkout, given back when an
    order is cancelled), so it is read-only here, and saving a voucher never writes it."""

    form = VoucherAdminForm
    list_display = ["code", "kind", "value", "uses", "starts_at", "ends_at", "is_active"]
    list_filter = ["kind", "is_active", ("starts_at", admin.DateFieldListFilter)]
    search_fields = ["code"]
    ordering = ["-created_at", "-id"]
    autocomplete_fields = ["categories", "products"]
    readonly_fields = ["used_count", "created_at", "updated_at"]
    inlines = [VoucherRedemptionInline]
    actions = ["generate_codes"]
    fieldsets = [
        (None, {"fields": ["code", "kind", "value", "is_active"]}),
        ("When and how often", {"fields": ["starts_at", "ends_at", "usage_limit", "per_customer_limit", "used_count"]}),
        (
            "What it applies to",
            {
                "fields": ["min_subtotal", "categories", "products"],
                "description": "With no categories and no products the voucher applies to the whole cart; "
                "a category includes its sub-categories.",
            },
        ),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="uses", ordering="used_count")
    def uses(self, voucher):
        return (
            f"{voucher.used_count} / {voucher.usage_limit}" if voucher.usage_limit is not None else voucher.used_count
        )

    def has_generate_permission(self, request):
        """The generate-codes action adds vouchers."""
        return user_has(request.user, Perm.ADD_VOUCHER)

    # Saving goes through orders.vouchers, which locks the row and never writes `used_count` (a use
    # counted by a checkout while the form was open is kept).
    def save_model(self, request, obj, form, change):
        names = [*vouchers.VOUCHER_FIELDS, "categories", "products"]
        if change:
            data = {name: form.cleaned_data[name] for name in names if name in form.changed_data}
            vouchers.voucher_update(voucher_id=obj.pk, data=data)
        else:
            created = vouchers.voucher_create(data={name: form.cleaned_data[name] for name in names})
            obj.pk = created.pk

    def save_related(self, request, form, formsets, change):
        # The categories and products were saved with the voucher (save_model); the inline is read-only.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.action(description="Generate single-use codes like the selected voucher…", permissions=["generate"])
    def generate_codes(self, request, queryset):
        """Asks how many codes, their prefix and terms (filled in from the selected voucher), then creates
        that many vouchers with random codes, usage limit 1, and the selected voucher's categories and
        products (orders.vouchers.voucher_codes_generate)."""
        selected = list(queryset.order_by("pk")[:2])
        if len(selected) != 1:
            self.message_user(
                request,
                "Select one voucher: the new codes apply to what it applies to (its categories and products).",
                messages.ERROR,
            )
            return None
        template = selected[0]
        if request.POST.get("apply"):
            form = GenerateCodesForm(request.POST)
            if form.is_valid():
                try:
                    created = vouchers.voucher_codes_generate(template=template, **form.cleaned_data)
                except ServiceError as exc:
                    _form_error(form, exc)
                else:
                    prefix = vouchers.voucher_code_normalize(form.cleaned_data["prefix"])
                    self.message_user(
                        request,
                        f"Generated {len(created)} single-use codes {prefix}-…, listed below.",
                        messages.SUCCESS,
                    )
                    return redirect(reverse("admin:orders_voucher_changelist") + "?" + urlencode({"q": f"{prefix}-"}))
        else:
            form = GenerateCodesForm(
                initial={
                    "prefix": template.code[:20],
                    "kind": template.kind,
                    "value": template.value,
                    "min_subtotal": template.min_subtotal,
                    "starts_at": timezone.localtime(max(template.starts_at, timezone.now())),
                    "ends_at": timezone.localtime(template.ends_at) if template.ends_at else None,
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Generate single-use codes",
            "opts": self.model._meta,
            "form": form,
            "template_voucher": template,
            "action": "generate_codes",
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/voucher/generate_codes.html", context)
