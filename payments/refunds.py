"""Refund writes: staff refunds (by lines, shipping, an amount, or whatever is left), automatic refunds
of payments an order could not take, and the provider's word about refunds (its answers, its
webhooks, refunds made in its dashboard).

A refund is a row (payments.Refund) before the provider hears of it:

1. `refund_create` plans it under the order's and the payment's locks. Amounts come from the order's
   own snapshots (orders.pricing.refund_amount_for: a line's units return their share of what the
   line cost, discount and tax included), never from the client. What is refunded or being refunded
   (REFUND_ACTIVE_STATUSES) is counted first, so the refunds of a payment never add up to more than
   it took (409 `refund_exceeds_paid`) and no unit is refunded twice (400 `invalid_refund_line`),
   also when two staff refund at once: the second waits for the first's lock and sees its row. The
   row is committed PENDING.
2. The provider is asked outside any transaction, with the idempotency key `refund-<refund id>`. An
   answer lost on the way (a timeout, a 5xx) leaves the row PENDING with the error noted; the same
   request again sends the same key for the same row, and the provider refunds once.
3. Its answer is recorded in a new short transaction (`_refund_record`) holding, in the project's
   lock order, the products the refund restocks, the order, the payment and the refund. A refund that
   succeeded (`_refund_succeeded`) adds to the order's `refunded_total`, puts its restocked units back
   on their variants, marks the payment REFUNDED once all its money went back, and moves the order to
   REFUNDED through orders.services.order_transition once everything it was paid is back; the
   customer's e-mail goes out after commit.

The provider's events complete what it answered "pending" (`refund_provider_update`), and a refund it
reports that the shop never asked for (made in its dashboard) is recorded as a refund without lines
(`payment_charge_refunded`). A voucher's use is never given back by a refund.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from novacart.celery import enqueue_on_commit
from novacart.exceptions import Conflict, NotFound, ProviderError, ServiceError, ValidationFailed
from orders.emails import send_order_email
from orders.lock_objects import lock_return, lock_return_of_refund
from orders.models import ORDER_SALE_STATUSES, Order, OrderItem, OrderReturn, OrderStatus, ReturnStatus
from orders.pricing import refund_amount_for
from orders.returns import return_transition
from orders.services import order_transition
from orders.transitions import Actor, move_for
from products.services import catalog_cache_bump, variants_move_stock

from .error_codes import PaymentErrorCode
from .gateways import get_gateway, provider_error
from .lock_objects import lock_order_and_payment, lock_refund
from .models import (
    PAYMENT_CAPTURED_STATUSES,
    REFUND_ACTIVE_STATUSES,
    Payment,
    PaymentStatus,
    Refund,
    RefundLine,
    RefundStatus,
)
from .provider_types import (
    GatewayError,
    PaymentGateway,
    ProviderChargeRefund,
    ProviderRefund,
    from_minor_units,
    to_minor_units,
)
from .selectors import payment_refundable_get

logger = logging.getLogger(__name__)

# The provider's refund statuses, in ours: `pending` and `requires_action` wait for its event.
_PROVIDER_DONE = {"succeeded": RefundStatus.SUCCEEDED, "failed": RefundStatus.FAILED, "canceled": RefundStatus.FAILED}


@dataclass(frozen=True)
class RefundLineRequest:
    order_item_id: int
    quantity: int
    restock: bool | None = None  # this line's own choice (a return's line); None: the refund's `restock`


@dataclass(frozen=True)
class RefundAnswer:
    """What `POST /api/payments/refund/` answers: the refund, and where the order stands after it."""

    refund: Refund
    order: Order

    def as_body(self) -> dict:
        return {
            "refund_id": self.refund.pk,
            "amount": from_minor_units(self.refund.amount_minor, self.refund.currency),
            "currency": self.refund.currency,
            "status": self.refund.status,
            "provider_refund_id": self.refund.provider_refund_id or "",
            "order_id": self.order.pk,
            "order_status": self.order.status,
            "payment_status": self.order.payment_status,
            "refunded_total": self.order.refunded_total,
        }


# --- Planning: what a refund gives back, from the order's own snapshots --------------------------


@dataclass(frozen=True)
class _PlannedLine:
    item: OrderItem
    quantity: int
    amount_minor: int
    restock: bool = False


@dataclass(frozen=True)
class _Plan:
    lines: tuple[_PlannedLine, ...]
    shipping_minor: int
    goodwill_minor: int
    amount_minor: int

    @property
    def shipping(self) -> bool:
        return self.shipping_minor > 0

    def same_as(self, refund: Refund) -> bool:
        """Whether `refund` asks for exactly this (a retry of the same request)."""
        lines = {(line.order_item_id, line.quantity) for line in refund.lines.all()}
        return (
            refund.amount_minor,
            refund.shipping_minor,
            refund.goodwill_minor,
            lines,
        ) == (
            self.amount_minor,
            self.shipping_minor,
            self.goodwill_minor,
            {(p.item.pk, p.quantity) for p in self.lines},
        )


def refund_refundable_units(*, order: Order, ignoring: Iterable[int] = ()) -> dict[int, int]:
    """Order item id -> units refunded or being refunded so far (leaving out the refunds `ignoring`)."""
    rows = (
        RefundLine.objects.filter(refund__order=order, refund__status__in=REFUND_ACTIVE_STATUSES)
        .exclude(refund_id__in=list(ignoring))
        .values("order_item_id")
        .annotate(units=Sum("quantity"))
    )
    return {row["order_item_id"]: row["units"] for row in rows}


def order_shipping_paid(*, order: Order, items: Iterable[OrderItem]) -> Decimal:
    """What the customer paid for shipping, its tax included: the total less the lines' totals
    (each line total is after its discount and with its tax, whether prices include tax or not)."""
    return max(order.total - sum((item.line_total for item in items), Decimal(0)), Decimal(0))


def _invalid_line(message: str, attr: str) -> ValidationFailed:
    return ValidationFailed(message, code=PaymentErrorCode.INVALID_REFUND_LINE, attr=attr)


def _plan(
    *,
    order: Order,
    payment: Payment,
    lines: list[RefundLineRequest] | None,
    shipping: bool,
    amount: Decimal | None,
    restock: bool | None,
    ignoring: Refund | None = None,
) -> _Plan:
    """The refund these arguments ask for, checked against what was paid and what was refunded (as if
    `ignoring` were not there: the plan a retried refund had). No lines, no shipping and no amount:
    whatever is left. Call with the order and payment locked."""
    currency = order.currency
    items = {item.pk: item for item in order.items.all()}
    skip = [ignoring.pk] if ignoring is not None else []
    refunded_units = refund_refundable_units(order=order, ignoring=skip)
    active = Refund.objects.filter(payment=payment, status__in=REFUND_ACTIVE_STATUSES).exclude(pk__in=skip)
    committed = active.aggregate(total=Sum("amount_minor"))["total"] or 0
    shipping_refunded = (
        Refund.objects.filter(order=order, status__in=REFUND_ACTIVE_STATUSES, shipping=True)
        .exclude(pk__in=skip)
        .exists()
    )
    left = payment.amount_minor - committed
    is_sale = order.status in ORDER_SALE_STATUSES

    def line_amount(item: OrderItem, quantity: int) -> int:
        value = refund_amount_for(
            item, quantity=quantity, currency=currency, already_refunded=refunded_units.get(item.pk, 0)
        )
        return to_minor_units(value, currency)

    def shipping_amount() -> int:
        return to_minor_units(order_shipping_paid(order=order, items=items.values()), currency)

    everything = not lines and not shipping and amount is None
    if everything:
        if left <= 0:
            raise Conflict(
                f"Order {order.number} has nothing left to refund: its refunds"
                + (" (some still pending)" if active.filter(status=RefundStatus.PENDING).exists() else "")
                + " already give back all it was paid.",
                code=PaymentErrorCode.REFUND_EXCEEDS_PAID,
                attr="order_id",
            )
        planned = ()
        shipping_minor = 0
        if is_sale:
            refund_restock = restock if restock is not None else _restocks_when_refunded(order)
            planned = tuple(
                _PlannedLine(item, units, line_amount(item, units), bool(refund_restock))
                for item in items.values()
                if (units := item.quantity - refunded_units.get(item.pk, 0)) > 0
            )
            shipping_minor = 0 if shipping_refunded else shipping_amount()
        parts = sum(line.amount_minor for line in planned) + shipping_minor
        # An earlier goodwill amount may already cover part of the lines: what is left is the cap.
        return _Plan(planned, shipping_minor, max(left - parts, 0), left)

    if not is_sale and (lines or shipping):
        raise _invalid_line(
            f"Order {order.number} is {order.get_status_display().lower()}: its payment can only be refunded whole.",
            "lines",
        )
    if amount is not None and (lines or shipping):
        raise ValidationFailed(
            "A goodwill amount is refunded on its own: send either `amount` or `lines` / `shipping`.",
            code=PaymentErrorCode.INVALID_REFUND_LINE,
            attr="amount",
        )
    planned_lines = []
    seen: set[int] = set()
    for index, line in enumerate(lines or ()):
        item = items.get(line.order_item_id)
        if item is None:
            raise _invalid_line(
                f"Order {order.number} has no item {line.order_item_id}.", f"lines.{index}.order_item_id"
            )
        if item.pk in seen:
            raise _invalid_line(
                f"Item {item.pk} is named twice; give its quantity once.", f"lines.{index}.order_item_id"
            )
        seen.add(item.pk)
        if line.quantity > item.quantity:
            raise _invalid_line(
                f"{item.product_name}: {line.quantity} unit(s) asked of a line of {item.quantity}.",
                f"lines.{index}.quantity",
            )
        units_left = item.quantity - refunded_units.get(item.pk, 0)
        if line.quantity > units_left:
            # A conflict with refunds made (or being made) before, e.g. by someone else a moment ago.
            raise Conflict(
                f"{item.product_name}: {line.quantity} unit(s) asked, "
                + (f"only {units_left} not refunded yet." if units_left else "all its units are already refunded."),
                code=PaymentErrorCode.REFUND_EXCEEDS_PAID,
                attr=f"lines.{index}.quantity",
            )
        line_restock = line.restock if line.restock is not None else (True if restock is None else restock)
        planned_lines.append(_PlannedLine(item, line.quantity, line_amount(item, line.quantity), line_restock))
    shipping_minor = 0
    if shipping:
        if shipping_refunded:
            raise Conflict(
                f"The shipping of order {order.number} is already refunded.",
                code=PaymentErrorCode.REFUND_EXCEEDS_PAID,
                attr="shipping",
            )
        shipping_minor = shipping_amount()
        if not shipping_minor:
            raise _invalid_line(f"Order {order.number} paid nothing for shipping.", "shipping")
    goodwill_minor = 0
    if amount is not None:
        try:
            goodwill_minor = to_minor_units(amount, currency)
        except ValueError as exc:
            raise ValidationFailed(str(exc), code=PaymentErrorCode.INVALID_REFUND_LINE, attr="amount") from exc
    total = sum(line.amount_minor for line in planned_lines) + shipping_minor + goodwill_minor
    if total > left:
        raise Conflict(
            f"That refund is {from_minor_units(total, currency)} {currency.upper()}, but only "
            f"{from_minor_units(max(left, 0), currency)} {currency.upper()} of what order {order.number} paid is "
            "not refunded (or being refunded) yet.",
            code=PaymentErrorCode.REFUND_EXCEEDS_PAID,
        )
    return _Plan(tuple(planned_lines), shipping_minor, goodwill_minor, total)


def _restocks_when_refunded(order: Order) -> bool:
    """Refunding everything puts the goods back on the shelf only while they have not left the
    warehouse: the lifecycle table's rule for the move to REFUNDED (orders.transitions)."""
    move = move_for(source=order.status, target=OrderStatus.REFUNDED, payment_method=order.payment_method)
    return bool(move and move.restock)


