"""Voucher writes and the rules a code must pass: applying a code to a cart, counting a use inside the
order transaction and giving it back, and the staff writes (including the admin's code generator).

Vouchers have a module of their own beside orders/services.py: their rules are needed by the cart
(apply), by pricing (the preview) and by order placement and cancellation, and keeping them here
keeps every one of those callers on the same few functions. Reads are in orders/selectors.py
(`voucher_get_by_code`, `voucher_scope_get`, `voucher_checkout_get`, `voucher_eligible_subtotal`,
`voucher_list`).

Locks (CONTRIBUTING.md, "Lock order"): a cart write locks the cart row (cart.lock_objects), like
every cart write; whatever counts uses or changes a voucher's limits locks the voucher row, which
comes after the cart and product locks and before the order's: staff writes and cancellations with
orders.lock_objects.lock_voucher, a checkout with the update that counts its use. The counter moves
with that one conditional UPDATE (`used_count < usage_limit`), so the limit holds under any
concurrency, and whatever is checked after it (the per-customer limit) is read under its lock; the
database's CHECK constraint is the last defence.
"""

import logging
import re
import secrets
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from cart.error_codes import CartErrorCode
from cart.lock_objects import lock_cart
from cart.models import Cart
from cart.selectors import CartSummary, cart_get_for_owner, cart_get_with_lines, cart_summarize
from novacart.exceptions import Conflict, NotFound, ServiceError, ValidationFailed

from .error_codes import OrderErrorCode
from .lock_objects import lock_voucher
from .models import Order, Voucher, VoucherKind, VoucherRedemption
from .pricing import VoucherTerms, lines_subtotal, price_checkout
from .selectors import (
    CheckoutVoucher,
    pricing_lines,
    voucher_checkout_get,
    voucher_code_normalize,
    voucher_customer_q,
    voucher_eligible_subtotal,
    voucher_get_by_code,
    voucher_scope_get,
)

logger = logging.getLogger(__name__)

# One detail for an unknown code, an inactive one and one that has not started: nothing to tell apart.
INVALID_DETAIL = "This voucher code is not valid."
# What staff may choose as a code: letters, digits, `-` and `_`, as customers type them.
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,63}$")
# Generated codes: no 0/O or 1/I to misread; 10 characters of 32 are 50 random bits.
GENERATED_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_LENGTH = 10
PREFIX_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
# The fields of a voucher staff write besides its categories and products.
VOUCHER_FIELDS = (
    "code",
    "kind",
    "value",
    "min_subtotal",
    "starts_at",
    "ends_at",
    "usage_limit",
    "per_customer_limit",
    "is_active",
)


# --- The rules -----------------------------------------------------------------------------------


def _invalid() -> ValidationFailed:
    return ValidationFailed(INVALID_DETAIL, code=OrderErrorCode.VOUCHER_INVALID, attr="code")


def _exhausted(detail: str) -> Conflict:
    return Conflict(detail, code=OrderErrorCode.VOUCHER_EXHAUSTED, attr="code")


def _check_usable(
    *, voucher: Voucher | None, user_or_email, now: datetime, customer_uses: int | None = None, use_taken=False
) -> Voucher:
    """The rules that do not depend on the cart: exists and active, within its dates, uses left (in
    all and for this customer). `customer_uses`: the customer's uses as read with the voucher
    (selectors.voucher_checkout_get), else counted here; `use_taken`: the voucher's `used_count`
    already holds this checkout's use (voucher_use_take), which is not an earlier one."""
    if voucher is None or not voucher.is_active or voucher.starts_at > now:
        raise _invalid()
    if voucher.ends_at is not None and voucher.ends_at <= now:
        raise ValidationFailed("This voucher has expired.", code=OrderErrorCode.VOUCHER_EXPIRED, attr="code")
    earlier_uses = voucher.used_count - 1 if use_taken else voucher.used_count
    if voucher.usage_limit is not None and earlier_uses >= voucher.usage_limit:
        raise _exhausted("This voucher has been used up.")
    customer = voucher_customer_q(user_or_email)
    if voucher.per_customer_limit is not None and customer is not None:
        used = customer_uses
        if used is None:
            used = VoucherRedemption.objects.filter(customer, voucher=voucher).count()
        if used >= voucher.per_customer_limit:
            times = "once" if voucher.per_customer_limit == 1 else f"{voucher.per_customer_limit} times"
            raise _exhausted(f"You have already used this voucher; it can be used {times} per customer.")
    return voucher


