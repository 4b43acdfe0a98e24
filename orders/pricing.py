"""The one pricing function: every number a customer pays for a cart (API.md "Checkout pricing").

The cart view, `POST /api/checkout/preview/`, `POST /api/orders/create/` (inside its locking
transaction), the payment amount and refunds all call `price_checkout`, so they cannot disagree.
It is pure: it reads nothing it is not given (no database, no settings, no clock) and writes
nothing; callers read the variants, the destination's tax rates, the chosen shipping method and the
cart's voucher, and pass them in. Decimal throughout, whatever the caller's decimal context.

The rules, in the order they apply:

1. Each line's `subtotal` is `unit_price * quantity` rounded half-up to the currency's minor unit
   (`novacart.money.quantize_money`: 2 places, 0 for JPY and the other zero-decimal currencies).
   Every total is a sum of rounded lines.
2. A percent or fixed voucher gives a discount on the eligible lines' subtotal (the "eligible
   subtotal"), never more than it: `value` percent of it (10 means 10%), rounded half-up, or the
   fixed `value` (rounded likewise), whichever kind, capped at the eligible subtotal. The discount
   is spread over the eligible lines in proportion to their subtotals, in minor units; the units
   left over after rounding down go one each to the lines with the largest remainders, ties to the
   smaller key. Line discounts therefore sum exactly to `discount_total` and no line goes negative.
   A line is eligible when the voucher restricts nothing (`product_ids` and `category_ids` both
   None), or when its product is in `product_ids` OR its category is in `category_ids`.
3. Tax per line at its tax class's rate (`tax_rates[line.tax_class]`; a class without a rate is
   taxed at 0) on the line's subtotal less its discount:
   exclusive prices: `tax = round(net * rate)`, `line_total = net + tax`;
   inclusive prices: `tax = round(net * rate / (1 + rate))` (the tax inside), `line_total = net`.
4. Shipping is the quote's price, 0 when the subtotal BEFORE discounts reaches `free_over` (as
   `ShippingMethod.free_over` and `orders.selectors.shipping_methods_for` read it) or a
   free_shipping voucher applies (unrestricted, or at least one eligible line). It is taxed at the
   `"standard"` rate like a line (on top when prices exclude tax, inside when they include it); a
   free shipping carries no tax.
5. `tax_total` is the line taxes plus the shipping tax; `tax_lines` group it by tax rate (name and
   rate), the shipping tax in its rate's line, so they sum to `tax_total`.
   exclusive: `total = subtotal - discount_total + shipping_total + tax_total`;
   inclusive: `total = subtotal - discount_total + shipping_total` (`tax_total` is inside it).
   Either way `total = sum(line_total) + shipping_charged`.

Refunds return a share of what a line was charged: `refund_amount_for`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from enum import StrEnum

from novacart.money import format_money, money_places, quantize_money

STANDARD_TAX_CLASS = "standard"

# Enough digits for any amount our columns hold times any rate, so only quantize_money rounds.
_CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN)


class VoucherKind(StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"
    FREE_SHIPPING = "free_shipping"


def _check_amount(value, what: str) -> None:
    """Money comes in as Decimal (or int), finite and not negative: a float or a negative price is a
    caller's bug, refused here rather than priced."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{what} must be a Decimal, not {type(value).__name__}")
    if not Decimal(value).is_finite() or value < 0:
        raise ValueError(f"{what} must be a finite amount of at least 0, not {value}")


# --- What the caller gives ------------------------------------------------------------------------