@dataclass(frozen=True)
class RefundPreviewLine:
    item: OrderItem
    quantity: int
    amount: Decimal
    restock: bool


@dataclass(frozen=True)
class RefundPreview:
    """What a refund would give back (`refund_preview`): each line's units and share, the shipping, any
    other amount and the total, in the currency's units. `retry_of`: the refund of the same request
    whose provider answer was lost, which refunding again asks for with the same key."""

    order: Order
    payment: Payment
    lines: tuple[RefundPreviewLine, ...]
    shipping: Decimal
    goodwill: Decimal
    amount: Decimal
    currency: str
    retry_of: Refund | None


def refund_preview(
    *,
    order_id: int,
    lines: list[RefundLineRequest] | None = None,
    shipping: bool = False,
    amount: Decimal | None = None,
    restock: bool | None = None,
) -> RefundPreview:
    """What `refund_create` with the same arguments would refund now, planned by the same code
    (`_plan`), writing nothing and asking the provider nothing: the admin shows it before staff
    confirm. Read without the locks, so a refund made meanwhile may change it; `refund_create` plans
    again under them.

    Raises what `refund_create` raises before it writes: NotFound, Conflict(`payment_not_refundable`),
    Conflict(`refund_exceeds_paid`), ValidationFailed(`invalid_refund_line`), and
    ServiceUnavailable(`payment_not_configured`).
    """
    gateway = get_gateway()
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.", code=PaymentErrorCode.NOT_FOUND, attr="order_id")
    payment = payment_refundable_get(order_id=order.pk)
    if payment is None:
        raise Conflict(
            f"Order {order.number} has no succeeded payment to refund.",
            code=PaymentErrorCode.PAYMENT_NOT_REFUNDABLE,
            attr="order_id",
        )
    _check_gateway(gateway, payment)
    request = {"lines": lines, "shipping": shipping, "amount": amount, "restock": restock}
    retry_of = _unanswered_twin(order=order, payment=payment, request=request)
    plan = _plan(order=order, payment=payment, ignoring=retry_of, **request)
    currency = order.currency
    return RefundPreview(
        order=order,
        payment=payment,
        lines=tuple(
            RefundPreviewLine(line.item, line.quantity, from_minor_units(line.amount_minor, currency), line.restock)
            for line in plan.lines
        ),
        shipping=from_minor_units(plan.shipping_minor, currency),
        goodwill=from_minor_units(plan.goodwill_minor, currency),
        amount=from_minor_units(plan.amount_minor, currency),
        currency=currency,
        retry_of=retry_of,
    )


