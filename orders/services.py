"""Order writes. Every status change goes through `order_transition`."""

import logging
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import BaseUserManager
from django.db import IntegrityError, transaction
from django.utils import timezone

from addresses.countries import COUNTRY_CODES
from addresses.models import Address
from cart.lock_objects import lock_anonymous_cart, lock_user_cart
from cart.models import Cart, CartItem
from cart.selectors import cart_token_clean
from novacart.celery import enqueue_on_commit
from novacart.exceptions import Conflict, ErrorItem, Forbidden, NotFound, ServiceError, ValidationFailed
from products.lock_objects import lock_product_ids_of, lock_products
from products.models import ProductVariant
from products.services import catalog_cache_bump, variants_move_stock
from users.error_codes import UserErrorCode
from users.selectors import require_verified_email, user_has_verified_email

from .emails import send_order_email
from .error_codes import OrderErrorCode
from .lock_objects import lock_order, lock_order_voucher
from .models import ORDER_COD_OPEN_STATUSES, Order, OrderItem, OrderStatus, OrderStatusChange, PaymentMethod
from .selectors import Destination, checkout_lines, checkout_price, checkout_tax_rates, order_as_written
from .tokens import guest_token_for, guest_token_new
from .transitions import Actor, Tracking, allowed_move, allowed_targets, move_for
from .vouchers import voucher_release, voucher_terms_for_checkout, voucher_use_record, voucher_use_take

logger = logging.getLogger(__name__)
User = get_user_model()


def _catalog_changed() -> None:
    """Stock moved: anonymous catalog responses cached before must not be served again."""
    transaction.on_commit(catalog_cache_bump)


def order_restock(*, order: Order) -> None:
    """Puts the order's units back on the shelf, on the variants they came from. The caller holds the
    product locks (taken in primary-key order by `lock_products`)."""
    deltas: dict[int, int] = {}
    for variant_id, quantity in order.items.values_list("variant_id", "quantity"):
        deltas[variant_id] = deltas.get(variant_id, 0) + quantity
    variants_move_stock(deltas=deltas)
    _catalog_changed()


class _LockOrderChanged(Exception):
    """The order changed state between the first read and its lock; the caller tries again."""


def order_transition(
    *,
    order_id: int,
    to_status: str,
    actor: Actor,
    user=None,
    note: str = "",
    tracking_number: str = "",
    expected_status: str | None = None,
    restock: bool | None = None,
) -> Order:
    """Moves an order to `to_status` if the lifecycle allows `actor` to make that move.

    Runs in one transaction with the order row locked (and, when stock goes back, the product
    rows first, in primary-key order). A move to the status the order already has is a no-op,
    so retries and duplicate webhooks are harmless. Records an OrderStatusChange row, sets the
    status timestamp, restores stock on cancellation and on a refund before shipping, and queues
    the customer e-mail after commit.

    `note` is shown to the customer in the order's `status_history`: it never names a person (the
    actor label says "staff"); `user` is who did it, kept on the status change for the admin.

    `expected_status`, when given, is the status the caller showed the person deciding (an admin
    confirmation page): an order found in another status under the lock is not moved.

    `restock`, when given, replaces the move's own rule: payments.refunds passes False, its refund lines
    having put back on the shelf what they restock.

    Raises Conflict(`invalid_transition`) when the move is not allowed or the order is no longer in
    `expected_status`, and ValidationFailed(`tracking_number_required`) when shipping a card order
    without a tracking number.
    """
    for _attempt in range(3):
        try:
            return _transition_once(
                order_id=order_id,
                to_status=to_status,
                actor=actor,
                user=user,
                note=note,
                tracking_number=(tracking_number or "").strip(),
                expected_status=expected_status,
                restock=restock,
            )
        except _LockOrderChanged:
            continue
    raise Conflict("The order is changing too quickly; try again.", code=OrderErrorCode.INVALID_TRANSITION)


