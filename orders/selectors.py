"""Order reads: lists, one order, the sales report and the staff dashboard, shipping and tax for a
destination, vouchers."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from cart.models import CartItem
from novacart.exceptions import NotFound, ValidationFailed
from novacart.money import currency_exponent
from novacart.permissions import Perm, user_has_any
from payments.models import Refund, RefundLine, RefundStatus
from products.selectors import category_forest, variant_low_stock_list

from .error_codes import OrderErrorCode
from .models import (
    Order,
    OrderItem,
    OrderReturn,
    OrderReturnLine,
    OrderReturnStatusChange,
    OrderStatus,
    OrderStatusChange,
    ShippingMethod,
    TaxRate,
    Voucher,
    VoucherRedemption,
    order_revenue_q,
)
from .pricing import (
    STANDARD_TAX_CLASS,
    PriceBreakdown,
    PricingLine,
    ShippingQuote,
    VoucherTerms,
    lines_subtotal,
    lines_weight_grams,
    price_checkout,
)
from .pricing import TaxRate as PricingTaxRate
from .tokens import guest_token_clean, guest_token_digest, guest_token_for

TOP_PRODUCTS = 10
CENT = Decimal("0.01")
# What the reports' sums of money columns are read as (the columns hold 12 digits; sums need more).
MONEY = DecimalField(max_digits=14, decimal_places=2)
# The sales report's buckets: one per day up to 90 days, one per week (Monday to Sunday) up to 180,
# one per calendar month beyond, so a year is 12 or 13 bars and table rows instead of 365.
SALES_DAILY_UP_TO_DAYS = 90
SALES_WEEKLY_UP_TO_DAYS = 180


def _with_items(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.prefetch_related(Prefetch("items", queryset=OrderItem.objects.order_by("id")))


def order_list_for_user(*, user, search: str = "", status: str = "") -> QuerySet[Order]:
    """The user's orders, newest first, with their items; `search` matches the order number or
    an ordered product's name (each order once), `status` one status."""
    queryset = Order.objects.filter(user=user)
    if status:
        queryset = queryset.filter(status=status)
    search = search.strip()
    if search:
        item_matches = OrderItem.objects.filter(order=OuterRef("pk"), product_name__icontains=search)
        queryset = queryset.filter(Q(number__icontains=search) | Q(Exists(item_matches)))
    return _with_items(queryset.order_by("-created_at", "-id"))


def guest_checkout_enabled() -> bool:
    """Whether guests may place orders and open them with their token (`GUEST_CHECKOUT`)."""
    return bool(settings.GUEST_CHECKOUT)


def order_token_digest(order_token: str | None) -> str | None:
    """The digest an order's `guest_token_hash` must equal for `X-Order-Token` to open it; None for
    no token, one that cannot be a token, or when guest checkout is off."""
    token = guest_token_clean(order_token)
    return guest_token_digest(token) if token is not None and guest_checkout_enabled() else None


def order_owner_q(*, user=None, order_token: str | None = None, prefix: str = "") -> Q:
    """The orders a requester owns, defined once: the signed-in user's, and the one order a guest's
    `X-Order-Token` opens. `prefix` reaches the order through a relation (`"order__"` from a payment).
    Matches nothing for an anonymous requester without a valid token."""
    owned = []
    if user is not None and getattr(user, "is_authenticated", False):
        owned.append(Q(**{f"{prefix}user": user}))
    digest = order_token_digest(order_token)
    if digest is not None:
        owned.append(Q(**{f"{prefix}guest_token_hash": digest}))
    if not owned:
        return Q(**{f"{prefix}pk__in": []})
    return owned[0] if len(owned) == 1 else owned[0] | owned[1]


def order_guest_token(*, order_id: int) -> str | None:
    """The current token of a guest order (made again from its nonce: orders.tokens); None for an
    order placed with an account."""
    row = Order.objects.filter(pk=order_id).exclude(guest_token_nonce="").values_list("number", "guest_token_nonce")
    row = row.first()
    return guest_token_for(number=row[0], nonce=row[1]) if row is not None else None