# --- Staff refunds ---------------------------------------------------------------------------------


def refund_create(
    *,
    order_id: int,
    user=None,
    lines: list[RefundLineRequest] | None = None,
    shipping: bool = False,
    amount: Decimal | None = None,
    restock: bool | None = None,
    reason: str = "",
    order_return_id: int | None = None,
) -> RefundAnswer:
    """Refunds part or all of what an order was paid, through the provider of the payment that took it
    (staff: `POST /api/payments/refund/` and the admin's order page).

    `lines` (order item, units), `shipping` (its charge and tax) and a goodwill `amount` (alone) say
    what goes back; none of them: whatever is not refunded yet (the old full refund). `restock` puts
    the lines' units back on their variants once the money went back (default: yes with lines; for
    whatever is left, only while the order has not shipped).

    Raises NotFound (no such order), Conflict(`payment_not_refundable`) when no money is held for the
    order, Conflict(`refund_exceeds_paid`), ValidationFailed(`invalid_refund_line`),
    ProviderError(`payment_provider_error`: the answer was lost, the same request again is safe;
    `refund_failed`: the provider refused it, nothing went back).

    `order_return_id`: the refund is that return's (`refund_for_return`), linked to it in the same
    transaction; the return moves to REFUNDED when the money went back.
    """
    gateway = get_gateway()
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.", code=PaymentErrorCode.NOT_FOUND, attr="order_id")
    payment = payment_refundable_get(order_id=order.pk)
    if payment is None:
        already = Payment.objects.filter(order=order, status=PaymentStatus.REFUNDED).exists()
        raise Conflict(
            f"Order {order.number} " + ("was already refunded." if already else "has no succeeded payment to refund."),
            code=PaymentErrorCode.PAYMENT_NOT_REFUNDABLE,
            attr="order_id",
        )
    _check_gateway(gateway, payment)
    with transaction.atomic():
        order, payment = lock_order_and_payment(payment_id=payment.pk)
        if payment.status not in PAYMENT_CAPTURED_STATUSES:
            raise Conflict(
                f"Order {order.number} was refunded meanwhile.", code=PaymentErrorCode.PAYMENT_NOT_REFUNDABLE
            )
        request = {"lines": lines, "shipping": shipping, "amount": amount, "restock": restock}
        order_return = _return_to_refund(order_return_id) if order_return_id is not None else None
        refund = _unanswered_twin(order=order, payment=payment, request=request)
        if refund is None:
            plan = _plan(order=order, payment=payment, **request)
            refund = _refund_insert(
                order=order,
                payment=payment,
                plan=plan,
                user=user,
                reason=reason,
                of_sale=order.status in ORDER_SALE_STATUSES,
            )
        if order_return is not None and order_return.refund_id != refund.pk:
            order_return.refund = refund
            order_return.save(update_fields=["refund", "updated_at"])
    note = (reason or "Refund requested by staff.") if user is not None else (reason or "Refund requested.")
    return _refund_send(gateway=gateway, refund=refund, user=user, note=note)