def _transition_once(*, order_id, to_status, actor, user, note, tracking_number, expected_status, restock) -> Order:
    with transaction.atomic():
        current = Order.objects.filter(pk=order_id).values("status", "payment_method", "voucher_code").first()
        if current is None:
            raise Order.DoesNotExist(order_id)
        expected = move_for(source=current["status"], target=to_status, payment_method=current["payment_method"])
        products_locked = expected is not None and (expected.restock if restock is None else restock)
        if products_locked:
            product_ids = OrderItem.objects.filter(order_id=order_id).values_list("product_id", flat=True)
            lock_products(product_ids=product_ids)
        gives_voucher_back = to_status == OrderStatus.CANCELLED and bool(current["voucher_code"])
        if gives_voucher_back:
            lock_order_voucher(order_id=order_id)  # before the order: a cancellation gives the use back
        order = lock_order(order_id=order_id)
        from_status = order.status
        if from_status == to_status:
            return order
        if expected_status is not None and from_status != expected_status:
            shown = dict(OrderStatus.choices).get(expected_status)
            now = f"Order {order.number} is {order.get_status_display().lower()} now"
            raise Conflict(
                f"{now}, not {str(shown).lower()} as shown; nothing was changed."
                if shown
                else f"{now}, which the page did not show; nothing was changed.",
                code=OrderErrorCode.INVALID_TRANSITION,
                attr="status",
            )
        move = allowed_move(source=from_status, target=to_status, actor=actor, payment_method=order.payment_method)
        if move is None:
            allowed = allowed_targets(source=from_status, actor=actor, payment_method=order.payment_method)
            raise Conflict(
                f"Order {order.number} cannot move from {from_status} to {to_status}"
                + (f"; allowed: {', '.join(allowed)}." if allowed else "."),
                code=OrderErrorCode.INVALID_TRANSITION,
                attr="status",
            )
        restocks = move.restock if restock is None else restock
        if restocks and not products_locked:
            # The status changed between the first read and the lock: take the locks in order and retry.
            raise _LockOrderChanged
        now = timezone.now()
        order.status = to_status
        setattr(order, move.timestamp, now)
        update_fields = ["status", "updated_at", move.timestamp]
        if tracking_number and move.tracking != Tracking.NONE:
            order.tracking_number = tracking_number
            update_fields.append("tracking_number")
        elif move.tracking == Tracking.REQUIRED or (
            move.tracking == Tracking.REQUIRED_UNLESS_SET and not order.tracking_number
        ):
            raise ValidationFailed(
                "A tracking number is required to ship an order.",
                code=OrderErrorCode.TRACKING_NUMBER_REQUIRED,
                attr="tracking_number",
            )
        if move.collects_payment and order.paid_at is None:
            order.paid_at = now
            update_fields.append("paid_at")
        order.save(update_fields=update_fields)
        OrderStatusChange.objects.create(
            order=order,
            from_status=from_status,
            to_status=to_status,
            actor=user,
            actor_label=str(actor),
            note=note[:255],
        )
        if restocks:
            order_restock(order=order)
        if gives_voucher_back:
            voucher_release(order=order)
        enqueue_on_commit(send_order_email, order.pk, move.email)
        logger.info("order %s: %s -> %s by %s", order.number, from_status, to_status, actor)
        return order


# --- Placing an order -------------------------------------------------------

_NUMBER_ALPHABET = string.ascii_uppercase + string.digits
_NUMBER_ATTEMPTS = 5


def order_number_generate(*, now=None) -> str:
    """`NC-YYMMDD-XXXXXX`: the day it was placed and six random uppercase letters or digits."""
    day = (now or timezone.now()).strftime("%y%m%d")
    suffix = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(6))
    return f"NC-{day}-{suffix}"


@dataclass(frozen=True)
class _Buyer:
    """Who places the order: an account (its address book's `address_id`), or a guest (the anonymous
    cart's token, the e-mail given, and the address given inline, validated as the address book does)."""

    user: object | None = None
    address_id: int | None = None
    cart_token: str | None = None
    email: str = ""
    address: dict | None = None