def _orders_visible_to(user, order_token: str | None = None) -> QuerySet[Order]:
    """Every order for staff who may see or change orders (VIEW_ORDER, or CHANGE_ORDER, which like
    in the admin implies seeing); the requester's own orders for anyone else, staff without it
    included (order_owner_q: a guest's token opens its one order)."""
    if user is not None and user_has_any(user, Perm.VIEW_ORDER, Perm.CHANGE_ORDER):
        return Order.objects.all()
    return Order.objects.filter(order_owner_q(user=user, order_token=order_token))


def _listed_refunds() -> Prefetch:
    """The order's refunds as its detail lists them (not the failed attempts), oldest first, each with
    its lines: one query for the refunds, one for their lines (none without refunds)."""
    refunds = (
        Refund.objects.exclude(status=RefundStatus.FAILED)
        .order_by("created_at", "id")
        .prefetch_related(Prefetch("lines", queryset=RefundLine.objects.order_by("id")))
    )
    return Prefetch("refunds", queryset=refunds, to_attr="listed_refunds")


def order_refunds_listed(*, order: Order) -> list[Refund]:
    """What `refunds[]` of the order detail shows (read with the order by `order_get_for_user`)."""
    listed = getattr(order, "listed_refunds", None)
    if listed is None:
        return list(_listed_refunds().queryset.filter(order=order))
    return listed


def order_get_for_user(*, user, order_id: int, order_token: str | None = None) -> Order:
    """One order with items, history and refunds: the owner's (or the one a guest's `order_token`
    opens), or any for staff who may see orders. Raises NotFound otherwise, so another user's order
    looks exactly like one that does not exist."""
    queryset = _orders_visible_to(user, order_token)
    queryset = _with_items(queryset).prefetch_related(
        Prefetch("status_history", queryset=OrderStatusChange.objects.order_by("created_at", "id")),
        _listed_refunds(),
    )
    order = queryset.filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.", code=OrderErrorCode.ORDER_NOT_FOUND)
    return order


def order_as_written(*, order: Order, items: list[OrderItem], status_history: list[OrderStatusChange]) -> Order:
    """The order as `order_get_for_user` loads it (items by id, status history oldest first, no
    refunds: it was just placed), from the rows its writer holds in memory after inserting them,
    without reading them back: orders/create answers with the order it has just placed. What
    Django's `prefetch_related` stores, set here."""
    order.listed_refunds = []
    order._prefetched_objects_cache = {}
    for name, rows in (("items", sorted(items, key=lambda item: item.pk)), ("status_history", status_history)):
        loaded = getattr(order, name).all()
        loaded._result_cache = list(rows)
        loaded._prefetch_done = True
        order._prefetched_objects_cache[name] = loaded
    return order


def order_check_access(*, user, order_id: int, order_token: str | None = None) -> bool:
    """Raises NotFound unless the order exists and the requester may see it (their own, or the one
    their `order_token` opens; any order for staff who may see orders). Returns whether it is the
    requester's own order, so a view can ask for a staff permission before acting on someone else's."""
    row = _orders_visible_to(user, order_token).filter(pk=order_id).values_list("user_id", "guest_token_hash").first()
    if row is None:
        raise NotFound("Order not found.", code=OrderErrorCode.ORDER_NOT_FOUND)
    owner_id, token_hash = row
    digest = order_token_digest(order_token)
    own_account = owner_id is not None and getattr(user, "is_authenticated", False) and owner_id == user.pk
    return own_account or (digest is not None and token_hash == digest)


def _average(amount: Decimal, count: int) -> Decimal:
    return (amount / count).quantize(CENT, rounding=ROUND_HALF_UP) if count else Decimal("0.00")


# --- Refunds, as the reports count them -----------------------------------------------------------
#
# How much of an order, and of each of its lines, was given back: defined here once, and the sales
# report and the dashboard subtract exactly these. Refunds are rows (payments.Refund, kept by
# payments.refunds): an order's refunded amount is its `refunded_total` (the sum of its succeeded
# refunds), a line's units and amount the sums of its succeeded refund lines. An order moved to
# REFUNDED gave back everything, lines included, whatever rows say (a refund made at the provider has
# no lines). The tax given back is the order's tax in the share of its total that went back; for a
# line, its tax in the share of its units that went back.
#
# A refund is counted on the day its order was paid: one aggregate over orders by paid day keeps the
# report to one query, so a past day's revenue drops when one of its orders is refunded later.
# Dating refunds by when they happened (`Refund.completed_at`, a refund in the period it was made)
# would need the refund rows summed per day beside the orders; left for when a shop asks for it.