@dataclass(frozen=True)
class PricingLine:
    """One cart line as the caller read it. `key` (the cart item id, or any int unique in the cart)
    comes back on its `PricedLine`; `unit_price` is the variant's current price."""

    key: int
    variant_id: int
    product_id: int
    category_id: int | None
    quantity: int
    unit_price: Decimal
    tax_class: str = STANDARD_TAX_CLASS
    weight_grams: int = 0  # per unit; `lines_weight_grams` adds them up for choosing a shipping method

    def __post_init__(self):
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) or self.quantity < 1:
            raise ValueError(f"line {self.key}: quantity must be an int of at least 1, not {self.quantity!r}")
        _check_amount(self.unit_price, f"line {self.key}: unit_price")
        if self.weight_grams < 0:
            raise ValueError(f"line {self.key}: weight_grams cannot be negative")


@dataclass(frozen=True)
class TaxRate:
    """The rate of one tax class at the destination: `name` as customers read it ("VAT 20%"),
    `rate` as a fraction (0.20 for 20%, as `orders.models.TaxRate.rate` holds it)."""

    name: str
    rate: Decimal

    def __post_init__(self):
        _check_amount(self.rate, f"tax rate {self.name!r}")


@dataclass(frozen=True)
class ShippingQuote:
    """The chosen shipping method as priced for the destination: free when the cart's subtotal
    before discounts is at least `free_over` (None: never free by amount)."""

    method_id: int
    name: str
    price: Decimal
    free_over: Decimal | None = None

    def __post_init__(self):
        _check_amount(self.price, f"shipping {self.name!r}: price")
        if self.free_over is not None:
            _check_amount(self.free_over, f"shipping {self.name!r}: free_over")


@dataclass(frozen=True)
class VoucherTerms:
    """The cart's voucher as pricing needs it; whether it may be used at all (dates, limits, minimum
    subtotal) is the voucher service's question, answered before this is built.

    `value`: for "percent" the percentage (10 for 10%, at most 100), for "fixed" an amount in the
    order's currency, unused for "free_shipping". `product_ids` / `category_ids`: None restricts
    nothing; a set makes a line eligible when its product or its category is in it (either set
    matching is enough). An empty set matches nothing, so build them as `frozenset(ids) or None`
    from a voucher whose empty lists mean "the whole cart".
    """

    code: str
    kind: VoucherKind  # a plain "percent" is taken too
    value: Decimal = Decimal(0)
    product_ids: frozenset[int] | None = None
    category_ids: frozenset[int] | None = None

    def __post_init__(self):
        kind = VoucherKind(self.kind)  # ValueError for an unknown kind
        # Frozen: normalise through object.__setattr__, so "percent" and a list of ids work too.
        object.__setattr__(self, "kind", kind)
        for name in ("product_ids", "category_ids"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, frozenset(getattr(self, name)))
        _check_amount(self.value, f"voucher {self.code!r}: value")
        if kind is VoucherKind.PERCENT and self.value > 100:
            raise ValueError(f"voucher {self.code!r}: a percentage is at most 100, not {self.value}")

    @property
    def is_restricted(self) -> bool:
        return self.product_ids is not None or self.category_ids is not None

    def applies_to(self, line: PricingLine) -> bool:
        """Whether `line` is eligible for this voucher's discount."""
        if not self.is_restricted:
            return True
        return (self.product_ids is not None and line.product_id in self.product_ids) or (
            self.category_ids is not None and line.category_id is not None and line.category_id in self.category_ids
        )


