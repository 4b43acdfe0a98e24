"""Cart reads: which cart a request means, and a cart with everything its response shows."""

import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery, prefetch_related_objects

from novacart.exceptions import ErrorItem
from products.models import ProductImage

from .models import Cart, CartItem

# `secrets.token_urlsafe(32)` gives 43 characters of the URL-safe base64 alphabet; anything that
# could not be one of our tokens is treated as no token at all, before it reaches the database.
_CART_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

CENT = Decimal("0.01")


def cart_token_clean(raw: str | None) -> str | None:
    """The X-Cart-Token header value if it looks like one of our tokens, else None."""
    if not raw:
        return None
    raw = raw.strip()
    return raw if _CART_TOKEN_RE.fullmatch(raw) else None


def _lines() -> QuerySet[CartItem]:
    """Cart lines as responses show them, in one query: each with its product and variant, and its
    product's first image (by position) that has a file or an external URL, as two columns of the
    line's row (`image_name`, `image_external_url`; None without such an image)."""
    images = (
        ProductImage.objects.filter(product=OuterRef("product_id"))
        .exclude(Q(image="") & Q(external_url=""))
        .order_by("position", "id")
    )
    return CartItem.objects.select_related("product", "variant").annotate(
        image_name=Subquery(images.values("image")[:1]),
        image_external_url=Subquery(images.values("external_url")[:1]),
    )


def _carts_with_lines() -> QuerySet[Cart]:
    return Cart.objects.select_related("voucher").prefetch_related(Prefetch("items", queryset=_lines()))


def cart_get_for_owner(*, user, cart_token: str | None, with_lines: bool = False) -> Cart | None:
    """The cart a request works on: the user's cart when authenticated (the token is ignored),
    otherwise the anonymous cart of a well-formed token. None when there is no such cart."""
    queryset = _carts_with_lines() if with_lines else Cart.objects.all()
    if user is not None and user.is_authenticated:
        return queryset.filter(user=user).first()
    token = cart_token_clean(cart_token)
    if token is None:
        return None
    return queryset.filter(token=token, user__isnull=True).first()


def cart_get_with_lines(*, cart_id: int) -> Cart | None:
    """A cart with its voucher and its lines (their variants, products and images): two queries. None when
    the cart is gone (an anonymous cart merged into a login a moment ago)."""
    return _carts_with_lines().filter(pk=cart_id).first()


def cart_with_lines(*, cart: Cart) -> Cart:
    """`cart` (one the caller holds, e.g. locked for a write) with its lines as `cart_get_with_lines`
    reads them: one query. Its voucher is read when asked for."""
    prefetch_related_objects([cart], Prefetch("items", queryset=_lines()))
    return cart


@dataclass(frozen=True)
class CartLine:
    item: CartItem
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class CartVoucher:
    """The voucher applied to a cart as its responses show it. `problem`: why it takes nothing off
    now (the refusal, code and detail, the checkout would answer with), None while it applies."""

    code: str
    kind: str
    value: Decimal
    problem: ErrorItem | None = None


@dataclass(frozen=True)
class CartSummary:
    """What a cart response shows. Prices are the variants' current prices, totals are computed
    here in Decimal; `cart` is None for a client that has no cart yet. `discount_total` and
    `voucher_problem` are the voucher's, priced by orders (orders.vouchers.cart_summarize_with_voucher,
    which every cart response goes through); `cart_summarize` alone leaves them at no discount."""

    cart: Cart | None
    lines: list[CartLine]
    total_items: int
    subtotal: Decimal
    currency: str
    weight_grams: int = 0
    discount_total: Decimal = Decimal("0.00")
    voucher_problem: ErrorItem | None = None

    @property
    def id(self) -> int | None:
        return self.cart.pk if self.cart else None

    @property
    def voucher(self) -> CartVoucher | None:
        """The voucher applied to the cart, or None. What it takes off is `discount_total`."""
        voucher = self.cart.voucher if self.cart is not None else None
        if voucher is None:
            return None
        return CartVoucher(code=voucher.code, kind=voucher.kind, value=voucher.value, problem=self.voucher_problem)

    @property
    def cart_token(self) -> str | None:
        # Only an anonymous cart is identified by its token; a user's cart by the login.
        if self.cart is None or not self.cart.is_anonymous:
            return None
        return self.cart.token


def cart_summarize(*, cart: Cart | None) -> CartSummary:
    """Lines, quantities and money of a cart loaded with `cart_get_with_lines` (or None)."""
    lines = []
    if cart is not None:
        for item in cart.items.all():
            unit_price = item.variant.price
            # The line's row brought its product's first image (`_lines`); the cart shows it with the product.
            item.product.cart_image = (item.image_name or "", item.image_external_url or "")
            lines.append(
                CartLine(item=item, unit_price=unit_price, line_total=(unit_price * item.quantity).quantize(CENT))
            )
    return CartSummary(
        cart=cart,
        lines=lines,
        total_items=sum(line.item.quantity for line in lines),
        subtotal=sum((line.line_total for line in lines), Decimal("0.00")).quantize(CENT),
        currency=settings.STORE_CURRENCY,
        weight_grams=sum(line.item.variant.weight_grams * line.item.quantity for line in lines),
    )