def _refund_lines_sum(field: str):
    """The sum of `field` over the succeeded refund lines of an order item (an expression over OrderItem)."""
    lines = (
        RefundLine.objects.filter(order_item=OuterRef("pk"), refund__status=RefundStatus.SUCCEEDED)
        .order_by()
        .values("order_item")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(lines), Value(0))


def _fully_refunded(order: str = "") -> Q:
    return Q(**{f"{order}status": OrderStatus.REFUNDED})


def order_refunded_amount() -> Case:
    """How much of an order's `total` was refunded (an expression over Order)."""
    return Case(When(_fully_refunded(), then=F("total")), default=F("refunded_total"), output_field=MONEY)


def order_refunded_tax() -> Case:
    """How much of the tax inside an order's total (`tax_total`) was refunded (over Order): all of it
    for a refunded order, else its share of what went back."""
    share = ExpressionWrapper(F("tax_total") * F("refunded_total") / F("total"), output_field=MONEY)
    return Case(
        When(_fully_refunded(), then=F("tax_total")),
        When(Q(total__gt=0, refunded_total__gt=0), then=share),
        default=Value(Decimal(0)),
        output_field=MONEY,
    )


def item_refunded_quantity() -> Case:
    """How many units of an order item were refunded (an expression over OrderItem)."""
    return Case(
        When(_fully_refunded("order__"), then=F("quantity")),
        default=_refund_lines_sum("quantity"),
        output_field=IntegerField(),
    )


def item_refunded_amount() -> Case:
    """How much of an order item's `line_total` was refunded (over OrderItem)."""
    # A multiplication, not a division: SQLite divides integers as integers (1080 / 100 = 10).
    minor_unit = Decimal(1).scaleb(-currency_exponent(settings.STORE_CURRENCY))
    return Case(
        When(_fully_refunded("order__"), then=F("line_total")),
        default=ExpressionWrapper(_refund_lines_sum("amount_minor") * Value(minor_unit), output_field=MONEY),
        output_field=MONEY,
    )


def item_refunded_tax() -> Case:
    """How much of an order item's `tax` was refunded (over OrderItem): its share of the units refunded."""
    share = ExpressionWrapper(F("tax") * _refund_lines_sum("quantity") / F("quantity"), output_field=MONEY)
    return Case(When(_fully_refunded("order__"), then=F("tax")), default=share, output_field=MONEY)


# --- The sales report and the dashboard -----------------------------------------------------------


def _takings_sums() -> dict:
    """The sums both reports make over revenue's orders (orders.models.order_revenue_q), for one
    `aggregate` or `values().annotate()`; `_takings` turns a row of them into the reported figures."""
    return {
        "gross": Sum("total", output_field=MONEY),
        "refunds": Sum(order_refunded_amount(), output_field=MONEY),
        "tax_charged": Sum("tax_total", output_field=MONEY),
        "tax_refunded": Sum(order_refunded_tax(), output_field=MONEY),
        "shipping": Sum("shipping_total", output_field=MONEY),
        "discounts": Sum("discount_total", output_field=MONEY),
        "orders": Count("id"),
    }


def _takings(row: dict | None) -> dict:
    """What the reports show of a row of `_takings_sums` (None: no orders):

    - `gross`: what customers paid for these orders (their totals: tax and shipping included);
    - `refunds`: what was given back of them (`order_refunded_amount`);
    - `revenue`: gross less refunds, what the shop kept;
    - `tax`: the tax inside revenue (the orders' tax less the refunded tax), whether prices include
      tax or it went on top;
    - `shipping` and `discounts`: what the orders were charged for shipping (`shipping_total`, as
      priced) and given off (`discount_total`), before refunds;
    - `orders` and `average_order_value`: gross per order, a refunded order counted like the others.
    """

    def money(key: str) -> Decimal:
        value = row[key] if row else None
        return Decimal(value).quantize(CENT) if value is not None else Decimal("0.00")

    gross, orders = money("gross"), (row["orders"] if row else 0)
    return {
        "gross": gross,
        "refunds": money("refunds"),
        "revenue": gross - money("refunds"),
        "tax": money("tax_charged") - money("tax_refunded"),
        "shipping_total": money("shipping"),
        "discounts": money("discounts"),
        "orders": orders,
        "average_order_value": _average(gross, orders),
    }