# --- What it gives back ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    """One line as charged. `subtotal = round(unit_price * quantity)`; `discount` its share of the
    voucher; `tax` the tax on (or, with inclusive prices, inside) `subtotal - discount`;
    `line_total` what the customer pays for the line: `subtotal - discount + tax` with exclusive
    prices, `subtotal - discount` with inclusive ones."""

    key: int
    variant_id: int
    quantity: int
    unit_price: Decimal
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    line_total: Decimal

    def as_dict(self, currency: str) -> dict:
        return {
            "key": self.key,
            "variant_id": self.variant_id,
            "quantity": self.quantity,
            "unit_price": _format_unit_price(self.unit_price, currency),
            "subtotal": format_money(self.subtotal, currency),
            "discount": format_money(self.discount, currency),
            "tax": format_money(self.tax, currency),
            "line_total": format_money(self.line_total, currency),
        }


@dataclass(frozen=True)
class TaxLine:
    """The tax of one rate over the lines (and the shipping) taxed at it."""

    name: str
    rate: Decimal
    amount: Decimal

    def as_dict(self, currency: str) -> dict:
        return {"name": self.name, "rate": format(self.rate, "f"), "amount": format_money(self.amount, currency)}


@dataclass(frozen=True)
class PriceBreakdown:
    """Everything a customer pays, as `price_checkout` computed it; amounts carry the currency's
    places (`novacart.money.money_places`). `voucher` is the code of the voucher given (its
    discount may be 0), `shipping_method_id` / `shipping_method_name` the quote's (None without)."""

    lines: tuple[PricedLine, ...]
    currency: str
    prices_include_tax: bool
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    shipping_tax: Decimal
    tax_total: Decimal
    total: Decimal
    tax_lines: tuple[TaxLine, ...]
    voucher: str | None
    shipping_method_id: int | None
    shipping_method_name: str | None

    @property
    def shipping_charged(self) -> Decimal:
        """What the customer pays for shipping: its tax on top with exclusive prices, inside it
        with inclusive ones. What a refund "with shipping" returns."""
        return self.shipping_total if self.prices_include_tax else self.shipping_total + self.shipping_tax

    def line(self, key: int) -> PricedLine:
        """The priced line of `key`; KeyError when there is none."""
        for line in self.lines:
            if line.key == key:
                return line
        raise KeyError(key)

    def as_dict(self) -> dict:
        """JSON-ready: money as strings in the currency's places ("19.90", "500" for JPY), rates as
        given ("0.2000"). For API responses and the order's snapshot."""
        currency = self.currency
        return {
            "lines": [line.as_dict(currency) for line in self.lines],
            "subtotal": format_money(self.subtotal, currency),
            "discount_total": format_money(self.discount_total, currency),
            "shipping_total": format_money(self.shipping_total, currency),
            "shipping_tax": format_money(self.shipping_tax, currency),
            "tax_total": format_money(self.tax_total, currency),
            "total": format_money(self.total, currency),
            "currency": currency,
            "prices_include_tax": self.prices_include_tax,
            "shipping_method": (
                None
                if self.shipping_method_id is None
                else {"id": self.shipping_method_id, "name": self.shipping_method_name}
            ),
            "voucher": self.voucher,
            "tax_lines": [tax_line.as_dict(currency) for tax_line in self.tax_lines],
        }


# --- The function ---------------------------------------------------------------------------------


def price_checkout(
    *,
    lines: Sequence[PricingLine],
    currency: str,
    prices_include_tax: bool,
    tax_rates: Mapping[str, TaxRate],
    shipping: ShippingQuote | None = None,
    voucher: VoucherTerms | None = None,
) -> PriceBreakdown:
    """Price a cart by the rules of this module's docstring. `tax_rates` maps a tax class to its rate
    at the destination (shipping uses `"standard"`); no `shipping` prices shipping at 0.

    Raises ValueError (TypeError for a float) on input no cart can have: two lines with one key, a
    quantity below 1, a negative amount, a percentage over 100, an unknown voucher kind."""
    lines = tuple(lines)
    keys = [line.key for line in lines]
    if len(set(keys)) != len(keys):
        raise ValueError(f"line keys must be unique, got {keys}")
    with localcontext(_CONTEXT):
        return _price(
            lines=lines,
            currency=currency,
            prices_include_tax=prices_include_tax,
            tax_rates=tax_rates,
            shipping=shipping,
            voucher=voucher,
        )