def order_place_from_cart(
    *, user, address_id: int, payment_method: str, shipping_method_id: int | None = None
) -> Order:
    """Turns the user's cart into a PENDING order, in one transaction.

    Locks the cart, then its lines' products in primary-key order, then reads the lines with their
    variants (the latest committed stock and prices); checks that every variant and its product are
    still on sale and the variant has the stock asked for; prices the cart with
    `orders.selectors.checkout_price` from those rows (the variants' prices, the address's tax rates,
    the shipping method checked again for this address and cart); takes the stock (one statement
    for all lines); copies prices, names, SKUs, option values, each line's
    discount and tax, the totals, the tax lines, the shipping method and the shipping address into
    the order; records the first status change; empties the cart (and drops its voucher). The
    confirmation e-mail and the catalog cache bump run after commit. Any failure rolls all of
    it back: stock, cart and orders are left as they were. The order number is random: one drawn
    before (the unique constraint says so) places the order again, whole, with another. Returns the
    order with its items and status history loaded from what was written (no query reads them back).

    Raises ValidationFailed(`invalid_choice`) for an unknown payment method,
    Forbidden(`email_not_verified`) for cash on delivery by a customer whose e-mail is not verified,
    NotFound(`address_not_found`) for an address that is missing or another user's,
    ValidationFailed(`shipping_method_required` / `shipping_method_unavailable`) when the shop ships by
    methods and none (or one that does not serve this address and cart) was chosen,
    ValidationFailed(`cod_not_allowed`) for cash on delivery with a method that does not allow it,
    the cart voucher's errors (`voucher_invalid`, `voucher_expired`, `voucher_not_applicable`,
    `voucher_min_subtotal`, 409 `voucher_exhausted`: checked again, its use counted here with one
    conditional update that is also the voucher's lock: orders.vouchers.voucher_use_take),
    ValidationFailed(`cart_empty`), Conflict(`too_many_open_orders`) for a cash-on-delivery order
    beyond COD_MAX_OPEN_ORDERS, and Conflict with one ErrorItem per problem line:
    `product_unavailable` (product or variant deactivated) and `out_of_stock` (with what is left,
    naming the variant's SKU).
    """
    _check_payment_method(payment_method)
    if payment_method == PaymentMethod.COD:
        # Goods leave on a promise to pay: only to someone who proved the address is theirs.
        require_verified_email(user=user)
    return _place_numbered(
        buyer=_Buyer(user=user, address_id=address_id),
        payment_method=payment_method,
        shipping_method_id=shipping_method_id,
    )


def order_place_as_guest(
    *, cart_token: str | None, email: str, address: dict, payment_method: str, shipping_method_id: int | None = None
) -> tuple[Order, str]:
    """Turns an anonymous cart (`cart_token`) into a PENDING order for a guest, exactly as
    `order_place_from_cart` does for an account (the same locks, checks, pricing and snapshots), with
    the guest's `email` and the inline `address` (validated by the caller as the address book
    validates one) instead of an account and its address book. Guests pay by card. The order gets a
    guest token (orders.tokens; it keeps only the token's digest and nonce), returned beside it: the
    one time it is handed out, apart from the links e-mailed to `email`. When a verified account has
    that e-mail, the order is that account's at once (orders_attach_guest_orders does it for the
    orders placed before the account was verified).

    Raises what `order_place_from_cart` raises (a voucher's per-customer limit counts the uses of
    this e-mail), and Forbidden(`email_not_verified`) for cash on delivery, which needs an account
    with a verified e-mail."""
    _check_payment_method(payment_method)
    if payment_method == PaymentMethod.COD:
        raise Forbidden(
            "Cash on delivery needs an account with a verified e-mail address; pay by card, or sign in.",
            code=UserErrorCode.EMAIL_NOT_VERIFIED,
            attr="payment_method",
        )
    buyer = _Buyer(cart_token=cart_token, email=BaseUserManager.normalize_email(email.strip()), address=address)
    order = _place_numbered(buyer=buyer, payment_method=payment_method, shipping_method_id=shipping_method_id)
    return order, guest_token_for(number=order.number, nonce=order.guest_token_nonce)


def _check_payment_method(payment_method: str) -> None:
    if payment_method not in PaymentMethod.values:
        raise ValidationFailed(
            f"Unknown payment method {payment_method!r}; use one of: {', '.join(PaymentMethod.values)}.",
            code=OrderErrorCode.INVALID_CHOICE,
            attr="payment_method",
        )