# The money figures of `_takings`, which buckets and totals add up.
TAKINGS_MONEY = ("gross", "refunds", "revenue", "tax", "shipping_total", "discounts")


def _takings_added(rows: Iterable[dict]) -> dict:
    """Several `_takings` (days) as one: money and orders summed, the average of the sums."""
    added = dict.fromkeys(TAKINGS_MONEY, Decimal("0.00")) | {"orders": 0}
    for row in rows:
        for key in (*TAKINGS_MONEY, "orders"):
            added[key] += row[key]
    added["average_order_value"] = _average(added["gross"], added["orders"])
    return added


def order_sales_report(*, days: int, now=None) -> dict:
    """What paid orders brought in per day (UTC) for the last `days` days, today included, by the
    day their payment came in (paid_at), refunded since or not: the figures of `_takings` for each
    day and in total. A refund counts on the day its order was paid (see "Refunds, as the reports
    count them"). Every day of the range is listed, days without sales with zeros. One query."""
    now = now or timezone.now()
    end_date = timezone.localdate(now)
    start_date = end_date - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(start_date, time.min))
    rows = (
        Order.objects.filter(order_revenue_q(), paid_at__gte=start, paid_at__lte=now)
        .annotate(day=TruncDate("paid_at"))
        .values("day")
        .annotate(**_takings_sums())
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    daily = []
    for offset in range(days):
        day = start_date + timedelta(days=offset)
        daily.append({"date": day, **_takings(by_day.get(day))})
    return {
        "days": days,
        "start_date": start_date,
        "end_date": end_date,
        "currency": settings.STORE_CURRENCY,
        "daily": daily,
        "totals": _takings_added(daily),
    }


def sales_granularity(*, days: int) -> str:
    """`day`, `week` or `month`: the bucket the sales report uses for a range of `days` days."""
    if days <= SALES_DAILY_UP_TO_DAYS:
        return "day"
    return "week" if days <= SALES_WEEKLY_UP_TO_DAYS else "month"


def _bucket_start(day, granularity: str):
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def order_sales_buckets(*, report: dict) -> dict:
    """The days of `order_sales_report` summed into the buckets of `sales_granularity`, oldest first:
    `{"granularity", "buckets": [{"start", "end", <the figures of a day>}]}`. A bucket's `start` and
    `end` are the first and last day of the report it covers (the first and last bucket may be
    partial weeks or months)."""
    granularity = sales_granularity(days=report["days"])
    groups: list[tuple[object, list[dict]]] = []
    for row in report["daily"]:
        key = _bucket_start(row["date"], granularity)
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(row)
    buckets = [
        {"start": days_of[0]["date"], "end": days_of[-1]["date"], **_takings_added(days_of)} for _key, days_of in groups
    ]
    return {"granularity": granularity, "buckets": buckets}


def order_analytics() -> dict:
    """The staff dashboard: what paid orders brought in (the figures of `_takings` over every paid
    order; `revenue` net of refunds), orders by status, best sellers (by units and by revenue) and how
    many variants on sale are at or below LOW_STOCK_THRESHOLD (those of the low-stock list).

    A best seller's `quantity` is the units paid for and not refunded, its `revenue` what those lines
    brought in net of tax: `line_total - tax` (the line's discount share already taken off, its tax
    removed whether it went on top or was inside the price, shipping not included) less what was
    refunded of it net of tax. So the dashboard's products add up to sales before tax and shipping."""
    by_status = dict.fromkeys(OrderStatus.values, 0)
    for row in Order.objects.order_by().values("status").annotate(n=Count("id")):
        by_status[row["status"]] = row["n"]
    takings = _takings(Order.objects.filter(order_revenue_q()).aggregate(**_takings_sums()))
    sold = (
        OrderItem.objects.filter(order_revenue_q("order__"))
        .values("product_id", "product__name", "product__sku")
        # Named apart from the item's own fields: the refund expressions read `quantity` and `tax`.
        .annotate(
            units_sold=Sum(F("quantity") - item_refunded_quantity(), output_field=IntegerField()),
            net_revenue=Sum(
                F("line_total") - F("tax") - (item_refunded_amount() - item_refunded_tax()), output_field=MONEY
            ),
        )
        .filter(units_sold__gt=0)
    )

    def _top(ordering: tuple[str, ...]) -> list[dict]:
        return [
            {
                "product": row["product_id"],
                "name": row["product__name"],
                "sku": row["product__sku"],
                "quantity": row["units_sold"],
                "revenue": Decimal(row["net_revenue"]).quantize(CENT),
            }
            for row in sold.order_by(*ordering)[:TOP_PRODUCTS]
        ]

    threshold = settings.LOW_STOCK_THRESHOLD
    return {
        "currency": settings.STORE_CURRENCY,
        **{key: takings[key] for key in TAKINGS_MONEY},
        "orders_paid": takings["orders"],
        "average_order_value": takings["average_order_value"],
        "orders_total": sum(by_status.values()),
        "orders_by_status": by_status,
        "top_products_by_quantity": _top(("-units_sold", "-net_revenue", "product_id")),
        "top_products_by_revenue": _top(("-net_revenue", "-units_sold", "product_id")),
        "low_stock_threshold": threshold,
        "low_stock_count": variant_low_stock_list(threshold=threshold).count(),
    }


# --- Shipping and tax for a destination (what orders.pricing is given) ---------------------------


def shipping_is_configured() -> bool:
    """Whether any shipping method is on offer: then every order names one (API.md)."""
    return ShippingMethod.objects.filter(is_active=True, zone__is_active=True).exists()


def shipping_methods_for(*, country: str, subtotal: Decimal, weight_grams: int) -> list[ShippingMethod]:
    """The active methods of active zones that ship to `country` and take a cart of this subtotal
    (before discounts) and weight, in display order. One query (zones are few; the country list is
    read in Python, so SQLite and PostgreSQL agree)."""
    methods = (
        ShippingMethod.objects.filter(is_active=True, zone__is_active=True)
        .select_related("zone")
        .order_by("position", "price", "id")
    )
    country = (country or "").upper()

    def within(value, low, high) -> bool:
        return (low is None or value >= low) and (high is None or value <= high)

    return [
        method
        for method in methods
        if country in method.zone.countries
        and within(subtotal, method.min_subtotal, method.max_subtotal)
        and within(weight_grams, method.min_weight_grams, method.max_weight_grams)
    ]


def tax_rates_for(*, country: str, region: str = "") -> dict[str, TaxRate]:
    """The rate of each tax class at a destination: the region's own rate where it has one, else the
    country's. One query."""
    rates: dict[str, TaxRate] = {}
    rows = TaxRate.objects.filter(country=(country or "").upper(), region__in={"", region or ""}).order_by("region")
    for rate in rows:  # the country's ("") first, then the region's, which wins
        rates[rate.tax_class] = rate
    return rates


@dataclass(frozen=True)
class Destination:
    """Where an order goes, as pricing needs it: the country (and region, for a regional tax rate)."""

    country: str
    region: str = ""


@dataclass(frozen=True)
class CheckoutPrice:
    breakdown: PriceBreakdown
    shipping_method: ShippingMethod | None


def _rate_at(destination: "Destination", tax_class) -> QuerySet[TaxRate]:
    """The rate of `tax_class` (a value or an OuterRef) at the destination, as `tax_rates_for` picks
    it: the region's own first, else the country's."""
    regions = {"", destination.region or ""}
    rates = TaxRate.objects.filter(country=(destination.country or "").upper(), region__in=regions, tax_class=tax_class)
    return rates.order_by("-region")


def checkout_lines(*, cart_id: int, destination: "Destination | None" = None) -> list[CartItem]:
    """A cart's lines in cart order, each with its variant and the variant's product: one query. At
    checkout read them after `products.lock_objects.lock_product_ids_of`, so the stock and prices
    are the latest committed; `(line.pk, line.quantity, line.variant)` is what `pricing_lines` takes.

    With a `destination`, each line also carries, in the same query, the destination's rate of its
    product's tax class and of shipping's (`standard`): `checkout_tax_rates` makes of them what
    `tax_rates_for` would read."""
    lines = CartItem.objects.filter(cart_id=cart_id).select_related("variant__product")
    if destination is not None:
        own = _rate_at(destination, OuterRef("variant__product__tax_class"))
        shipping = _rate_at(destination, STANDARD_TAX_CLASS)
        lines = lines.annotate(
            tax_rate_name=Subquery(own.values("name")[:1]),
            tax_rate=Subquery(own.values("rate")[:1]),
            shipping_tax_rate_name=Subquery(shipping.values("name")[:1]),
            shipping_tax_rate=Subquery(shipping.values("rate")[:1]),
        )
    return list(lines)


def checkout_tax_rates(lines: list[CartItem]) -> dict[str, PricingTaxRate]:
    """The tax rates pricing needs for these lines (read by `checkout_lines` with a destination): the
    rate of each line's class and shipping's, by class, as `checkout_price` reads them otherwise."""
    # A subquery's decimal comes back from SQLite unrounded (0.200000000000000): rounded to the column's
    # places, it is the rate a TaxRate row holds, which the order's tax lines show.
    places = Decimal(1).scaleb(-TaxRate._meta.get_field("rate").decimal_places)
    rates: dict[str, PricingTaxRate] = {}
    for line in lines:
        if line.shipping_tax_rate is not None:
            rate = Decimal(line.shipping_tax_rate).quantize(places)
            rates[STANDARD_TAX_CLASS] = PricingTaxRate(name=line.shipping_tax_rate_name, rate=rate)
        if line.tax_rate is not None:
            rate = Decimal(line.tax_rate).quantize(places)
            rates[line.variant.product.tax_class] = PricingTaxRate(name=line.tax_rate_name, rate=rate)
    return rates


def pricing_lines(lines) -> list[PricingLine]:
    """Pricing's view of cart lines: `lines` are (key, quantity, variant) with the variant's product
    loaded. The unit price is the variant's current price, read from our own rows."""
    return [
        PricingLine(
            key=key,
            variant_id=variant.pk,
            product_id=variant.product_id,
            category_id=variant.product.category_id,
            quantity=quantity,
            unit_price=variant.price,
            tax_class=variant.product.tax_class,
            weight_grams=variant.weight_grams,
        )
        for key, quantity, variant in lines
    ]


def shipping_quote(method: ShippingMethod) -> ShippingQuote:
    return ShippingQuote(method_id=method.pk, name=method.name, price=method.price, free_over=method.free_over)


def checkout_price(
    *,
    lines,
    destination: Destination,
    shipping_method_id: int | None = None,
    shipping_required: bool = False,
    voucher: VoucherTerms | None = None,
    tax_rates: dict[str, PricingTaxRate] | None = None,
) -> CheckoutPrice:
    """What a cart costs delivered to `destination`: `orders.pricing.price_checkout` given the lines
    (see `pricing_lines`), the destination's tax rates, the chosen shipping method (checked against
    what ships there for this cart's subtotal and weight) and the voucher. Three queries at most; two
    when the caller read the destination's `tax_rates` with the lines (`checkout_tax_rates`).

    Raises `shipping_method_unavailable` (400) for a method that does not serve this destination and
    cart, `shipping_method_required` (400) when `shipping_required` and the shop offers shipping
    methods but none was chosen."""
    currency = settings.STORE_CURRENCY
    priced = pricing_lines(lines)
    method = None
    if shipping_method_id is not None:
        available = shipping_methods_for(
            country=destination.country,
            subtotal=lines_subtotal(lines=priced, currency=currency),
            weight_grams=lines_weight_grams(priced),
        )
        method = next((candidate for candidate in available if candidate.pk == shipping_method_id), None)
        if method is None:
            raise ValidationFailed(
                "This shipping method does not deliver this cart to this address; choose one of "
                "GET /api/shipping-methods/.",
                code=OrderErrorCode.SHIPPING_METHOD_UNAVAILABLE,
                attr="shipping_method_id",
            )
    elif shipping_required and shipping_is_configured():
        raise ValidationFailed(
            "Choose a shipping method (GET /api/shipping-methods/ lists those for this address).",
            code=OrderErrorCode.SHIPPING_METHOD_REQUIRED,
            attr="shipping_method_id",
        )
    rates = tax_rates
    if rates is None:
        rates = {
            tax_class: PricingTaxRate(name=rate.name, rate=rate.rate)
            for tax_class, rate in tax_rates_for(country=destination.country, region=destination.region).items()
        }
    breakdown = price_checkout(
        lines=priced,
        currency=currency,
        prices_include_tax=settings.PRICES_INCLUDE_TAX,
        tax_rates=rates,
        shipping=shipping_quote(method) if method is not None else None,
        voucher=voucher,
    )
    return CheckoutPrice(breakdown=breakdown, shipping_method=method)


# --- Vouchers (the rules and writes are orders.vouchers) ------------------------------------------


def voucher_code_normalize(code: str | None) -> str:
    """A code as it is stored and matched: trimmed, upper-case."""
    return (code or "").strip().upper()


def voucher_get_by_code(*, code: str | None) -> Voucher | None:
    """The voucher of a code typed in any case, active or not (orders.vouchers.voucher_check gives
    an unknown and an inactive code the same answer); None when there is none."""
    normalized = voucher_code_normalize(code)
    if not normalized:
        return None
    return Voucher.objects.filter(code=normalized).first()


@dataclass(frozen=True)
class VoucherScope:
    """What pricing needs of a voucher, in the fields of orders.pricing.VoucherTerms (build one with
    `VoucherTerms(**dataclasses.asdict(scope))`). `product_ids` and `category_ids` both empty: the
    whole cart; otherwise a line is eligible when its product is in `product_ids` or its product's
    category in `category_ids`, which already holds every sub-category of the voucher's categories."""

    code: str
    kind: str
    value: Decimal
    product_ids: frozenset[int]
    category_ids: frozenset[int]

    @property
    def is_whole_cart(self) -> bool:
        return not self.product_ids and not self.category_ids

    def covers(self, *, product_id: int, category_id: int | None) -> bool:
        return self.is_whole_cart or product_id in self.product_ids or category_id in self.category_ids


def _with_descendants(category_ids: Iterable[int]) -> frozenset[int]:
    """The categories and every category below them, to any depth (one query for the whole tree)."""
    start = set(category_ids)
    if not start:
        return frozenset()
    forest = category_forest()
    found: set[int] = set()
    stack = [forest.nodes[pk] for pk in start if pk in forest.nodes]
    while stack:
        node = stack.pop()
        if node.id not in found:
            found.add(node.id)
            stack.extend(node.children)
    return frozenset(found)


class _IdList(Aggregate):
    """The ids of a group as one text, "3,5,8": a voucher's products or categories read within its own
    row. GROUP_CONCAT on SQLite, STRING_AGG on PostgreSQL (Django 5.2 has no aggregate for both)."""

    function = "GROUP_CONCAT"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            function="STRING_AGG",
            template="%(function)s((%(expressions)s)::text, ',')",
            **extra_context,
        )