def _price(*, lines, currency, prices_include_tax, tax_rates, shipping, voucher) -> PriceBreakdown:
    zero = quantize_money(0, currency)
    subtotals = [quantize_money(line.unit_price * line.quantity, currency) for line in lines]
    subtotal = sum(subtotals, zero)

    eligible = [voucher is not None and voucher.applies_to(line) for line in lines]
    discounts = _discounts(lines=lines, subtotals=subtotals, eligible=eligible, voucher=voucher, currency=currency)

    def tax_on(amount: Decimal, tax_rate: TaxRate | None) -> Decimal:
        if tax_rate is None:
            return zero
        rate = Decimal(tax_rate.rate)
        inside_or_on = amount * rate / (1 + rate) if prices_include_tax else amount * rate
        return quantize_money(inside_or_on, currency)

    priced, groups = [], {}
    for line, line_subtotal, discount in zip(lines, subtotals, discounts, strict=True):
        net = line_subtotal - discount
        tax_rate = tax_rates.get(line.tax_class)
        tax = tax_on(net, tax_rate)
        priced.append(
            PricedLine(
                key=line.key,
                variant_id=line.variant_id,
                quantity=line.quantity,
                unit_price=line.unit_price,
                subtotal=line_subtotal,
                discount=discount,
                tax=tax,
                line_total=net if prices_include_tax else net + tax,
            )
        )
        _add_tax(groups, tax_rate, tax, zero)

    shipping_total = shipping_tax = zero
    if shipping is not None:
        is_free = shipping_is_free_by_amount(shipping, subtotal=subtotal) or (
            voucher is not None
            and voucher.kind == VoucherKind.FREE_SHIPPING
            and (not voucher.is_restricted or any(eligible))
        )
        if not is_free:
            shipping_total = quantize_money(shipping.price, currency)
            standard = tax_rates.get(STANDARD_TAX_CLASS)
            shipping_tax = tax_on(shipping_total, standard)
            _add_tax(groups, standard, shipping_tax, zero)

    discount_total = sum(discounts, zero)
    tax_total = sum((line.tax for line in priced), zero) + shipping_tax
    total = subtotal - discount_total + shipping_total + (zero if prices_include_tax else tax_total)
    tax_lines = tuple(
        TaxLine(name=name, rate=rate, amount=amount)
        for (name, _), (rate, amount) in sorted(groups.items(), key=lambda item: (-item[0][1], item[0][0]))
    )
    return PriceBreakdown(
        lines=tuple(priced),
        currency=currency,
        prices_include_tax=prices_include_tax,
        subtotal=subtotal,
        discount_total=discount_total,
        shipping_total=shipping_total,
        shipping_tax=shipping_tax,
        tax_total=tax_total,
        total=total,
        tax_lines=tax_lines,
        voucher=voucher.code if voucher is not None else None,
        shipping_method_id=shipping.method_id if shipping is not None else None,
        shipping_method_name=shipping.name if shipping is not None else None,
    )


def _add_tax(groups: dict, tax_rate: TaxRate | None, amount: Decimal, zero: Decimal) -> None:
    """Adds `amount` to the tax line of `tax_rate` (one per name and rate; none for an untaxed class)."""
    if tax_rate is None:
        return
    key = (tax_rate.name, Decimal(tax_rate.rate))
    rate, so_far = groups.get(key, (tax_rate.rate, zero))
    groups[key] = (rate, so_far + amount)


def _discounts(*, lines, subtotals, eligible, voucher, currency) -> list[Decimal]:
    """Each line's share of the voucher's discount (module docstring, rule 2)."""
    places = money_places(currency)
    eligible_subtotal = sum((s for s, ok in zip(subtotals, eligible, strict=True) if ok), Decimal(0))
    if voucher is None or voucher.kind == VoucherKind.FREE_SHIPPING or not eligible_subtotal:
        return [quantize_money(0, currency)] * len(lines)
    if voucher.kind == VoucherKind.PERCENT:
        wanted = quantize_money(eligible_subtotal * Decimal(voucher.value) / 100, currency)
    else:
        wanted = quantize_money(voucher.value, currency)
    discount_minor = _to_minor(min(wanted, eligible_subtotal), places)
    weights = [_to_minor(s, places) if ok else 0 for s, ok in zip(subtotals, eligible, strict=True)]
    shares = _spread(discount_minor, weights, [line.key for line in lines])
    return [quantize_money(Decimal(share).scaleb(-places), currency) for share in shares]


