"""Cart writes: adding, changing and removing lines, merging an anonymous cart on login, purging
stale anonymous carts.

Locks are taken in the project's one order (CONTRIBUTING.md; cart/lock_objects.py): cart rows first (by
primary key when there are two), then product rows sorted by primary key, whose lock every write of
a variant's stock holds: a line's variant is read after its product's lock, so the stock it is
capped at is the latest committed. Every write to a cart holds its cart row lock, which is what
keeps two concurrent adds of one variant to one line, and marks the cart as used (`updated_at`, in
the locking statement). A line is one variant of a product.
"""

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from novacart.exceptions import Conflict, NotFound, ValidationFailed
from products.lock_objects import lock_product_ids, lock_product_ids_of
from products.models import ProductVariant

from .error_codes import CartErrorCode
from .lock_objects import (
    lock_cart_touching,
    lock_carts,
    lock_user_cart_creating,
    lock_user_cart_touching,
)
from .models import Cart, CartItem
from .selectors import cart_get_for_owner, cart_token_clean

logger = logging.getLogger(__name__)

# settings.CART_MAX_LINES, read once at import (tests patch this module attribute).
CART_MAX_LINES = settings.CART_MAX_LINES


@dataclass(frozen=True)
class CartAddResult:
    """The cart (as `cart.lock_objects` hands it back) and whether the add made a new line."""

    cart: Cart
    created: bool


def _variant_label(variant: ProductVariant) -> str:
    return f"{variant.product.name} ({variant.name})" if variant.name else variant.product.name


def _check_quantity(*, variant: ProductVariant, quantity: int, in_cart: int = 0) -> None:
    """`quantity` is what the line would hold; `in_cart` what it holds now (for the message)."""
    if quantity > settings.CART_MAX_QUANTITY:
        raise ValidationFailed(
            f"A cart line holds at most {settings.CART_MAX_QUANTITY} units"
            + (f"; your cart already has {in_cart}." if in_cart else "."),
            code=CartErrorCode.QUANTITY_LIMIT_EXCEEDED,
            attr="quantity",
        )
    if quantity > variant.stock:
        already = f" Your cart already has {in_cart}." if in_cart else ""
        raise Conflict(
            f"Only {max(variant.stock, 0)} of '{_variant_label(variant)}' ({variant.sku}) available.{already}",
            code=CartErrorCode.OUT_OF_STOCK,
            attr="quantity",
        )


def _variant_for_add(*, cart: Cart, variant_id: int | None, product_id: int | None) -> ProductVariant:
    """The variant a cart add means: `variant_id` (an active variant of an active product), or the
    one variant on sale of `product_id` (a product sold in one form), read with its product, with its
    line in `cart` (`line_id`, `line_quantity`: None without one) and the cart's number of lines
    (`cart_lines`): one query. Read it under the product's lock. Raises `product_unavailable` (400)
    for anything not on sale, `variant_required` (400) for a product with several variants."""
    line = CartItem.objects.filter(cart_id=cart.pk, variant_id=OuterRef("pk"))
    lines = CartItem.objects.filter(cart_id=cart.pk).order_by().values("cart_id").annotate(n=Count("pk")).values("n")
    on_sale = (
        ProductVariant.objects.select_related("product")
        .filter(is_active=True, product__is_active=True)
        .annotate(
            line_id=Subquery(line.values("pk")[:1]),
            line_quantity=Subquery(line.values("quantity")[:1]),
            cart_lines=Coalesce(Subquery(lines), 0),
        )
    )
    if variant_id is not None:
        variant = on_sale.filter(pk=variant_id).first()
        if variant is None or (product_id is not None and variant.product_id != product_id):
            raise _product_unavailable(attr="variant_id")
        return variant
    variants = list(on_sale.filter(product_id=product_id).order_by("pk")[:2])
    if not variants:
        raise _product_unavailable()
    if len(variants) > 1:
        raise ValidationFailed(
            "This product comes in several variants (sizes, colours...): add one by its variant_id.",
            code=CartErrorCode.VARIANT_REQUIRED,
            attr="variant_id",
        )
    return variants[0]


def _product_unavailable(*, attr: str | None = "product_id") -> ValidationFailed:
    return ValidationFailed(
        "This product does not exist or is no longer sold.", code=CartErrorCode.PRODUCT_UNAVAILABLE, attr=attr
    )


def _line_not_found() -> NotFound:
    return NotFound("No such line in your cart.", code=CartErrorCode.CART_ITEM_NOT_FOUND)