def _check_applicable(*, voucher: Voucher, subtotal: Decimal, eligible_subtotal: Decimal) -> None:
    """The rules that depend on the cart: something in it is eligible, and its minimum subtotal."""
    if eligible_subtotal <= 0:
        raise ValidationFailed(
            "Nothing in your cart is eligible for this voucher.",
            code=OrderErrorCode.VOUCHER_NOT_APPLICABLE,
            attr="code",
        )
    if voucher.min_subtotal is not None and subtotal < voucher.min_subtotal:
        raise ValidationFailed(
            f"This voucher needs a subtotal of at least {voucher.min_subtotal} {settings.STORE_CURRENCY.upper()}; "
            f"your cart's is {subtotal}.",
            code=OrderErrorCode.VOUCHER_MIN_SUBTOTAL,
            attr="code",
        )


def voucher_check(
    *,
    voucher: Voucher | None,
    user_or_email,
    subtotal: Decimal,
    eligible_subtotal: Decimal,
    now: datetime | None = None,
    customer_uses: int | None = None,
) -> Voucher:
    """Whether `voucher` may be used now by this customer on a cart of `subtotal` (before discounts),
    `eligible_subtotal` of which is what the voucher applies to (selectors.voucher_eligible_subtotal).
    `user_or_email` is the user, a guest's e-mail, or None for an anonymous cart (whose per-customer
    limit is counted at checkout, with the e-mail the guest gives); `customer_uses` their uses so far
    when the caller read them with the voucher (else counted here). Reads only; returns the voucher.

    Raises, in this order: ValidationFailed `voucher_invalid` for no voucher (an unknown code), an
    inactive one and one whose `starts_at` is still to come, all with the same detail, so a guesser
    learns nothing and a campaign cannot be found before it starts; `voucher_expired` from `ends_at`
    on; Conflict `voucher_exhausted` when its `usage_limit` is reached or this customer's
    `per_customer_limit` (uses by the account, or by its e-mail as a guest); ValidationFailed
    `voucher_not_applicable` when no line of the cart is eligible (an empty cart included), and
    `voucher_min_subtotal` when `subtotal` is under `min_subtotal`. Every error's attr is `code`."""
    now = now or timezone.now()
    voucher = _check_usable(voucher=voucher, user_or_email=user_or_email, now=now, customer_uses=customer_uses)
    _check_applicable(voucher=voucher, subtotal=subtotal, eligible_subtotal=eligible_subtotal)
    return voucher


# --- The cart's voucher -------------------------------------------------------------------------


def _owner(user):
    return user if user is not None and user.is_authenticated else None


def cart_voucher_apply(*, user, cart_token: str | None, code: str, now: datetime | None = None) -> Cart | None:
    """Applies the voucher of `code` (any case, spaces around ignored) to the owner's cart, in place
    of any voucher it had (one per cart); applying the code it already has changes nothing. The
    voucher must pass `voucher_check` for the cart as it is now; pricing checks it again on every
    preview and order. A client without a cart has nothing a voucher could apply to: no cart is
    made, and the answer is what an empty cart gets. Locks the cart row, like every cart write.

    Raises what `voucher_check` raises (attr `code`), and NotFound `cart_not_found` when an
    anonymous cart went away (merged into a login, purged) during the call."""
    now = now or timezone.now()
    owner = _owner(user)
    voucher = voucher_get_by_code(code=code)
    cart = cart_get_for_owner(user=owner, cart_token=cart_token)
    if cart is None:
        voucher_check(voucher=voucher, user_or_email=owner, subtotal=Decimal("0.00"), eligible_subtotal=Decimal(0))
        return None  # unreachable: no cart, no eligible line
    with transaction.atomic():
        if lock_cart(cart_id=cart.pk) is None:
            raise NotFound("This cart no longer exists; start a new one.", code=CartErrorCode.CART_NOT_FOUND)
        summary = cart_summarize(cart=cart_get_with_lines(cart_id=cart.pk))
        eligible = Decimal(0)
        if voucher is not None:
            eligible = voucher_eligible_subtotal(scope=voucher_scope_get(voucher=voucher), lines=summary.lines)
        voucher = voucher_check(
            voucher=voucher, user_or_email=owner, subtotal=summary.subtotal, eligible_subtotal=eligible, now=now
        )
        Cart.objects.filter(pk=cart.pk).update(voucher=voucher, updated_at=now)
    logger.info("voucher %s applied to cart %s", voucher.code, cart.pk)
    return cart