def _place_numbered(*, buyer: _Buyer, payment_method: str, shipping_method_id: int | None) -> Order:
    for _attempt in range(_NUMBER_ATTEMPTS):
        number = order_number_generate()
        try:
            return _place(
                buyer=buyer,
                payment_method=payment_method,
                shipping_method_id=shipping_method_id,
                number=number,
            )
        except IntegrityError:
            # The whole transaction rolled back; a random number drawn twice is the one failure to
            # retry (so the insert needs no savepoint of its own), any other constraint is a bug.
            if not Order.objects.filter(number=number).exists():
                raise
            logger.warning("order number %s collided; placing the order again with another", number)
    raise RuntimeError(f"could not draw a free order number in {_NUMBER_ATTEMPTS} attempts")


def _buyer_address(buyer: _Buyer) -> dict:
    """The address snapshot the order keeps: the account's address book entry, or the guest's."""
    if buyer.address is not None:
        fields = ("full_name", "phone", "line1", "line2", "city", "state", "postal_code", "country", "address_type")
        return Address(**{name: buyer.address[name] for name in fields if name in buyer.address}).as_snapshot()
    address = Address.objects.filter(pk=buyer.address_id, user=buyer.user).first()
    if address is None:
        raise NotFound("Shipping address not found.", code=OrderErrorCode.ADDRESS_NOT_FOUND, attr="shipping_address_id")
    return address.as_snapshot()


def _guest_account(email: str):
    """The verified, active account of a guest's e-mail, which the order then belongs to; else None."""
    return User.objects.filter(email__iexact=email, email_verified=True, is_active=True).first()


def _place(*, buyer: _Buyer, payment_method: str, shipping_method_id: int | None, number: str) -> Order:
    with transaction.atomic():
        address = _buyer_address(buyer)
        user = buyer.user
        if buyer.user is not None:
            cart = lock_user_cart(user=user)
        else:
            token = cart_token_clean(buyer.cart_token)
            cart = lock_anonymous_cart(token=token) if token is not None else None
        destination = Destination(country=address["country"], region=address["state"])
        lines = []
        if cart is not None:
            # The lines cannot change under the cart's lock (every cart write takes it): their products
            # are locked from a subquery of them, then the lines are read with their variants.
            lock_product_ids_of(product_ids=CartItem.objects.filter(cart=cart).values("variant__product_id"))
            lines = sorted(checkout_lines(cart_id=cart.pk, destination=destination), key=lambda line: line.variant_id)
        if not lines:
            raise ValidationFailed("Your cart is empty.", code=OrderErrorCode.CART_EMPTY)
        if payment_method == PaymentMethod.COD:
            # Counted under the cart lock: two checkouts of one customer queue here, so both cannot
            # pass the count. (A customer without a cart row got `cart_empty` above.)
            _check_cod_open_orders(user=user)
        variants = {line.variant_id: line.variant for line in lines}
        _check_lines(lines=lines, variants=variants)
        priced_lines = [(line.pk, line.quantity, variants[line.variant_id]) for line in lines]
        voucher = voucher_terms = None
        if cart.voucher_id is not None:
            # Its use is counted now, which locks the voucher after the stock (CONTRIBUTING "Lock
            # order"), and it is checked again: a refusal rolls the order back with the count.
            voucher = voucher_use_take(voucher_id=cart.voucher_id, user=user, email=buyer.email)
            voucher_terms = voucher_terms_for_checkout(
                voucher=voucher, lines=priced_lines, user_or_email=user or buyer.email
            )
        price = checkout_price(
            lines=priced_lines,
            destination=destination,
            shipping_method_id=shipping_method_id,
            shipping_required=True,
            voucher=voucher_terms,
            tax_rates=checkout_tax_rates(lines),  # read with the lines
        )
        method = price.shipping_method
        if payment_method == PaymentMethod.COD and method is not None and not method.cod_allowed:
            raise ValidationFailed(
                f"{method.name} does not take cash on delivery; pay by card or choose a method that does.",
                code=OrderErrorCode.COD_NOT_ALLOWED,
                attr="payment_method",
            )
        breakdown = price.breakdown

        variants_move_stock(deltas={line.variant_id: -line.quantity for line in lines})
        items = [
            OrderItem(
                product_id=variant.product_id,
                variant_id=variant.pk,
                product_name=variant.product.name,
                sku=variant.sku,
                variant_name=variant.name,
                options=variant.options,
                unit_price=variant.price,
                quantity=line.quantity,
                discount=priced.discount,
                tax=priced.tax,
                line_total=priced.line_total,
            )
            for line in lines
            for variant, priced in ((variants[line.variant_id], breakdown.line(line.pk)),)
        ]
        guest = guest_token_new(number=number) if user is None else None
        order = Order.objects.create(
            number=number,
            user=user if user is not None else _guest_account(buyer.email),
            email=user.email if user is not None else buyer.email,
            guest_token_hash=guest.digest if guest is not None else "",
            guest_token_nonce=guest.nonce if guest is not None else "",
            status=OrderStatus.PENDING,
            payment_method=payment_method,
            shipping_address=address,
            subtotal=breakdown.subtotal,
            discount_total=breakdown.discount_total,
            shipping_total=breakdown.shipping_total,
            tax_total=breakdown.tax_total,
            prices_include_tax=breakdown.prices_include_tax,
            tax_lines=breakdown.as_dict()["tax_lines"],
            shipping_method=method,
            shipping_method_name=method.name if method is not None else "",
            voucher_code=breakdown.voucher or "",
            total=breakdown.total,
            currency=breakdown.currency,
        )
        for item in items:
            item.order = order
        OrderItem.objects.bulk_create(items)
        if voucher is not None:
            voucher_use_record(voucher_id=voucher.voucher.pk, order=order, user=user, email=buyer.email)
        placed = OrderStatusChange.objects.create(
            order=order,
            from_status="",
            to_status=OrderStatus.PENDING,
            actor=user,
            actor_label=str(Actor.CUSTOMER),
            note="Order placed.",
        )
        CartItem.objects.filter(cart=cart).delete()
        if cart.voucher_id is not None:
            Cart.objects.filter(pk=cart.pk).update(voucher=None)  # used: the next cart starts without it
        enqueue_on_commit(send_order_email, order.pk, "confirmation")
        _catalog_changed()
        placed_by = f"user {user.pk}" if user is not None else "a guest"
        logger.info("order %s placed by %s: %s %s", order.number, placed_by, order.total, order.currency)
        return order_as_written(order=order, items=items, status_history=[placed])