def _ids_of(through, column: str) -> Subquery:
    rows = through.objects.filter(voucher_id=OuterRef("pk")).order_by().values("voucher_id")
    return Subquery(rows.annotate(ids=_IdList(column)).values("ids"))


def _with_scope(queryset: QuerySet[Voucher]) -> QuerySet[Voucher]:
    """The vouchers with the ids of the products and categories they name (`scope_product_ids`,
    `scope_category_ids`: text, None for none), so a voucher and its scope are one query."""
    return queryset.annotate(
        scope_product_ids=_ids_of(Voucher.products.through, "product_id"),
        scope_category_ids=_ids_of(Voucher.categories.through, "category_id"),
    )


def _parse_ids(text: str | None) -> frozenset[int]:
    return frozenset(int(part) for part in (text or "").split(",") if part)


def _scope_of(voucher: Voucher) -> VoucherScope:
    """The scope of a voucher read through `_with_scope` (a query more when it names categories: the
    category tree, for their sub-categories)."""
    return VoucherScope(
        code=voucher.code,
        kind=voucher.kind,
        value=voucher.value,
        product_ids=_parse_ids(voucher.scope_product_ids),
        category_ids=_with_descendants(_parse_ids(voucher.scope_category_ids)),
    )


def voucher_scope_get(*, voucher: Voucher) -> VoucherScope:
    """The voucher's kind, value and eligibility (one query; two when it names a category)."""
    return _scope_of(_with_scope(Voucher.objects.filter(pk=voucher.pk)).get())