def cart_voucher_remove(*, user, cart_token: str | None) -> Cart | None:
    """Takes the voucher off the owner's cart. Nothing to do (and no error) without a cart or without
    a voucher on it. Locks the cart row. Returns the cart (None without one)."""
    cart = cart_get_for_owner(user=_owner(user), cart_token=cart_token)
    if cart is None:
        return None
    with transaction.atomic():
        if lock_cart(cart_id=cart.pk) is None:
            return None
        Cart.objects.filter(pk=cart.pk, voucher__isnull=False).update(voucher=None, updated_at=timezone.now())
    return cart


# --- Counting uses: called by order placement and cancellation, inside their transactions --------


def _redeemer(user, email: str) -> tuple:
    """Who a use is counted for: the account (None for a guest) and the e-mail, lower-cased (a guest's
    as given, else the account's)."""
    customer = user if user is not None and getattr(user, "is_authenticated", False) else None
    return customer, (email or (customer.email if customer is not None else "")).strip().lower()


def voucher_use_take(*, voucher_id: int, user=None, email: str = "", now: datetime | None = None) -> CheckoutVoucher:
    """Counts one use of the voucher for a checkout, inside its transaction, after the cart and product
    locks: the one conditional UPDATE (`used_count < usage_limit`) that adds the use is also what
    locks the voucher row (CONTRIBUTING "Lock order"), to the end of the transaction, so however many
    checkouts race for the last use exactly one gets it. Then, under that lock, reads the voucher
    with its scope and this customer's earlier uses (`user`, and `email`, lower-cased, which is how a
    guest is known; selectors.voucher_checkout_get: one query) and checks the rules that do not depend
    on the cart. Returns the voucher as pricing takes it (`voucher_terms_for_checkout`); record the
    use once the order exists (`voucher_use_record`).

    Raises ValidationFailed `voucher_invalid` for a voucher that is gone, inactive or not started and
    `voucher_expired` past its end, Conflict `voucher_exhausted` when no use is left or the customer
    reached `per_customer_limit`; a refusal takes back the use it added, so nothing changes."""
    now = now or timezone.now()
    customer, email = _redeemer(user, email)
    taken = (
        Voucher.objects.filter(pk=voucher_id)
        .filter(Q(usage_limit__isnull=True) | Q(used_count__lt=F("usage_limit")))
        .update(used_count=F("used_count") + 1)
    )
    checkout = voucher_checkout_get(voucher_id=voucher_id, user_or_email=customer or email or None)
    try:
        _check_usable(
            voucher=checkout.voucher if checkout is not None else None,
            user_or_email=customer or email or None,
            now=now,
            customer_uses=checkout.customer_uses if checkout is not None else None,
            use_taken=bool(taken),
        )
        if not taken:  # no use was left when the update ran (one may have been given back since)
            raise _exhausted("This voucher has been used up.")
    except ServiceError:
        if taken:  # still under the lock the update took
            Voucher.objects.filter(pk=voucher_id).update(used_count=F("used_count") - 1)
        raise
    return replace(checkout, use_taken=True)