def _to_minor(amount: Decimal, places: int) -> int:
    return int(amount.scaleb(places))


def _spread(total: int, weights: list[int], keys: list[int]) -> list[int]:
    """`total` minor units split in proportion to `weights` (largest remainder; ties to the smaller
    key). The shares sum to `total`; each is at most its weight when `total <= sum(weights)`, and a
    weight of 0 gets 0 (the leftover units are fewer than the lines with a remainder)."""
    whole = sum(weights)
    if not total or not whole:
        return [0] * len(weights)
    shares = [total * weight // whole for weight in weights]
    remainders = [total * weight % whole for weight in weights]
    leftover = total - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], keys[i]))[:leftover]:
        shares[index] += 1
    return shares


def _format_unit_price(unit_price: Decimal, currency: str) -> str:
    """A unit price in the currency's places, or as given when it has more (0.335): rounding it for
    display would show a price that times the quantity is not the line's subtotal."""
    rounded = quantize_money(unit_price, currency)
    return format_money(rounded, currency) if rounded == unit_price else format(Decimal(unit_price), "f")


# --- Helpers for the callers ----------------------------------------------------------------------


def lines_subtotal(*, lines: Iterable[PricingLine], currency: str) -> Decimal:
    """The subtotal before discounts `price_checkout` will compute (the sum of rounded lines): the one
    to choose shipping methods by (`orders.selectors.shipping_methods_for`) and to check a voucher's
    minimum subtotal against, so those agree with the price."""
    with localcontext(_CONTEXT):
        return sum(
            (quantize_money(line.unit_price * line.quantity, currency) for line in lines), quantize_money(0, currency)
        )


def lines_weight_grams(lines: Iterable[PricingLine]) -> int:
    """The cart's weight: each line's unit weight times its quantity."""
    return sum(line.weight_grams * line.quantity for line in lines)


def refund_amount_for(line, *, quantity: int, currency: str, already_refunded: int = 0) -> Decimal:
    """What refunding `quantity` more units of a charged line returns, `already_refunded` of its
    units having been refunded before. `line` is a `PricedLine`, or anything with the same
    `line_total` and `quantity` (the order item's snapshot).

    The first m of the line's n units are worth `round(line_total * m / n)`, so a refund of k units
    after r returns `round(line_total * (r + k) / n) - round(line_total * r / n)`: each refund gets
    its units' share, and whatever the steps, refunding all n units returns exactly `line_total`
    (its discount share and tax included). Raises ValueError past the line's quantity."""
    units = line.quantity
    if quantity < 1 or already_refunded < 0 or already_refunded + quantity > units:
        raise ValueError(f"cannot refund {quantity} unit(s) after {already_refunded} of a line of {units}")
    with localcontext(_CONTEXT):
        line_total = Decimal(line.line_total)

        def first(units_refunded: int) -> Decimal:
            return quantize_money(line_total * units_refunded / units, currency)

        return first(already_refunded + quantity) - first(already_refunded)


def shipping_is_free_by_amount(quote: ShippingQuote, *, subtotal: Decimal) -> bool:
    """Whether the method ships free for a cart of this subtotal (before discounts): rule 4."""
    return quote.free_over is not None and subtotal >= quote.free_over


def shipping_price(quote: ShippingQuote, *, subtotal: Decimal) -> Decimal:
    """The method's price for a cart of this subtotal before discounts and vouchers (0 from its
    `free_over`), as the shipping-method list shows it; `price_checkout` charges the same."""
    return Decimal(0) if shipping_is_free_by_amount(quote, subtotal=subtotal) else quote.price