def voucher_customer_email(user_or_email) -> str:
    """The e-mail a customer's uses are counted by, lower-cased: a guest's, or an account's."""
    if isinstance(user_or_email, str):
        return user_or_email.strip().lower()
    email = getattr(user_or_email, "email", "") if getattr(user_or_email, "is_authenticated", False) else ""
    return (email or "").strip().lower()


def voucher_customer_q(user_or_email) -> Q | None:
    """The redemptions of one customer: an account's (also those placed as a guest with its e-mail),
    or a guest e-mail's. None for an anonymous cart, which has neither yet."""
    email = voucher_customer_email(user_or_email)
    is_user = not isinstance(user_or_email, str) and getattr(user_or_email, "is_authenticated", False)
    if is_user:
        return Q(user=user_or_email) | Q(email=email) if email else Q(user=user_or_email)
    return Q(email=email) if email else None


@dataclass(frozen=True)
class CheckoutVoucher:
    """A cart's voucher as checkout checks and prices it: the row, its scope, and `customer_uses`, the
    customer's uses so far when the voucher limits them (None when it does not, or no customer is
    known). `use_taken`: this checkout has counted its use (orders.vouchers.voucher_use_take), so the
    rules that do not depend on the cart were checked then, under the voucher's lock."""

    voucher: Voucher
    scope: VoucherScope
    customer_uses: int | None
    use_taken: bool = False