def voucher_use_record(*, voucher_id: int, order: Order, user=None, email: str = "") -> VoucherRedemption:
    """Records the use `voucher_use_take` counted, for `order` (its row must exist): the
    VoucherRedemption that the per-customer limit counts and `voucher_release` deletes."""
    customer, email = _redeemer(user, email)
    redemption = VoucherRedemption.objects.create(voucher_id=voucher_id, order=order, user=customer, email=email)
    logger.info("voucher %s used by order %s", voucher_id, order.pk)
    return redemption


def voucher_redeem(*, voucher_id: int, order: Order, user=None, email: str = "") -> VoucherRedemption:
    """Counts one use of the voucher for an existing `order` and records it (`voucher_use_take`, then
    `voucher_use_record`, as order placement does around the order's insert), inside the caller's
    transaction. Locks the voucher row first, so that calling it again for an order that has its
    redemption counts nothing and returns that redemption. Raises what `voucher_use_take` raises.

    The cart-dependent rules (eligible lines, minimum subtotal) are `voucher_check`'s, which the
    caller runs on the priced cart."""
    lock_voucher(voucher_id=voucher_id)
    existing = VoucherRedemption.objects.filter(order=order).first()
    if existing is not None:
        return existing
    voucher_use_take(voucher_id=voucher_id, user=user, email=email)
    return voucher_use_record(voucher_id=voucher_id, order=order, user=user, email=email)


def voucher_release(*, order: Order) -> bool:
    """Gives back the use `order` took, when it is cancelled or expires: deletes its redemption and
    takes one off the voucher's `used_count`. Idempotent: an order whose use was given back already,
    or that used no voucher, changes nothing (False). Call it inside the cancellation's transaction;
    to keep the lock order, take the voucher's lock before the order's (`lock_order_voucher`). It
    locks the voucher itself too (a no-op then), so a redemption is never given back twice."""
    with transaction.atomic():
        row = VoucherRedemption.objects.filter(order_id=order.pk).values_list("pk", "voucher_id").first()
        if row is None:
            return False
        redemption_id, voucher_id = row
        lock_voucher(voucher_id=voucher_id)
        deleted, _ = VoucherRedemption.objects.filter(pk=redemption_id).delete()
        if not deleted:  # a concurrent release gave it back while we waited for the lock
            return False
        Voucher.objects.filter(pk=voucher_id, used_count__gt=0).update(used_count=F("used_count") - 1)
    logger.info("voucher %s: the use of order %s given back", voucher_id, order.pk)
    return True


# --- Staff writes ---------------------------------------------------------------------------------


def voucher_terms_validate(
    *,
    kind: str,
    value: Decimal | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    usage_limit: int | None,
    used_count: int = 0,
) -> None:
    """The rules of a voucher's terms, for the API and the admin alike. Raises ValidationFailed
    `invalid` naming the field: a percentage above 0 and at most 100, a fixed amount above 0, free
    shipping with the value 0; an end after the start; a usage limit not under the uses so far."""
    if kind not in VoucherKind.values:
        raise ValidationFailed(
            f"Unknown kind; use one of: {', '.join(VoucherKind.values)}.", code=OrderErrorCode.INVALID, attr="kind"
        )
    value = Decimal(value if value is not None else 0)
    if kind == VoucherKind.PERCENT and not Decimal(0) < value <= Decimal(100):
        raise ValidationFailed(
            "A percentage is more than 0 and at most 100 (10 for 10%).", code=OrderErrorCode.INVALID, attr="value"
        )
    if kind == VoucherKind.FIXED and value <= 0:
        raise ValidationFailed("A fixed amount off is more than 0.", code=OrderErrorCode.INVALID, attr="value")
    if kind == VoucherKind.FREE_SHIPPING and value != 0:
        raise ValidationFailed(
            "A free-shipping voucher has no value: leave it out or send 0.", code=OrderErrorCode.INVALID, attr="value"
        )
    if ends_at is not None and starts_at is not None and ends_at <= starts_at:
        raise ValidationFailed("A voucher must end after it starts.", code=OrderErrorCode.INVALID, attr="ends_at")
    if usage_limit is not None and usage_limit < used_count:
        raise ValidationFailed(
            f"This voucher has been used {used_count} times already: the usage limit cannot be lower.",
            code=OrderErrorCode.INVALID,
            attr="usage_limit",
        )