def refund_for_return(*, return_id: int, user=None) -> RefundAnswer:
    """Refunds the units of a RECEIVED return (restocking the lines staff marked so); the return moves
    to REFUNDED once the money went back (at once, or with the provider's event). Raises NotFound,
    Conflict(`invalid_transition`) for a return not RECEIVED or already being refunded, and what
    `refund_create` raises."""
    order_return = OrderReturn.objects.filter(pk=return_id).prefetch_related("lines").first()
    if order_return is None:
        raise NotFound("Return not found.", code=PaymentErrorCode.NOT_FOUND)
    lines = [RefundLineRequest(line.order_item_id, line.quantity, line.restock) for line in order_return.lines.all()]
    return refund_create(
        order_id=order_return.order_id,
        user=user,
        lines=lines,
        reason=f"Return {order_return.pk}.",
        order_return_id=order_return.pk,
    )


def _return_to_refund(return_id: int) -> OrderReturn:
    """The return a refund is for, locked (after the order and the payment): RECEIVED, and not already
    being refunded (a refund whose answer was lost is retried through `_unanswered_twin`)."""
    order_return = lock_return(return_id=return_id)
    if order_return.status != ReturnStatus.RECEIVED:
        raise Conflict(
            f"Return {order_return.pk} is {order_return.status}: only received goods are refunded.",
            code=PaymentErrorCode.INVALID_TRANSITION,
        )
    current = order_return.refund
    if current is not None and (
        current.status == RefundStatus.SUCCEEDED or (current.status == RefundStatus.PENDING and not current.last_error)
    ):
        raise Conflict(
            f"Return {order_return.pk} is being refunded already (refund {current.pk}, {current.status}).",
            code=PaymentErrorCode.INVALID_TRANSITION,
        )
    return order_return


