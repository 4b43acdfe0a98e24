"""Payment reads: reconciliation of orders against their payments (and the provider)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from django.utils import timezone

from orders.models import ORDER_SALE_STATUSES, Order, OrderStatus, PaymentMethod

from .models import PAYMENT_CAPTURED_STATUSES, PAYMENT_OPEN_STATUSES, PAYMENT_TAKEN_STATUSES, Payment, PaymentStatus
from .provider_types import GatewayError, PaymentGateway, to_minor_units


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
    - with `gateway` (--stripe or --razorpay): for payments of the last `days` days, what the provider says
      about each intent (`provider_succeeded_not_recorded`, `provider_not_succeeded`,
      `provider_amount_mismatch`, `provider_unreachable`).
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

    if gateway is not None:
        issues.extend(_provider_inconsistencies(gateway=gateway, days=days))
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
    return issues