def voucher_code_clean(code: str | None) -> str:
    """A code as staff give it, trimmed and upper-cased. Raises ValidationFailed `invalid` unless it is
    3 to 64 letters, digits, `-` or `_`, starting with a letter or digit."""
    normalized = voucher_code_normalize(code)
    if not CODE_PATTERN.fullmatch(normalized):
        raise ValidationFailed(
            "A code is 3 to 64 letters, digits, '-' or '_', starting with a letter or a digit.",
            code=OrderErrorCode.INVALID,
            attr="code",
        )
    return normalized


def _code_taken() -> ValidationFailed:
    return ValidationFailed(
        "A voucher with this code already exists (codes are the same whatever their case).",
        code=OrderErrorCode.VOUCHER_CODE_TAKEN,
        attr="code",
    )


def _save_relations(voucher: Voucher, data: dict) -> None:
    if "categories" in data:
        voucher.categories.set(data["categories"])
    if "products" in data:
        voucher.products.set(data["products"])


def voucher_create(*, data: dict) -> Voucher:
    """Creates a voucher from staff input: the fields of VOUCHER_FIELDS and optionally `categories`
    and `products` (instances or ids). `value` defaults to 0 (what free shipping takes), `starts_at`
    to now. Raises ValidationFailed `invalid` (the code's form, `voucher_terms_validate`) and
    `voucher_code_taken` for a code another voucher has in any case."""
    fields = {name: data[name] for name in VOUCHER_FIELDS if name in data}
    fields["code"] = voucher_code_clean(fields.get("code"))
    fields.setdefault("value", Decimal("0.00"))
    fields["starts_at"] = fields.get("starts_at") or timezone.now()
    voucher_terms_validate(
        kind=fields.get("kind", ""),
        value=fields["value"],
        starts_at=fields["starts_at"],
        ends_at=fields.get("ends_at"),
        usage_limit=fields.get("usage_limit"),
    )
    if Voucher.objects.filter(code=fields["code"]).exists():
        raise _code_taken()
    try:
        with transaction.atomic():
            voucher = Voucher.objects.create(**fields)
            _save_relations(voucher, data)
    except IntegrityError:
        if Voucher.objects.filter(code=fields["code"]).exists():
            raise _code_taken() from None  # a concurrent create took it between the check and the insert
        raise
    logger.info("voucher %s created", voucher.code)
    return voucher


def voucher_update(*, voucher_id: int, data: dict) -> Voucher:
    """Changes the fields of `data` (those of VOUCHER_FIELDS, `categories`, `products`). Locks the
    voucher row, so a usage limit is checked against the uses counted so far and `used_count` is never
    written (it moves only through `voucher_redeem` and `voucher_release`). Raises NotFound, and what
    `voucher_create` raises."""
    with transaction.atomic():
        voucher = lock_voucher(voucher_id=voucher_id)
        if voucher is None:
            raise NotFound("Voucher not found.")
        fields = {name: data[name] for name in VOUCHER_FIELDS if name in data}
        if "code" in fields:
            fields["code"] = voucher_code_clean(fields["code"])
            if Voucher.objects.filter(code=fields["code"]).exclude(pk=voucher.pk).exists():
                raise _code_taken()
        if fields.get("kind") == VoucherKind.FREE_SHIPPING and "value" not in fields:
            fields["value"] = Decimal("0.00")
        if "starts_at" in fields and fields["starts_at"] is None:
            fields["starts_at"] = voucher.starts_at
        for name, value in fields.items():
            setattr(voucher, name, value)
        voucher_terms_validate(
            kind=voucher.kind,
            value=voucher.value,
            starts_at=voucher.starts_at,
            ends_at=voucher.ends_at,
            usage_limit=voucher.usage_limit,
            used_count=voucher.used_count,
        )
        if fields:
            voucher.save(update_fields=[*fields, "updated_at"])
        _save_relations(voucher, data)
    return voucher