def _check_cod_open_orders(*, user) -> None:
    limit = settings.COD_MAX_OPEN_ORDERS
    open_orders = Order.objects.filter(
        user=user, payment_method=PaymentMethod.COD, status__in=ORDER_COD_OPEN_STATUSES
    ).count()
    if open_orders >= limit:
        raise Conflict(
            f"You already have {open_orders} cash-on-delivery order(s) open, the most allowed at once "
            f"({limit}); pay by card or wait until one is delivered.",
            code=OrderErrorCode.TOO_MANY_OPEN_ORDERS,
            attr="payment_method",
        )


def _variant_label(variant: ProductVariant) -> str:
    """ "Tee (M / Red, TEE-M-RED)" or "Lamp (LAMP-1)": what the customer picked, and its SKU."""
    details = f"{variant.name}, {variant.sku}" if variant.name else variant.sku
    return f"{variant.product.name} ({details})"


def _check_lines(*, lines: list[CartItem], variants: dict[int, ProductVariant]) -> None:
    """Reports every line that cannot be ordered, all at once, so the cart can be fixed in one go.
    Each error's attr is `items.<product_id>`, as before variants (clients point at the line by it)."""
    errors: list[ErrorItem] = []
    for line in lines:
        variant = variants.get(line.variant_id)
        attr = f"items.{line.product_id}"
        if variant is None or not variant.is_active or not variant.product.is_active:
            name = _variant_label(variant) if variant else f"Product {line.product_id}"
            errors.append(
                ErrorItem(
                    OrderErrorCode.PRODUCT_UNAVAILABLE,
                    f"{name} is no longer available; remove it from your cart.",
                    attr,
                )
            )
        elif variant.stock < line.quantity:
            errors.append(
                ErrorItem(
                    OrderErrorCode.OUT_OF_STOCK,
                    f"Only {max(variant.stock, 0)} of {_variant_label(variant)} available; "
                    f"you asked for {line.quantity}.",
                    attr,
                )
            )
    if errors:
        raise Conflict(errors=errors)


# --- Guest orders ---------------------------------------------------------------