def _lock_owner_cart(*, user, cart_token: str | None, now, create: bool = False) -> Cart | None:
    """The owner's cart, locked for the caller's transaction and touched (`updated_at = now`): the
    user's (X-Cart-Token ignored), or for an anonymous client the cart of its token; None without
    one. With `create`, a client without a cart gets a new one (a missing, malformed or unknown token
    too): a user's cart is made, or locked, in one statement, so two first adds make one cart.

    An anonymous cart is looked up by its token, then locked by its id. When it went away in between
    (merged into a login, purged) that is None, and with `create` NotFound `cart_not_found` (404):
    the client learns that its cart is gone rather than getting a new one without a word."""
    if user is not None and user.is_authenticated:
        if create:
            return lock_user_cart_creating(user=user, now=now)
        return lock_user_cart_touching(user=user, now=now)
    found = cart_get_for_owner(user=None, cart_token=cart_token)
    if found is None:
        return Cart.objects.create(user=None) if create else None
    cart = lock_cart_touching(cart_id=found.pk, now=now)
    if cart is None and create:
        raise NotFound("This cart no longer exists; start a new one.", code=CartErrorCode.CART_NOT_FOUND)
    return cart


def cart_add_item(
    *,
    user,
    cart_token: str | None,
    quantity: int,
    variant_id: int | None = None,
    product_id: int | None = None,
) -> CartAddResult:
    """Adds `quantity` units of a variant to the owner's cart, growing the existing line for that
    variant (never a second line). The variant is `variant_id`, or the only variant on sale of
    `product_id` (the form of clients that know no variants). Creates the cart when there is none.

    Raises `product_unavailable` (400) for an unknown or inactive product or variant,
    `variant_required` (400) for `product_id` alone on a product with several variants, `quantity_limit_exceeded`
    (400) past settings.CART_MAX_QUANTITY per line, `cart_full` (400) past settings.CART_MAX_LINES lines,
    `out_of_stock` (409) when the line would hold more than the stock, and `cart_not_found` (404) when
    an anonymous cart went away (merged into a login, purged) during the call.

    Locks the cart (making it first when there is none), then the variant's product; the variant is
    read after that lock, so the stock the line is capped at is the latest committed. A refusal rolls
    back everything, a new cart included."""
    now = timezone.now()
    with transaction.atomic():
        cart = _lock_owner_cart(user=user, cart_token=cart_token, now=now, create=True)
        if variant_id is not None:
            lock_product_ids_of(product_ids=ProductVariant.objects.filter(pk=variant_id).values("product_id"))
        else:
            lock_product_ids(product_ids=[product_id])
        variant = _variant_for_add(cart=cart, variant_id=variant_id, product_id=product_id)
        created = variant.line_id is None
        in_cart = 0 if created else variant.line_quantity
        if created and variant.cart_lines >= CART_MAX_LINES:
            raise ValidationFailed(
                f"A cart holds at most {CART_MAX_LINES} different products.",
                code=CartErrorCode.CART_FULL,
                attr="variant_id" if variant_id is not None else "product_id",
            )
        _check_quantity(variant=variant, quantity=in_cart + quantity, in_cart=in_cart)
        if created:
            CartItem.objects.create(cart=cart, product_id=variant.product_id, variant=variant, quantity=quantity)
        else:
            CartItem.objects.filter(pk=variant.line_id).update(quantity=in_cart + quantity, updated_at=now)
    return CartAddResult(cart=cart, created=created)


@contextmanager
def _owner_cart_locked(*, user, cart_token: str | None):
    """The owner's cart, locked (and touched) for the block's transaction; `cart_item_not_found` (404)
    without one."""
    with transaction.atomic():
        cart = _lock_owner_cart(user=user, cart_token=cart_token, now=timezone.now())
        if cart is None:
            raise _line_not_found()
        yield cart


def cart_update_item(*, user, cart_token: str | None, item_id: int, quantity: int) -> Cart:
    """Sets a line of the owner's cart to `quantity`; 0 removes the line. A line that grows is
    checked against its variant's stock read under its product's lock, as `cart_add_item` does.

    Raises `cart_item_not_found` (404) for a line that is not in the owner's cart (also another
    user's), `product_unavailable` (400) when raising a line of a product no longer sold,
    `quantity_limit_exceeded` (400) and `out_of_stock` (409) as `cart_add_item`."""
    with _owner_cart_locked(user=user, cart_token=cart_token) as cart:
        line = CartItem.objects.filter(pk=item_id, cart=cart)
        if quantity > 0:
            lock_product_ids_of(product_ids=line.values("product_id"))
        item = line.select_related("variant__product").first()
        if item is None:
            raise _line_not_found()
        if quantity == 0:
            item.delete()
        elif quantity != item.quantity:
            on_sale = item.variant.is_active and item.variant.product.is_active
            if not on_sale and quantity > item.quantity:
                raise _product_unavailable(attr=None)
            _check_quantity(variant=item.variant, quantity=quantity)
            item.quantity = quantity
            item.save(update_fields=["quantity", "updated_at"])
    return cart