def voucher_delete(*, voucher_id: int) -> bool:
    """Deletes a voucher no order has used (True); one with uses (counted now, or redemptions on
    record) is deactivated instead, so the orders' history keeps it (False). Either way it can no
    longer be applied, and carts holding it lose it (deleted) or are refused it at checkout. Locks the
    voucher row, so a checkout using it at the same moment is seen. Raises NotFound."""
    with transaction.atomic():
        voucher = lock_voucher(voucher_id=voucher_id)
        if voucher is None:
            raise NotFound("Voucher not found.")
        if voucher.used_count == 0 and not VoucherRedemption.objects.filter(voucher=voucher).exists():
            voucher.delete()
            logger.info("voucher %s deleted", voucher.code)
            return True
        if voucher.is_active:
            voucher.is_active = False
            voucher.save(update_fields=["is_active", "updated_at"])
        logger.info("voucher %s deactivated (it has been used)", voucher.code)
        return False


def _draw_code(prefix: str) -> str:
    return f"{prefix}-" + "".join(secrets.choice(GENERATED_ALPHABET) for _ in range(GENERATED_LENGTH))


def voucher_codes_generate(
    *,
    count: int,
    prefix: str,
    kind: str,
    value: Decimal,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    min_subtotal: Decimal | None = None,
    template: Voucher | None = None,
) -> list[Voucher]:
    """Creates `count` single-use vouchers (`usage_limit` 1) with random codes `PREFIX-XXXXXXXXXX`
    (10 characters of an alphabet without 0/O and 1/I: 50 bits from `secrets`, so the codes cannot be
    guessed from each other), all with these terms, and the categories and products of `template`
    when given (the admin action generates codes like the selected voucher). One transaction: all
    or none. Raises ValidationFailed `invalid` for a count outside 1..VOUCHER_GENERATE_MAX, a prefix
    that is not 1 to 20 letters, digits, `-` or `_`, and terms `voucher_terms_validate` refuses."""
    limit = settings.VOUCHER_GENERATE_MAX
    if not 1 <= count <= limit:
        raise ValidationFailed(
            f"Generate between 1 and {limit} codes at a time.", code=OrderErrorCode.INVALID, attr="count"
        )
    prefix = voucher_code_normalize(prefix)
    if not PREFIX_PATTERN.fullmatch(prefix):
        raise ValidationFailed(
            "A prefix is 1 to 20 letters, digits, '-' or '_'.", code=OrderErrorCode.INVALID, attr="prefix"
        )
    starts_at = starts_at or timezone.now()
    value = Decimal(value if value is not None else 0)
    voucher_terms_validate(kind=kind, value=value, starts_at=starts_at, ends_at=ends_at, usage_limit=1)
    codes: set[str] = set()
    while len(codes) < count:
        drawn = {_draw_code(prefix) for _ in range(count - len(codes))}
        codes |= drawn - set(Voucher.objects.filter(code__in=drawn).values_list("code", flat=True))
    terms = {
        "kind": kind,
        "value": value,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "min_subtotal": min_subtotal,
        "usage_limit": 1,
    }
    with transaction.atomic():
        Voucher.objects.bulk_create([Voucher(code=code, **terms) for code in sorted(codes)])
        vouchers = list(Voucher.objects.filter(code__in=codes).order_by("code"))
        if template is not None:
            category_ids = list(template.categories.values_list("pk", flat=True))
            product_ids = list(template.products.values_list("pk", flat=True))
            Voucher.categories.through.objects.bulk_create(
                [Voucher.categories.through(voucher=v, category_id=c) for v in vouchers for c in category_ids]
            )
            Voucher.products.through.objects.bulk_create(
                [Voucher.products.through(voucher=v, product_id=p) for v in vouchers for p in product_ids]
            )
    logger.info("generated %s single-use vouchers %s-...", len(vouchers), prefix)
    return vouchers