def orders_attach_guest_orders(*, user) -> int:
    """Gives a verified account the orders placed as a guest with its e-mail (any case), so that
    `orders/my/` shows them: called when the account's e-mail is verified (users.services), never on
    mere registration, since whoever registers an address need not own it. Nothing for an account
    whose e-mail is not verified. The guests' links keep opening their orders. Returns how many."""
    if not user_has_verified_email(user=user) or not user.email:
        return 0
    attached = Order.objects.filter(user__isnull=True, email__iexact=user.email).update(
        user=user, updated_at=timezone.now()
    )
    if attached:
        logger.info("%s guest order(s) attached to user %s", attached, user.pk)
    return attached


def order_guest_link_send(*, number: str, email: str) -> bool:
    """An order lookup (`POST /api/orders/lookup/`): when an order placed as a guest has this number
    and e-mail (any case, spaces around ignored), gives it a new guest token (every earlier link stops
    working) and mails the link to that e-mail after commit. The caller answers the same whatever
    this finds, so the lookup tells nobody which orders exist. Returns whether a link was sent."""
    order = (
        # Numbers are upper case (order_number_generate): an exact match uses the unique index.
        Order.objects.filter(number=number.strip().upper(), email__iexact=email.strip())
        .exclude(guest_token_hash="")
        .only("pk", "number")
        .first()
    )
    if order is None:
        return False
    guest = guest_token_new(number=order.number)
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(guest_token_hash=guest.digest, guest_token_nonce=guest.nonce)
        enqueue_on_commit(send_order_email, order.pk, "guest_link")
    logger.info("order %s: a new guest link was mailed", order.number)
    return True


# --- Expiry -------------------------------------------------------------------


def order_cancel_expired(*, now=None) -> int:
    """Cancels the orders that hold stock without a customer or staff acting on them: card orders
    still unpaid `ORDER_PAYMENT_TIMEOUT_MINUTES` after they were placed, and cash-on-delivery orders
    staff have not confirmed within `COD_CONFIRMATION_HOURS`, putting their stock back. Each order
    goes through `order_transition` in its own transaction, so one failure (logged) does not stop
    the others, and an order paid or confirmed in the meantime stays as it is.
    Returns how many orders were cancelled."""
    now = now or timezone.now()
    minutes = settings.ORDER_PAYMENT_TIMEOUT_MINUTES
    hours = settings.COD_CONFIRMATION_HOURS
    rules = (
        (PaymentMethod.CARD, now - timedelta(minutes=minutes), f"Not paid within {minutes} minutes."),
        (PaymentMethod.COD, now - timedelta(hours=hours), f"Not confirmed within {hours} hours."),
    )
    expired = [
        (order_id, note)
        for method, cutoff, note in rules
        for order_id in Order.objects.filter(
            status=OrderStatus.PENDING, payment_method=method, created_at__lt=cutoff
        ).values_list("pk", flat=True)
    ]
    cancelled = 0
    for order_id, note in expired:
        try:
            order = order_transition(
                order_id=order_id,
                to_status=OrderStatus.CANCELLED,
                actor=Actor.SYSTEM,
                note=note,
            )
        except ServiceError as exc:
            # Typically paid between the query and the lock: nothing to cancel.
            logger.info("expired order %s not cancelled: %s", order_id, exc)
            continue
        except Exception:
            logger.exception("could not cancel expired order %s", order_id)
            continue
        if order.status == OrderStatus.CANCELLED:
            cancelled += 1
    if cancelled:
        logger.info("cancelled %s expired order(s)", cancelled)
    return cancelled


# --- Shipping zones -------------------------------------------------------------------------


def shipping_countries_parse(text) -> list[str]:
    """ "gb, IE  de" -> ["DE", "GB", "IE"]: a zone's countries, each an ISO 3166-1 alpha-2 code, each
    once. Raises `invalid` (400) naming the codes that are not countries, or when none is given."""
    words = text if isinstance(text, list | tuple) else str(text or "").replace(",", " ").split()
    codes = sorted({str(word).strip().upper() for word in words if str(word).strip()})
    unknown = [code for code in codes if code not in COUNTRY_CODES]
    if unknown or not codes:
        raise ValidationFailed(
            f"Not ISO country codes: {', '.join(unknown)}." if unknown else "Name at least one country.",
            code=OrderErrorCode.INVALID,
            attr="countries",
        )
    return codes