def voucher_checkout_get(*, voucher_id: int, user_or_email=None) -> CheckoutVoucher | None:
    """The voucher with its scope and, when it has a per-customer limit, this customer's uses so far:
    one query (a second when it names categories). None when the voucher is gone."""
    queryset = _with_scope(Voucher.objects.filter(pk=voucher_id))
    customer = voucher_customer_q(user_or_email)
    if customer is not None:
        uses = VoucherRedemption.objects.filter(customer, voucher_id=OuterRef("pk")).order_by().values("voucher_id")
        queryset = queryset.annotate(
            customer_uses=Case(
                When(per_customer_limit__isnull=True, then=Value(None)),
                default=Coalesce(Subquery(uses.annotate(n=Count("pk")).values("n")), 0),
                output_field=IntegerField(),
            )
        )
    voucher = queryset.first()
    if voucher is None:
        return None
    return CheckoutVoucher(
        voucher=voucher, scope=_scope_of(voucher), customer_uses=getattr(voucher, "customer_uses", None)
    )


def voucher_eligible_subtotal(*, scope: VoucherScope, lines) -> Decimal:
    """The part of the cart the voucher applies to: the sum of the `line_total` of the lines it covers.
    `lines` are cart.selectors.CartLine (each `item` with its product loaded)."""
    return sum(
        (
            line.line_total
            for line in lines
            if scope.covers(product_id=line.item.product_id, category_id=line.item.product.category_id)
        ),
        Decimal("0.00"),
    )