def cart_remove_item(*, user, cart_token: str | None, item_id: int) -> None:
    """Deletes a line of the owner's cart. Raises `cart_item_not_found` (404) for a line that is
    not in the owner's cart."""
    with _owner_cart_locked(user=user, cart_token=cart_token) as cart:
        deleted, _ = CartItem.objects.filter(pk=item_id, cart=cart).delete()
        if not deleted:
            raise _line_not_found()


def cart_clear(*, user, cart_token: str | None) -> None:
    """Removes every line of the owner's cart; nothing to do (and no error) without a cart."""
    with transaction.atomic():
        cart = _lock_owner_cart(user=user, cart_token=cart_token, now=timezone.now())
        if cart is not None:
            CartItem.objects.filter(cart=cart).delete()


def cart_merge_anonymous(*, user, cart_token: str) -> None:
    """Moves an anonymous cart's lines into the user's cart: quantities of the same variant add up,
    capped at the variant's stock and at settings.CART_MAX_QUANTITY; lines of inactive or sold-out
    variants are dropped, and so are new lines past settings.CART_MAX_LINES; the anonymous cart is
    deleted. A malformed or unknown token, or the token of a user's cart, is ignored (login never
    fails because of a cart). The user's cart is made (or touched: a login uses it) first; then both
    carts are locked, by pk, then the incoming lines' products, and the lines of both carts are read
    with their variants after those locks."""
    token = cart_token_clean(cart_token)
    if token is None:
        return
    anonymous_id = Cart.objects.filter(token=token, user__isnull=True).values_list("pk", flat=True).first()
    if anonymous_id is None:
        return
    # On its own (no transaction yet) this get-or-create holds its lock only while it runs: the two
    # carts are locked below, in primary-key order.
    cart = lock_user_cart_creating(user=user, now=timezone.now())
    with transaction.atomic():
        locked = lock_carts(cart_ids=[anonymous_id, cart.pk])
        anonymous = locked.get(anonymous_id)
        if anonymous is None or anonymous.user_id is not None:
            return  # a concurrent login merged it first
        lock_product_ids_of(product_ids=CartItem.objects.filter(cart_id=anonymous_id).values("product_id"))
        lines = list(CartItem.objects.filter(cart_id__in=[anonymous_id, cart.pk]).select_related("variant__product"))
        incoming = [line for line in lines if line.cart_id == anonymous_id]
        existing = {line.variant_id: line for line in lines if line.cart_id == cart.pk}
        line_count = len(existing)
        now = timezone.now()
        to_update: list[CartItem] = []
        to_create: list[CartItem] = []
        for item in sorted(incoming, key=lambda i: i.variant_id):
            variant = item.variant
            if not variant.is_active or not variant.product.is_active or variant.stock <= 0:
                continue
            line = existing.get(variant.pk)
            wanted = item.quantity + (line.quantity if line else 0)
            quantity = min(wanted, variant.stock, settings.CART_MAX_QUANTITY)
            if line is not None:
                if quantity != line.quantity:
                    line.quantity, line.updated_at = quantity, now
                    to_update.append(line)
            elif line_count < CART_MAX_LINES:
                to_create.append(CartItem(cart=cart, product_id=variant.product_id, variant=variant, quantity=quantity))
                line_count += 1
        # Two statements whatever the number of lines (bulk_update does not apply auto_now: set above).
        CartItem.objects.bulk_update(to_update, ["quantity", "updated_at"])
        CartItem.objects.bulk_create(to_create)
        anonymous.delete()
    logger.info("Merged anonymous cart %s into cart %s of user %s", anonymous_id, cart.pk, user.pk)


def cart_purge_stale(*, now=None, ttl_days: int | None = None, batch_size: int = 500) -> int:
    """Deletes anonymous carts untouched for `ttl_days` (settings.CART_TTL_DAYS) with their lines,
    in short batches. User carts are never purged. Returns how many carts were deleted."""
    ttl_days = settings.CART_TTL_DAYS if ttl_days is None else ttl_days
    cutoff = (now or timezone.now()) - timedelta(days=ttl_days)
    stale = Cart.objects.filter(user__isnull=True, updated_at__lt=cutoff)
    purged = 0
    while True:
        ids = list(stale.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        with transaction.atomic():
            # Re-checked in the DELETE: a cart touched since the SELECT stays.
            _, per_model = stale.filter(pk__in=ids).delete()
        purged += per_model.get(Cart._meta.label, 0)
        if len(ids) < batch_size:
            break
    if purged:
        logger.info("Purged %s stale anonymous carts (untouched since %s)", purged, cutoff.isoformat())
    return purged