# --- At checkout: the cart's voucher as pricing takes it ----------------------------------------


def voucher_terms_for_checkout(*, voucher: CheckoutVoucher | None, lines, user_or_email) -> VoucherTerms:
    """The voucher of a cart being priced (preview) or ordered (`selectors.voucher_checkout_get`, or
    `voucher_use_take` at checkout), checked again on the cart as it is now (`voucher_check`: still
    valid, not used up, applicable, over its minimum subtotal; only the last two for a use taken, whose
    other rules were checked as it was counted), as the `orders.pricing.VoucherTerms` that
    `selectors.checkout_price` takes. `lines` are pricing's (key, quantity, variant) triples
    (`selectors.pricing_lines`). `voucher` None (a cart whose voucher was deleted) is
    `voucher_invalid`, like any code no longer valid. Raises what `voucher_check` raises. Reads nothing."""
    if voucher is None:
        raise _invalid()
    scope = voucher.scope
    terms = VoucherTerms(
        code=scope.code,
        kind=scope.kind,
        value=scope.value,
        product_ids=scope.product_ids or None,
        category_ids=scope.category_ids or None,
    )
    priced = pricing_lines(lines)
    currency = settings.STORE_CURRENCY
    subtotal = lines_subtotal(lines=priced, currency=currency)
    eligible = lines_subtotal(lines=[line for line in priced if terms.applies_to(line)], currency=currency)
    if voucher.use_taken:
        _check_applicable(voucher=voucher.voucher, subtotal=subtotal, eligible_subtotal=eligible)
    else:
        voucher_check(
            voucher=voucher.voucher,
            user_or_email=user_or_email,
            subtotal=subtotal,
            eligible_subtotal=eligible,
            customer_uses=voucher.customer_uses,
        )
    return terms


# --- In the cart: what its voucher takes off now ------------------------------------------------


def cart_summarize_with_voucher(*, cart: Cart | None, user) -> CartSummary:
    """The cart as every cart response shows it: `cart.selectors.cart_summarize` of `cart` (loaded
    with its lines; None for a client without a cart) with what its voucher takes off now.

    The voucher is checked and priced as the checkout preview and the order do it: checked again on
    the cart as it is (`voucher_terms_for_checkout`, for `user`, or without a customer for an
    anonymous cart), then the lines priced by `orders.pricing.price_checkout` with it; its
    `discount_total` is the cart's. The discount comes before shipping and tax, so no destination is
    needed: the preview of this cart shows the same discount, whatever the address. A free-shipping
    voucher takes 0.00 off the lines (shipping is free at the preview).

    A voucher the checkout would refuse now (expired, used up, deactivated, under its minimum
    subtotal, nothing in the cart eligible) stays on the cart and takes 0.00 off; the summary names
    the refusal the preview and the order would answer with (`voucher_problem`: its code and detail),
    so the shop can tell the shopper why, who may still fix the cart (reach the minimum) or remove the
    voucher. Reads nothing more without a voucher; with one, one query for it with its scope and, for
    a signed-in customer and a per-customer limit, their uses (`selectors.voucher_checkout_get`; two
    when it names categories)."""
    summary = cart_summarize(cart=cart)
    if cart is None or cart.voucher_id is None:
        return summary
    lines = []
    for line in summary.lines:
        line.item.variant.product = line.item.product  # read with the line: the variant's own product
        lines.append((line.item.pk, line.item.quantity, line.item.variant))
    try:
        customer = _owner(user)
        voucher = voucher_checkout_get(voucher_id=cart.voucher_id, user_or_email=customer)
        terms = voucher_terms_for_checkout(voucher=voucher, lines=lines, user_or_email=customer)
    except (ValidationFailed, Conflict) as refusal:
        return replace(summary, voucher_problem=refusal.errors[0])
    price = price_checkout(
        lines=pricing_lines(lines),
        currency=settings.STORE_CURRENCY,
        prices_include_tax=settings.PRICES_INCLUDE_TAX,
        tax_rates={},
        voucher=terms,
    )
    return replace(summary, discount_total=price.discount_total)