def voucher_list(*, search: str = "") -> QuerySet[Voucher]:
    """Every voucher, newest first, with its categories and products (three queries a page);
    `search` matches part of the code in any case (a generated batch by its prefix)."""
    queryset = Voucher.objects.prefetch_related("categories", "products").order_by("-created_at", "-id")
    search = voucher_code_normalize(search)
    return queryset.filter(code__contains=search) if search else queryset


def voucher_get(*, voucher_id: int) -> Voucher:
    """One voucher for staff. Raises NotFound."""
    voucher = voucher_list().filter(pk=voucher_id).first()
    if voucher is None:
        raise NotFound("Voucher not found.")
    return voucher


# --- Returns ----------------------------------------------------------------------------------------


def _returns() -> QuerySet[OrderReturn]:
    return OrderReturn.objects.select_related("order").prefetch_related(
        Prefetch("lines", queryset=OrderReturnLine.objects.select_related("order_item").order_by("id")),
        Prefetch("status_history", queryset=OrderReturnStatusChange.objects.order_by("created_at", "id")),
    )


def return_list_for_order(*, user, order_id: int) -> list[OrderReturn]:
    """The returns of one order the user may see (their own; any for staff who may see orders), oldest
    first. Raises NotFound otherwise."""
    order_check_access(user=user, order_id=order_id)
    return list(_returns().filter(order_id=order_id).order_by("created_at", "id"))


def return_list(*, status: str = "") -> QuerySet[OrderReturn]:
    """Staff's queue: every return (one status with `status`), oldest first, so the longest waiting
    comes first."""
    queryset = _returns().order_by("created_at", "id")
    return queryset.filter(status=status) if status else queryset


def return_get(*, return_id: int) -> OrderReturn:
    found = _returns().filter(pk=return_id).first()
    if found is None:
        raise NotFound("Return not found.", code=OrderErrorCode.RETURN_NOT_FOUND)
    return found
