"""Payment reads: reconciliation of orders against their payments (and the provider)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from orders.models import ORDER_SALE_STATUSES, Order, OrderStatus, PaymentMethod

from .models import (
    PAYMENT_CAPTURED_STATUSES,
    PAYMENT_OPEN_STATUSES,
    PAYMENT_TAKEN_STATUSES,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from .provider_types import GatewayError, PaymentGateway, from_minor_units, to_minor_units


@dataclass(frozen=True)
class Inconsistency:
    kind: str
    order_id: int
    order_number: str
    payment_id: int | None
    detail: str

    def as_line(self) -> str:
        payment = f" payment {self.payment_id}" if self.payment_id else ""
        return f"{self.kind}: order {self.order_number} (id {self.order_id}){payment}: {self.detail}"

    def as_dict(self) -> dict:
        return asdict(self)


def payment_refundable_get(*, order_id: int) -> Payment | None:
    """The payment a full refund of the order gives back (`payments.refunds.payment_refund`, and the
    admin's confirmation page that shows it first): its first captured payment, preferring one not
    flagged for review. None when no money is held for the order."""
    captured = Payment.objects.filter(order_id=order_id, status__in=PAYMENT_CAPTURED_STATUSES)
    captured = captured.order_by("succeeded_at", "id")
    return captured.filter(needs_review=False).first() or captured.first()


def _expected_minor(order: Order) -> int | None:
    try:
        return to_minor_units(order.total, order.currency)
    except ValueError:
        return None


def _issue(kind: str, payment: Payment | None, order: Order, detail: str) -> Inconsistency:
    return Inconsistency(kind, order.pk, order.number, payment.pk if payment else None, detail)


def payment_inconsistencies(*, gateway: PaymentGateway | None = None, days: int = 30) -> list[Inconsistency]:
    """Orders whose status disagrees with their payments.

    - `paid_without_payment`: a card order in a sale status (PAID, PROCESSING, SHIPPED, DELIVERED)
      without a captured payment;
    - `cancelled_order_payment_not_refunded`: a succeeded payment on a CANCELLED order;
    - `refunded_order_payment_not_refunded`: a succeeded payment on a REFUNDED order;
    - `pending_order_payment_succeeded`: a succeeded payment on an order still PENDING;
    - `amount_mismatch`: a taken payment whose amount or currency differs from the order's;
    - `refunded_total_mismatch`: an order whose `refunded_total` is not the sum of its succeeded refunds;
    - `refund_outcome_unknown`: a refund whose provider answer was lost (the same refund request again
      retries it with its key, and the provider refunds once);
    - with `gateway` (--stripe or --razorpay): for payments of the last `days` days, what the provider says
      about each intent (`provider_succeeded_not_recorded`, `provider_not_succeeded`,
      `provider_amount_mismatch`, `provider_unreachable`), and the refunds it holds for each payment that
      took money: `provider_refund_not_recorded` (a refund made at the provider that no event brought
      here), `refund_not_at_provider` (a refund recorded as succeeded that the provider does not have).
    """
    issues: list[Inconsistency] = []
    paid_orders = (
        Order.objects.filter(
            payment_method=PaymentMethod.CARD,
            status__in=ORDER_SALE_STATUSES,
        )
        .exclude(payments__status__in=PAYMENT_CAPTURED_STATUSES)
        .order_by("pk")
    )
    for order in paid_orders:
        issues.append(
            _issue("paid_without_payment", None, order, f"order is {order.status} without a captured payment")
        )

    by_status = {
        OrderStatus.CANCELLED: "cancelled_order_payment_not_refunded",
        OrderStatus.REFUNDED: "refunded_order_payment_not_refunded",
        OrderStatus.PENDING: "pending_order_payment_succeeded",
    }
    captured = (
        Payment.objects.filter(status=PaymentStatus.SUCCEEDED, order__status__in=list(by_status))
        .select_related("order")
        .order_by("pk")
    )
    for payment in captured:
        order = payment.order
        issues.append(
            _issue(
                by_status[order.status],
                payment,
                order,
                f"payment {payment.provider_payment_id or payment.provider_checkout_session_id} succeeded "
                f"but the order is {order.status}",
            )
        )

    for payment in Payment.objects.filter(status__in=PAYMENT_TAKEN_STATUSES).select_related("order").order_by("pk"):
        order = payment.order
        expected = _expected_minor(order)
        if (payment.amount_minor, payment.currency.lower()) != (expected, order.currency.lower()):
            issues.append(
                _issue(
                    "amount_mismatch",
                    payment,
                    order,
                    f"payment is {payment.amount_minor} {payment.currency.upper()}, "
                    f"order is {expected} {order.currency.upper()} (minor units)",
                )
            )

    issues.extend(_refund_inconsistencies())
    if gateway is not None:
        issues.extend(_provider_inconsistencies(gateway=gateway, days=days))
    return issues


def _refund_inconsistencies() -> list[Inconsistency]:
    issues = []
    succeeded = (
        Refund.objects.filter(order=OuterRef("pk"), status=RefundStatus.SUCCEEDED, of_sale=True)
        .order_by()
        .values("order")
        .annotate(total=Sum("amount_minor"))
        .values("total")
    )
    orders = Order.objects.annotate(refunded_minor=Coalesce(Subquery(succeeded), Value(0))).order_by("pk")
    for order in orders.exclude(refunded_minor=0, refunded_total=0):
        recorded = from_minor_units(order.refunded_minor, order.currency)
        if recorded != order.refunded_total:
            issues.append(
                _issue(
                    "refunded_total_mismatch",
                    None,
                    order,
                    f"refunded_total is {order.refunded_total}, its succeeded refunds add up to {recorded}",
                )
            )
    unknown = Refund.objects.filter(status=RefundStatus.PENDING, provider_refund_id__isnull=True).exclude(last_error="")
    for refund in unknown.select_related("order", "payment").order_by("pk"):
        issues.append(
            _issue(
                "refund_outcome_unknown",
                refund.payment,
                refund.order,
                f"refund {refund.pk} of {refund.amount} {refund.currency.upper()}: {refund.last_error}; "
                "send the same refund request again",
            )
        )
    return issues


def _provider_inconsistencies(*, gateway: PaymentGateway, days: int) -> list[Inconsistency]:
    issues = []
    since = timezone.now() - timedelta(days=days)
    payments = (
        Payment.objects.filter(provider=gateway.name, provider_payment_id__isnull=False, created_at__gte=since)
        .exclude(status=PaymentStatus.REFUNDED)
        .select_related("order")
        .order_by("pk")
    )
    for payment in payments:
        order = payment.order
        try:
            intent = gateway.retrieve_payment_intent(payment.provider_payment_id)
        except GatewayError as exc:
            issues.append(_issue("provider_unreachable", payment, order, str(exc)))
            continue
        provider_succeeded = intent.status == "succeeded"
        if provider_succeeded and payment.status in PAYMENT_OPEN_STATUSES:
            issues.append(
                _issue(
                    "provider_succeeded_not_recorded",
                    payment,
                    order,
                    f"{intent.id} succeeded at the provider, recorded here as {payment.status}",
                )
            )
        elif payment.status in PAYMENT_CAPTURED_STATUSES and not provider_succeeded:
            issues.append(
                _issue(
                    "provider_not_succeeded",
                    payment,
                    order,
                    f"recorded here as {payment.status}, {intent.id} is {intent.status} at the provider",
                )
            )
        if (intent.amount_minor, intent.currency) != (payment.amount_minor, payment.currency.lower()):
            issues.append(
                _issue(
                    "provider_amount_mismatch",
                    payment,
                    order,
                    f"provider has {intent.amount_minor} {intent.currency.upper()}, "
                    f"we have {payment.amount_minor} {payment.currency.upper()}",
                )
            )
    for payment in (
        Payment.objects.filter(
            provider=gateway.name,
            provider_payment_id__isnull=False,
            created_at__gte=since,
            status__in=PAYMENT_TAKEN_STATUSES,
        )
        .select_related("order")
        .order_by("pk")
    ):
        issues.extend(_provider_refund_inconsistencies(gateway=gateway, payment=payment))
    return issues


def _provider_refund_inconsistencies(*, gateway: PaymentGateway, payment: Payment) -> list[Inconsistency]:
    order = payment.order
    try:
        at_provider = gateway.list_refunds(payment.provider_payment_id)
    except GatewayError as exc:
        return [_issue("provider_unreachable", payment, order, f"refund list: {exc}")]
    ours = list(Refund.objects.filter(payment=payment))
    by_provider_id = {refund.provider_refund_id: refund for refund in ours if refund.provider_refund_id}
    by_id = {refund.pk: refund for refund in ours}
    issues = []
    seen = set()
    for refund in at_provider:
        if refund.status != "succeeded":
            continue
        known = by_provider_id.get(refund.id) or by_id.get(refund.shop_refund_id or 0)
        if known is None:
            issues.append(
                _issue(
                    "provider_refund_not_recorded",
                    payment,
                    order,
                    f"{refund.id} refunded {refund.amount_minor} {refund.currency.upper()} at the provider; "
                    "the shop has no such refund",
                )
            )
        else:
            seen.add(known.pk)
    for refund in ours:
        if refund.status == RefundStatus.SUCCEEDED and refund.provider_refund_id and refund.pk not in seen:
            issues.append(
                _issue(
                    "refund_not_at_provider",
                    payment,
                    order,
                    f"refund {refund.pk} ({refund.provider_refund_id}) is succeeded here, unknown at the provider",
                )
            )
    return issues