def payment_refund(*, order_id: int, user=None) -> RefundAnswer:
    """Refunds whatever of the order is not refunded yet (`refund_create` without lines)."""
    return refund_create(order_id=order_id, user=user)


def payment_refund_automatic(*, payment_id: int) -> RefundAnswer | None:
    """Gives back, whole, a payment that arrived for an order that could no longer take it (cancelled
    on expiry, or already paid by another payment). It does not count in the order's `refunded_total`.
    Idempotent: a payment no longer captured, or already being refunded, is left alone."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or payment.status not in PAYMENT_CAPTURED_STATUSES:
        return None
    gateway = get_gateway()
    _check_gateway(gateway, payment)
    with transaction.atomic():
        order, payment = lock_order_and_payment(payment_id=payment.pk)
        if payment.status not in PAYMENT_CAPTURED_STATUSES:
            return None
        refund = Refund.objects.filter(payment=payment, status__in=REFUND_ACTIVE_STATUSES).first()
        if refund is not None and refund.status == RefundStatus.SUCCEEDED:
            return None
        if refund is None:
            plan = _Plan((), 0, payment.amount_minor, payment.amount_minor)
            refund = _refund_insert(
                order=order,
                payment=payment,
                plan=plan,
                user=None,
                reason="Automatic refund: the payment arrived after the order could take it.",
                of_sale=False,
            )
    return _refund_send(gateway=gateway, refund=refund, user=None, note=refund.reason)


def _check_gateway(gateway: PaymentGateway, payment: Payment) -> None:
    if gateway.name != payment.provider:
        raise Conflict(
            f"This payment was taken by the {payment.provider} gateway, which is not the one configured.",
            code=PaymentErrorCode.PAYMENT_NOT_REFUNDABLE,
        )
    if not payment.provider_payment_id:
        raise Conflict("The payment has no provider payment to refund.", code=PaymentErrorCode.PAYMENT_NOT_REFUNDABLE)


def _unanswered_twin(*, order: Order, payment: Payment, request: dict) -> Refund | None:
    """A refund of the same request whose provider answer was lost: asking again with its key is the
    retry the provider's idempotency is for. The request is planned as if that refund were not there
    and must come out the same. A refund still waiting for its first answer is not one (its
    `last_error` is empty): a second request while it runs counts it and may be refused."""
    candidates = Refund.objects.filter(
        payment=payment, status=RefundStatus.PENDING, provider_refund_id__isnull=True, source=Refund.Source.SHOP
    ).exclude(last_error="")
    for candidate in candidates.prefetch_related("lines"):
        try:
            plan = _plan(order=order, payment=payment, ignoring=candidate, **request)
        except ServiceError:
            continue
        if plan.same_as(candidate):
            return candidate
    return None


def _refund_insert(*, order: Order, payment: Payment, plan: _Plan, user, reason: str, of_sale: bool) -> Refund:
    refund = Refund.objects.create(
        order=order,
        payment=payment,
        amount_minor=plan.amount_minor,
        currency=payment.currency,
        reason=reason[:255],
        shipping=plan.shipping,
        shipping_minor=plan.shipping_minor,
        goodwill_minor=plan.goodwill_minor,
        of_sale=of_sale,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    RefundLine.objects.bulk_create(
        RefundLine(
            refund=refund,
            order_item=line.item,
            quantity=line.quantity,
            amount_minor=line.amount_minor,
            restock=line.restock,
        )
        for line in plan.lines
    )
    if payment.status == PaymentStatus.SUCCEEDED:
        payment.status = PaymentStatus.REFUND_PENDING
        payment.save(update_fields=["status", "updated_at"])
    return refund


def _refund_send(*, gateway: PaymentGateway, refund: Refund, user, note: str) -> RefundAnswer:
    """Asks the provider for the (committed, PENDING) refund and records its answer."""
    if refund.amount_minor == 0:
        # Nothing to send (a line that cost nothing, e.g. under a 100% voucher): done here.
        return _refund_record(refund_id=refund.pk, answer=None, succeeded=True, note=note, user=user)
    payment = refund.payment
    try:
        answer = gateway.create_refund(
            payment_intent_id=payment.provider_payment_id,
            amount=from_minor_units(refund.amount_minor, refund.currency),
            currency=refund.currency,
            metadata={"order_id": str(refund.order_id), "payment_id": str(payment.pk), "refund_id": str(refund.pk)},
            idempotency_key=f"refund-{refund.pk}",
        )
    except GatewayError as exc:
        if exc.retryable or exc.rate_limited:
            # The provider may or may not have made it: the row stays PENDING, and the same request
            # again retries it with the same key.
            Refund.objects.filter(pk=refund.pk).update(
                last_error=f"no answer from the provider: {exc}"[:1000], updated_at=timezone.now()
            )
            raise provider_error(exc) from exc
        _refund_record(refund_id=refund.pk, answer=None, failed_because=str(exc), note=note, user=user)
        raise ProviderError(f"The provider refused the refund: {exc}", code=PaymentErrorCode.REFUND_FAILED) from exc
    answered = _refund_record(refund_id=refund.pk, answer=answer, note=note, user=user)
    if answered.refund.status == RefundStatus.FAILED:
        raise ProviderError(
            f"The provider reported the refund as {answer.status}.", code=PaymentErrorCode.REFUND_FAILED
        )
    logger.info(
        "refund %s (%s) for order %s: %s %s, %s (by %s)",
        refund.pk,
        answer.id,
        answered.order.number,
        refund.amount_minor,
        refund.currency,
        answered.refund.status,
        user or "system",
    )
    return answered


# --- Recording what the provider says -----------------------------------------------------------


def _refund_record(
    *,
    refund_id: int,
    answer: ProviderRefund | None,
    succeeded: bool = False,
    failed_because: str = "",
    note: str = "",
    user=None,
) -> RefundAnswer:
    """Records the provider's answer (or event) about one of our refunds, in its own transaction
    (or the caller's: a webhook's)."""
    with transaction.atomic():
        order, payment, refund = lock_refund(refund_id=refund_id)
        if answer is not None and answer.id and not refund.provider_refund_id:
            refund.provider_refund_id = answer.id
        status = (
            RefundStatus.SUCCEEDED
            if succeeded
            else RefundStatus.FAILED
            if failed_because
            else _PROVIDER_DONE.get(answer.status if answer else "", RefundStatus.PENDING)
        )
        if refund.status != RefundStatus.PENDING:
            refund.save(update_fields=["provider_refund_id", "updated_at"])
        elif status == RefundStatus.SUCCEEDED:
            _refund_succeeded(order=order, payment=payment, refund=refund, note=note, user=user)
        elif status == RefundStatus.FAILED:
            reason = failed_because or (answer.failure_reason if answer else "") or (answer.status if answer else "")
            _refund_failed(payment=payment, refund=refund, reason=reason)
        else:
            refund.last_error = ""
            refund.save(update_fields=["provider_refund_id", "last_error", "updated_at"])
        order.refresh_from_db()
    return RefundAnswer(refund, order)


def _refund_succeeded(*, order: Order, payment: Payment, refund: Refund, note: str = "", user=None) -> None:
    """The money of `refund` went back. The caller holds the locks of `lock_refund`."""
    now = timezone.now()
    refund.status = RefundStatus.SUCCEEDED
    refund.completed_at = now
    refund.last_error = ""
    refund.save()
    deltas: dict[int, int] = {}
    for variant_id, quantity in RefundLine.objects.filter(refund=refund, restock=True).values_list(
        "order_item__variant_id", "quantity"
    ):
        deltas[variant_id] = deltas.get(variant_id, 0) + quantity
    if deltas:
        variants_move_stock(deltas=deltas)
        transaction.on_commit(catalog_cache_bump)

    back = Refund.objects.filter(payment=payment, status=RefundStatus.SUCCEEDED).aggregate(total=Sum("amount_minor"))[
        "total"
    ]
    if (back or 0) >= payment.amount_minor:
        payment.status = PaymentStatus.REFUNDED
        payment.refunded_at = now
        if not payment.provider_refund_id and refund.provider_refund_id:
            payment.provider_refund_id = refund.provider_refund_id
    elif not Refund.objects.filter(payment=payment, status=RefundStatus.PENDING).exists():
        payment.status = PaymentStatus.SUCCEEDED
    payment.save()

    order_return = lock_return_of_refund(refund_id=refund.pk)
    if order_return is not None:
        return_transition(
            return_id=order_return.pk,
            to_status=ReturnStatus.REFUNDED,
            actor=Actor.SYSTEM,
            user=user,
            note=f"Refunded {refund.amount} {refund.currency.upper()}.",
        )
    if not refund.of_sale:
        return
    refunded = order.refunded_total + from_minor_units(refund.amount_minor, refund.currency)
    if refunded > order.total:
        # More went back than the order cost (a payment that did not match the order): flagged.
        Payment.objects.filter(pk=payment.pk).update(
            needs_review=True, last_error=f"refunds of {refunded} exceed the order total {order.total}"
        )
        refunded = order.total
    Order.objects.filter(pk=order.pk).update(refunded_total=refunded, updated_at=now)
    order.refunded_total = refunded
    if refunded >= order.total and order.status in ORDER_SALE_STATUSES:
        order_transition(
            order_id=order.pk,
            to_status=OrderStatus.REFUNDED,
            actor=Actor.SYSTEM,
            user=user,
            note=(note or "Refunded.")[:255],
            restock=False,  # the refund lines put back what they restock
        )
    else:
        enqueue_on_commit(send_order_email, order.pk, "partially_refunded")


def _refund_failed(*, payment: Payment, refund: Refund, reason: str) -> None:
    refund.status = RefundStatus.FAILED
    refund.last_error = f"failed at the provider: {reason}"[:1000] if reason else "failed at the provider"
    refund.save()
    if (
        payment.status == PaymentStatus.REFUND_PENDING
        and not Refund.objects.filter(payment=payment, status=RefundStatus.PENDING).exists()
    ):
        payment.status = PaymentStatus.SUCCEEDED
        payment.save(update_fields=["status", "updated_at"])
    logger.warning("refund %s of order %s failed: %s", refund.pk, refund.order_id, reason)


def _our_refund(*, payment: Payment, answer: ProviderRefund) -> Refund | None:
    """The row of a provider refund: by its id, else by the refund id we sent in its metadata."""
    if answer.id:
        found = Refund.objects.filter(provider_refund_id=answer.id).first()
        if found is not None:
            return found
    shop_id = answer.shop_refund_id
    if shop_id is not None:
        return Refund.objects.filter(pk=shop_id, payment=payment).first()
    return None


def _payment_for(payment_intent_id: str) -> Payment | None:
    return Payment.objects.filter(provider_payment_id=payment_intent_id).first() if payment_intent_id else None


def refund_provider_update(*, refund: ProviderRefund) -> str:
    """The provider says one refund changed (Stripe's refund.updated / refund.failed, Razorpay's
    refund.failed, each refund listed in a charge.refunded): ours is completed or failed; one that
    succeeded that we never asked for is recorded as made outside the shop. Call inside a transaction."""
    payment = _payment_for(refund.payment_intent_id)
    if payment is None:
        logger.warning("refund %s for unknown payment %r", refund.id, refund.payment_intent_id)
        return "ignored: unknown payment"
    ours = _our_refund(payment=payment, answer=refund)
    if ours is None:
        if refund.status != "succeeded":
            return f"ignored: unknown refund {refund.status}"
        made = _refund_outside(payment=payment, amount_minor=refund.amount_minor, provider_refund_id=refund.id)
        return f"outside_refund_recorded: {made.amount_minor}" if made else "ignored: nothing left to refund"
    before = ours.status
    answered = _refund_record(refund_id=ours.pk, answer=refund, note="Refund confirmed by the payment provider.")
    return f"refund {ours.pk}: {before} -> {answered.refund.status}"


def payment_charge_refunded(*, refund: ProviderChargeRefund) -> str:
    """The provider says money went back for a payment (a refund we asked for, or one made in its
    dashboard): each refund the event lists goes through `refund_provider_update`; then, when the event
    says how much of the payment is refunded in all, our pending refunds it covers are completed and
    any amount beyond every refund we know is recorded as a refund made outside the shop (no lines).
    Call inside a transaction."""
    payment = _payment_for(refund.payment_intent_id)
    if payment is None:
        logger.warning("charge.refunded for unknown payment intent %r", refund.payment_intent_id)
        return "ignored: unknown payment intent"
    outcomes = [
        refund_provider_update(refund=listed) for listed in refund.refunds if listed.status in ("succeeded", "")
    ]
    if refund.amount_refunded_minor is not None:
        outcomes.append(
            _reconcile_refunded_amount(
                payment=payment, refunded_minor=refund.amount_refunded_minor, refund_id=refund.refund_id
            )
        )
    return "; ".join(outcome for outcome in outcomes if outcome)[:255] or "ignored: nothing new"


def _reconcile_refunded_amount(*, payment: Payment, refunded_minor: int, refund_id: str) -> str:
    refunds = list(Refund.objects.filter(payment=payment, status__in=REFUND_ACTIVE_STATUSES))
    succeeded = sum(r.amount_minor for r in refunds if r.status == RefundStatus.SUCCEEDED)
    answered = [r for r in refunds if r.status == RefundStatus.PENDING and r.provider_refund_id]
    in_flight = sum(r.amount_minor for r in refunds if r.status == RefundStatus.PENDING and not r.provider_refund_id)
    outcome = ""
    if answered and refunded_minor >= succeeded + sum(r.amount_minor for r in answered):
        # The provider counts every refund it told us was pending as done.
        for pending in answered:
            _refund_record(
                refund_id=pending.pk, answer=None, succeeded=True, note="Refund confirmed by the payment provider."
            )
        succeeded += sum(r.amount_minor for r in answered)
        outcome = f"{len(answered)} pending refund(s) completed"
        answered = []
    unknown = refunded_minor - succeeded - sum(r.amount_minor for r in answered) - in_flight
    if unknown <= 0:
        return outcome
    used = bool(refund_id) and Refund.objects.filter(provider_refund_id=refund_id).exists()
    made = _refund_outside(payment=payment, amount_minor=unknown, provider_refund_id="" if used else refund_id)
    return "; ".join(part for part in (outcome, f"outside_refund_recorded: {unknown}" if made else "") if part)


def _refund_outside(*, payment: Payment, amount_minor: int, provider_refund_id: str) -> Refund | None:
    """A refund made at the provider, not in the shop: recorded (succeeded, no lines) and applied."""
    with transaction.atomic():
        order, payment = lock_order_and_payment(payment_id=payment.pk)
        committed = (
            Refund.objects.filter(payment=payment, status__in=REFUND_ACTIVE_STATUSES).aggregate(
                total=Sum("amount_minor")
            )["total"]
            or 0
        )
        amount_minor = min(amount_minor, payment.amount_minor - committed)
        if amount_minor <= 0:
            return None
        if payment.status not in PAYMENT_CAPTURED_STATUSES:
            # Money went back for a payment we never had as taken (its success event is late, or lost).
            payment.needs_review = True
            payment.last_error = f"refund at the provider for a payment we had as {payment.status}"
            payment.save(update_fields=["needs_review", "last_error", "updated_at"])
        made = Refund.objects.create(
            order=order,
            payment=payment,
            amount_minor=amount_minor,
            currency=payment.currency,
            source=Refund.Source.PROVIDER,
            reason="Refunded at the payment provider (not in the shop).",
            goodwill_minor=amount_minor,
            provider_refund_id=provider_refund_id or None,
            of_sale=order.status in ORDER_SALE_STATUSES or order.status == OrderStatus.REFUNDED,
        )
        _refund_succeeded(order=order, payment=payment, refund=made, note="Refunded at the payment provider.")
    logger.warning("order %s: a refund of %s made at the provider was recorded", order.number, amount_minor)
    return made
