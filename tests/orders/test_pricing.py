"""orders.pricing: the one function every number a customer pays comes from. Pure, so no database.

Known answers are worked out by hand in the comments; the property tests then check the rules of
the module's docstring over random carts (both tax modes, 2- and 0-decimal currencies)."""

from decimal import ROUND_FLOOR, Decimal, localcontext

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from novacart.money import money_places, quantize_money
from orders.pricing import (
    PricingLine,
    ShippingQuote,
    TaxRate,
    VoucherKind,
    VoucherTerms,
    lines_subtotal,
    lines_weight_grams,
    price_checkout,
    refund_amount_for,
)

D = Decimal
VAT20 = TaxRate(name="VAT 20%", rate=D("0.20"))
VAT5 = TaxRate(name="VAT 5%", rate=D("0.05"))
TAX10 = TaxRate(name="Tax 10%", rate=D("0.10"))


def line(key, unit_price, quantity=1, *, product_id=None, category_id=None, tax_class="standard", weight_grams=0):
    return PricingLine(
        key=key,
        variant_id=100 + key,
        product_id=key if product_id is None else product_id,
        category_id=category_id,
        quantity=quantity,
        unit_price=D(unit_price),
        tax_class=tax_class,
        weight_grams=weight_grams,
    )


def price(lines, *, currency="usd", prices_include_tax=False, tax_rates=None, shipping=None, voucher=None):
    return price_checkout(
        lines=lines,
        currency=currency,
        prices_include_tax=prices_include_tax,
        tax_rates={"standard": VAT20} if tax_rates is None else tax_rates,
        shipping=shipping,
        voucher=voucher,
    )


def money(breakdown):
    """The amounts of a breakdown as strings, lines by key."""
    body = breakdown.as_dict()
    return {
        "lines": {
            row["key"]: (row["subtotal"], row["discount"], row["tax"], row["line_total"]) for row in body["lines"]
        },
        **{
            name: body[name]
            for name in ("subtotal", "discount_total", "shipping_total", "shipping_tax", "tax_total", "total")
        },
        "tax_lines": [(row["name"], row["amount"]) for row in body["tax_lines"]],
    }


# --- Known answers --------------------------------------------------------------------------------


def test_each_line_is_rounded_half_up_and_totals_are_sums_of_rounded_lines():
    # given three lines at 0.335 and 10% tax on top
    lines = [line(1, "0.335"), line(2, "0.335"), line(3, "0.335")]

    # when
    breakdown = price(lines, tax_rates={"standard": TAX10})

    # then each line is 0.335 -> 0.34, its tax 0.034 -> 0.03, so 0.37; the cart adds those up:
    # subtotal 1.02 (not round(1.005) = 1.01), tax 0.09 (not round(0.102) = 0.10), total 1.11
    assert money(breakdown) == {
        "lines": dict.fromkeys((1, 2, 3), ("0.34", "0.00", "0.03", "0.37")),
        "subtotal": "1.02",
        "discount_total": "0.00",
        "shipping_total": "0.00",
        "shipping_tax": "0.00",
        "tax_total": "0.09",
        "total": "1.11",
        "tax_lines": [("Tax 10%", "0.09")],
    }
    assert breakdown.as_dict()["lines"][0]["unit_price"] == "0.335"  # shown as priced, not rounded


def test_half_a_minor_unit_rounds_up_not_to_even():
    # given 0.125 (half-even would give 0.12) and 0.25, whose 10% tax is 0.025 (half-even: 0.02)
    breakdown = price([line(1, "0.125"), line(2, "0.25")], tax_rates={"standard": TAX10})

    # then 0.125 -> 0.13 (its tax 0.013 -> 0.01) and the tax 0.025 -> 0.03
    assert [(p.subtotal, p.tax) for p in breakdown.lines] == [(D("0.13"), D("0.01")), (D("0.25"), D("0.03"))]


def test_a_100_percent_voucher_leaves_shipping_and_its_tax():
    # given 2 x 19.99 + 5.00 with shipping 4.99, 20% tax on top, and a 100% voucher
    lines = [line(1, "19.99", 2), line(2, "5.00")]
    shipping = ShippingQuote(method_id=7, name="Standard", price=D("4.99"))
    voucher = VoucherTerms(code="ALL", kind="percent", value=D("100"))

    breakdown = price(lines, shipping=shipping, voucher=voucher)

    # then the lines are 0 (never negative) and the customer pays 4.99 + round(0.998) = 5.99
    assert money(breakdown) == {
        "lines": {1: ("39.98", "39.98", "0.00", "0.00"), 2: ("5.00", "5.00", "0.00", "0.00")},
        "subtotal": "44.98",
        "discount_total": "44.98",
        "shipping_total": "4.99",
        "shipping_tax": "1.00",
        "tax_total": "1.00",
        "total": "5.99",
        "tax_lines": [("VAT 20%", "1.00")],
    }
    assert breakdown.voucher == "ALL"
    assert (breakdown.shipping_method_id, breakdown.shipping_method_name) == (7, "Standard")


def test_a_zero_decimal_currency_has_no_fractions_anywhere():
    # given JPY: 3 x 1234 + 1 x 999 = 4701, a 15% voucher, shipping 500, 10% tax on top
    lines = [line(1, "1234.00", 3), line(2, "999.00")]
    shipping = ShippingQuote(method_id=1, name="Yamato", price=D("500.00"))
    voucher = VoucherTerms(code="JP15", kind="percent", value=D("15"))

    breakdown = price(lines, currency="jpy", tax_rates={"standard": TAX10}, shipping=shipping, voucher=voucher)

    # then the discount is round(705.15) = 705, spread in whole yen: 705 * 3702 / 4701 = 555.18 and
    # 705 * 999 / 4701 = 149.82 round down to 555 + 149; the one yen left goes to the larger
    # remainder (line 2): 555 and 150. Nets 3147 and 849, tax round(314.7) = 315 and
    # round(84.9) = 85, shipping tax 50: tax 450, total 4701 - 705 + 500 + 450 = 4946.
    assert money(breakdown) == {
        "lines": {1: ("3702", "555", "315", "3462"), 2: ("999", "150", "85", "934")},
        "subtotal": "4701",
        "discount_total": "705",
        "shipping_total": "500",
        "shipping_tax": "50",
        "tax_total": "450",
        "total": "4946",
        "tax_lines": [("Tax 10%", "450")],
    }
    amounts = [breakdown.subtotal, breakdown.discount_total, breakdown.tax_total, breakdown.total]
    amounts += [getattr(priced, name) for priced in breakdown.lines for name in ("subtotal", "discount", "tax")]
    assert all(amount.as_tuple().exponent == 0 for amount in amounts)


def test_tax_inclusive_prices_with_a_percentage_voucher():
    # given prices that include tax: 2 x 12.00 at 20%, 9.99 at 5%, shipping 3.95, a 10% voucher
    lines = [line(1, "12.00", 2), line(2, "9.99", tax_class="reduced")]
    shipping = ShippingQuote(method_id=2, name="Royal Mail", price=D("3.95"))
    voucher = VoucherTerms(code="TEN", kind="percent", value=D("10"))

    breakdown = price(
        lines,
        prices_include_tax=True,
        tax_rates={"standard": VAT20, "reduced": VAT5},
        shipping=shipping,
        voucher=voucher,
    )

    # then the discount is round(3.399) = 3.40, spread in pence: 340 * 2400 / 3399 = 240.07 and
    # 340 * 999 / 3399 = 99.93 -> 240 + 99, the penny left to line 2 (larger remainder): 2.40 and 1.00.
    # Tax inside: 21.60 * 0.2 / 1.2 = 3.60; 8.99 * 0.05 / 1.05 = 0.428 -> 0.43; shipping
    # 3.95 / 6 = 0.658 -> 0.66. The customer pays 33.99 - 3.40 + 3.95 = 34.54, tax 4.69 inside.
    assert money(breakdown) == {
        "lines": {1: ("24.00", "2.40", "3.60", "21.60"), 2: ("9.99", "1.00", "0.43", "8.99")},
        "subtotal": "33.99",
        "discount_total": "3.40",
        "shipping_total": "3.95",
        "shipping_tax": "0.66",
        "tax_total": "4.69",
        "total": "34.54",
        "tax_lines": [("VAT 20%", "4.26"), ("VAT 5%", "0.43")],
    }
    assert breakdown.shipping_charged == D("3.95")  # its tax is inside


def test_a_fixed_voucher_bigger_than_the_eligible_subtotal_gives_the_eligible_subtotal():
    # given 50.00 off lines of category 10, and only 15.00 of the cart in it
    lines = [line(1, "15.00", category_id=10), line(2, "30.00", category_id=20)]
    voucher = VoucherTerms(code="FIFTY", kind=VoucherKind.FIXED, value=D("50"), category_ids=frozenset({10}))

    breakdown = price(lines, voucher=voucher)

    # then 15.00 off line 1 only; line 2 pays 30.00 + 6.00 tax
    assert money(breakdown) == {
        "lines": {1: ("15.00", "15.00", "0.00", "0.00"), 2: ("30.00", "0.00", "6.00", "36.00")},
        "subtotal": "45.00",
        "discount_total": "15.00",
        "shipping_total": "0.00",
        "shipping_tax": "0.00",
        "tax_total": "6.00",
        "total": "36.00",
        "tax_lines": [("VAT 20%", "6.00")],
    }


def test_a_free_shipping_voucher_makes_shipping_and_its_tax_zero():
    shipping = ShippingQuote(method_id=3, name="DHL", price=D("4.99"))
    voucher = VoucherTerms(code="SHIPFREE", kind="free_shipping")

    breakdown = price([line(1, "10.00")], shipping=shipping, voucher=voucher)

    assert (breakdown.discount_total, breakdown.shipping_total, breakdown.shipping_tax) == (D("0"), D("0"), D("0"))
    assert breakdown.tax_total == D("2.00") and breakdown.total == D("12.00")
    assert breakdown.tax_lines[0].amount == D("2.00")  # the line's tax, no shipping tax in it
    assert breakdown.shipping_method_id == 3 and breakdown.voucher == "SHIPFREE"


def test_a_free_shipping_voucher_for_other_products_leaves_shipping_charged():
    shipping = ShippingQuote(method_id=3, name="DHL", price=D("4.99"))
    voucher = VoucherTerms(code="SHIPFREE", kind="free_shipping", product_ids=frozenset({99}))

    breakdown = price([line(1, "10.00")], shipping=shipping, voucher=voucher)

    assert (breakdown.shipping_total, breakdown.shipping_tax, breakdown.total) == (D("4.99"), D("1.00"), D("17.99"))


@pytest.mark.parametrize(
    ("unit_price", "shipping_total"),
    [("49.99", "4.99"), ("50.00", "0.00"), ("80.00", "0.00")],
)
def test_shipping_is_free_from_free_over_on_the_subtotal_before_discounts(unit_price, shipping_total):
    # given free shipping over 50.00 and a 10% voucher (50.00 becomes 45.00: still free)
    shipping = ShippingQuote(method_id=4, name="Standard", price=D("4.99"), free_over=D("50.00"))
    voucher = VoucherTerms(code="TEN", kind="percent", value=D("10"))

    breakdown = price([line(1, unit_price)], tax_rates={}, shipping=shipping, voucher=voucher)

    assert breakdown.shipping_total == D(shipping_total)
    assert breakdown.shipping_method_id == 4


def test_only_lines_of_the_vouchers_products_or_categories_are_discounted():
    # given a voucher for product 1 and for category 20: a line qualifies by either
    lines = [
        line(1, "10.00", product_id=1, category_id=10),  # by its product
        line(2, "20.00", product_id=2, category_id=20),  # by its category
        line(3, "40.00", product_id=3, category_id=30),  # neither
        line(4, "80.00", product_id=4, category_id=None),  # neither, no category
    ]
    voucher = VoucherTerms(
        code="MIX", kind="percent", value=D("10"), product_ids=frozenset({1}), category_ids=frozenset({20})
    )

    breakdown = price(lines, tax_rates={}, voucher=voucher)

    assert [priced.discount for priced in breakdown.lines] == [D("1.00"), D("2.00"), D("0.00"), D("0.00")]
    assert breakdown.discount_total == D("3.00") and breakdown.total == D("147.00")


def test_a_voucher_with_an_empty_restriction_discounts_nothing():
    voucher = VoucherTerms(code="NONE", kind="percent", value=D("10"), product_ids=frozenset())

    breakdown = price([line(1, "10.00")], tax_rates={}, voucher=voucher)

    assert breakdown.discount_total == D("0.00") and breakdown.total == D("10.00")


def test_a_tax_class_without_a_rate_is_taxed_at_zero():
    lines = [line(1, "10.00", tax_class="books"), line(2, "10.00")]

    breakdown = price(lines)

    assert [priced.tax for priced in breakdown.lines] == [D("0.00"), D("2.00")]
    assert [(t.name, t.amount) for t in breakdown.tax_lines] == [("VAT 20%", D("2.00"))]
    assert breakdown.total == D("22.00")


def test_discount_units_left_over_go_to_the_largest_remainder_then_the_smallest_key():
    # given 0.10 off three equal lines: 3.33 cents each, 3 cents each and one cent left over
    lines = [line(7, "1.00"), line(3, "1.00"), line(5, "1.00")]
    voucher = VoucherTerms(code="DIME", kind="fixed", value=D("0.10"))

    breakdown = price(lines, tax_rates={}, voucher=voucher)

    # then the remainders tie and the smallest key (3) takes the cent
    assert {priced.key: priced.discount for priced in breakdown.lines} == {7: D("0.03"), 3: D("0.04"), 5: D("0.03")}


def test_rates_with_the_same_name_and_rate_share_a_tax_line_with_the_shipping_tax():
    lines = [line(1, "10.00"), line(2, "10.00", tax_class="clothing")]
    shipping = ShippingQuote(method_id=1, name="Standard", price=D("5.00"))

    breakdown = price(lines, tax_rates={"standard": VAT20, "clothing": VAT20}, shipping=shipping)

    assert [(t.name, t.rate, t.amount) for t in breakdown.tax_lines] == [("VAT 20%", D("0.20"), D("5.00"))]


def test_the_breakdown_renders_as_json_for_apis_and_snapshots():
    shipping = ShippingQuote(method_id=2, name="Royal Mail", price=D("3.95"))
    breakdown = price([line(1, "12.5", 2)], shipping=shipping, voucher=VoucherTerms(code="FIVE", kind="fixed", value=5))

    assert breakdown.as_dict() == {
        "lines": [
            {
                "key": 1,
                "variant_id": 101,
                "quantity": 2,
                "unit_price": "12.50",
                "subtotal": "25.00",
                "discount": "5.00",
                "tax": "4.00",
                "line_total": "24.00",
            }
        ],
        "subtotal": "25.00",
        "discount_total": "5.00",
        "shipping_total": "3.95",
        "shipping_tax": "0.79",
        "tax_total": "4.79",
        "total": "28.74",
        "currency": "usd",
        "prices_include_tax": False,
        "shipping_method": {"id": 2, "name": "Royal Mail"},
        "voucher": "FIVE",
        "tax_lines": [{"name": "VAT 20%", "rate": "0.20", "amount": "4.79"}],
    }


def test_an_empty_cart_costs_nothing():
    breakdown = price([])

    assert breakdown.as_dict()["total"] == "0.00" and breakdown.lines == () and breakdown.tax_lines == ()


def test_the_callers_decimal_context_changes_nothing():
    lines = [line(1, "0.335", 3), line(2, "9.99", tax_class="reduced")]
    rates = {"standard": VAT20, "reduced": TaxRate(name="Tax 7%", rate=D("0.07"))}
    voucher = VoucherTerms(code="X", kind="percent", value=D("12.5"))
    expected = price(lines, prices_include_tax=True, tax_rates=rates, voucher=voucher)

    with localcontext(prec=3, rounding=ROUND_FLOOR):
        got = price(lines, prices_include_tax=True, tax_rates=rates, voucher=voucher)

    assert got == expected


def test_shipping_selection_helpers_use_the_same_subtotal_and_weight():
    lines = [line(1, "0.335", 3, weight_grams=250), line(2, "9.99", weight_grams=1000)]

    assert lines_subtotal(lines=lines, currency="usd") == price(lines).subtotal == D("11.00")  # round(1.005) + 9.99
    assert lines_weight_grams(lines) == 1750


def test_refunding_units_one_at_a_time_returns_exactly_the_line_total():
    # given a line of 3 units that was charged 10.00
    priced = price([line(1, "10.00", 3)], tax_rates={}, voucher=VoucherTerms(code="X", kind="fixed", value=20)).line(1)
    assert priced.line_total == D("10.00")

    # when the units come back one by one: round(3.333) = 3.33, round(6.667) - 3.33, 10.00 - 6.67
    refunds = [refund_amount_for(priced, quantity=1, already_refunded=done, currency="usd") for done in range(3)]

    assert refunds == [D("3.33"), D("3.34"), D("3.33")] and sum(refunds) == priced.line_total
    assert refund_amount_for(priced, quantity=3, currency="usd") == D("10.00")
    assert refund_amount_for(priced, quantity=2, already_refunded=1, currency="usd") == D("6.67")


def test_refunding_more_units_than_the_line_has_is_refused():
    priced = price([line(1, "10.00", 2)]).line(1)

    with pytest.raises(ValueError):
        refund_amount_for(priced, quantity=2, already_refunded=1, currency="usd")
    with pytest.raises(ValueError):
        refund_amount_for(priced, quantity=0, currency="usd")


def test_input_no_cart_can_have_is_refused():
    with pytest.raises(TypeError):  # a float: money is Decimal
        PricingLine(key=1, variant_id=1, product_id=1, category_id=None, quantity=1, unit_price=0.1)
    with pytest.raises(ValueError):
        line(1, "1.00", 0)
    with pytest.raises(ValueError):
        line(1, "-1.00")
    with pytest.raises(ValueError):
        VoucherTerms(code="X", kind="percent", value=D("101"))
    with pytest.raises(ValueError):
        VoucherTerms(code="X", kind="bogof", value=D("1"))
    with pytest.raises(ValueError):
        price([line(1, "1.00"), line(1, "2.00")])


# --- Properties over random carts -----------------------------------------------------------------

PROPERTIES = settings(
    max_examples=200,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the repository
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # the autouse cache fixture is irrelevant here
)
CURRENCIES = ["usd", "eur", "jpy", "kwd"]
TAX_CLASSES = ["standard", "reduced", "zero", "unpriced"]


def _amounts(currency, *, high, finer=True):
    """Non-negative amounts on the currency's grid, or (finer) with one place more, like 0.335."""
    places = money_places(currency)
    extra = st.sampled_from([0, 1]) if finer else st.just(0)
    return st.builds(lambda n, more: D(n).scaleb(-(places + more)), st.integers(0, high), extra)


def _cart_strategy(currency, *, zero_rates):
    """Keyword arguments of `price_checkout` for a random cart in `currency`. Built once per currency
    (building strategies inside a draw made each example ten times slower)."""
    lines = st.lists(
        st.builds(
            PricingLine,
            key=st.integers(1, 10_000),
            variant_id=st.integers(1, 10_000),
            # vouchers name products and categories 1 to 5: some lines are never eligible
            product_id=st.integers(1, 8),
            category_id=st.none() | st.integers(1, 8),
            quantity=st.integers(1, 20),
            unit_price=_amounts(currency, high=200_000),
            tax_class=st.sampled_from(TAX_CLASSES),
        ),
        max_size=8,
        unique_by=lambda pricing_line: pricing_line.key,
    )
    rate = st.just(D(0)) if zero_rates else st.builds(lambda n: D(n).scaleb(-4), st.integers(0, 3000))
    # Names repeat across classes, so tax lines of one name and rate merge and others stay apart.
    tax_rate = st.builds(TaxRate, name=st.sampled_from(["VAT", "GST", "Sales tax"]), rate=rate)
    shipping = st.none() | st.builds(
        ShippingQuote,
        method_id=st.integers(1, 9),
        name=st.just("Ship"),
        price=_amounts(currency, high=5_000),
        free_over=st.none() | _amounts(currency, high=100_000, finer=False),
    )
    ids = st.none() | st.frozensets(st.integers(1, 5), max_size=3)
    percent = st.sampled_from([D(0), D(100)]) | st.builds(lambda n: D(n).scaleb(-2), st.integers(0, 10_000))
    voucher = st.none() | st.one_of(
        st.builds(
            VoucherTerms, code=st.just("PCT"), kind=st.just("percent"), value=percent, product_ids=ids, category_ids=ids
        ),
        st.builds(
            VoucherTerms,
            code=st.just("FIX"),
            kind=st.just("fixed"),
            value=_amounts(currency, high=300_000),
            product_ids=ids,
            category_ids=ids,
        ),
        st.builds(VoucherTerms, code=st.just("SHIP"), kind=st.just("free_shipping"), product_ids=ids, category_ids=ids),
    )
    return st.fixed_dictionaries(
        {
            "lines": lines,
            "currency": st.just(currency),
            "prices_include_tax": st.booleans(),
            "tax_rates": st.dictionaries(st.sampled_from(TAX_CLASSES[:3]), tax_rate),
            "shipping": shipping,
            "voucher": voucher,
        }
    )


_CARTS = {
    zero_rates: st.one_of([_cart_strategy(currency, zero_rates=zero_rates) for currency in CURRENCIES])
    for zero_rates in (False, True)
}


def carts(*, zero_rates=False):
    return _CARTS[zero_rates]


def _eligible(voucher, pricing_line):
    """The eligibility rule, written out again: no restriction, or its product or category listed."""
    if voucher.product_ids is None and voucher.category_ids is None:
        return True
    return pricing_line.product_id in (voucher.product_ids or ()) or pricing_line.category_id in (
        voucher.category_ids or ()
    )


def _all_amounts(breakdown):
    totals = ("subtotal", "discount_total", "shipping_total", "shipping_tax", "tax_total", "total")
    yield from (getattr(breakdown, name) for name in totals)
    for priced in breakdown.lines:
        yield from (priced.subtotal, priced.discount, priced.tax, priced.line_total)
    yield from (tax_line.amount for tax_line in breakdown.tax_lines)


@PROPERTIES
@given(cart=carts())
def test_property_the_total_equation_holds(cart):
    b = price_checkout(**cart)

    if b.prices_include_tax:
        assert b.total == b.subtotal - b.discount_total + b.shipping_total
    else:
        assert b.total == b.subtotal - b.discount_total + b.shipping_total + b.tax_total
    assert b.total == sum((priced.line_total for priced in b.lines), D(0)) + b.shipping_charged


@PROPERTIES
@given(cart=carts())
def test_property_no_amount_is_negative_and_every_amount_is_on_the_currency_grid(cart):
    b = price_checkout(**cart)

    step = D(1).scaleb(-money_places(cart["currency"]))
    for amount in _all_amounts(b):
        assert amount >= 0 and not amount.is_signed()
        assert amount.as_tuple().exponent == step.as_tuple().exponent


@PROPERTIES
@given(cart=carts())
def test_property_the_discount_is_the_vouchers_capped_at_the_eligible_subtotal_and_spread_exactly(cart):
    b = price_checkout(**cart)

    voucher, currency = cart["voucher"], cart["currency"]
    eligible = [voucher is not None and _eligible(voucher, pl) for pl in cart["lines"]]
    eligible_subtotal = sum((p.subtotal for p, ok in zip(b.lines, eligible, strict=True) if ok), D(0))
    assert b.discount_total <= eligible_subtotal
    assert b.discount_total == sum((priced.discount for priced in b.lines), D(0))
    for priced, ok in zip(b.lines, eligible, strict=True):
        assert priced.discount <= priced.subtotal
        assert ok or priced.discount == 0
    if voucher is None or voucher.kind == "free_shipping":
        assert b.discount_total == 0
    else:
        wanted = eligible_subtotal * voucher.value / 100 if voucher.kind == "percent" else voucher.value
        assert b.discount_total == min(quantize_money(wanted, currency), eligible_subtotal)
    # the spread is proportional: each share within one minor unit of its exact part
    step = D(1).scaleb(-money_places(currency))
    for priced, ok in zip(b.lines, eligible, strict=True):
        if ok and eligible_subtotal:
            assert abs(priced.discount - b.discount_total * priced.subtotal / eligible_subtotal) < step


@PROPERTIES
@given(cart=carts())
def test_property_lines_and_tax_lines_add_up(cart):
    b = price_checkout(**cart)

    currency = cart["currency"]
    for pricing_line, priced in zip(cart["lines"], b.lines, strict=True):
        assert priced.key == pricing_line.key and priced.quantity == pricing_line.quantity
        assert priced.subtotal == quantize_money(pricing_line.unit_price * pricing_line.quantity, currency)
        net = priced.subtotal - priced.discount
        assert priced.line_total == (net if b.prices_include_tax else net + priced.tax)
        tax_rate = cart["tax_rates"].get(pricing_line.tax_class)
        rate = tax_rate.rate if tax_rate else D(0)
        assert priced.tax == quantize_money(net * rate / (1 + rate) if b.prices_include_tax else net * rate, currency)
    assert b.subtotal == sum((priced.subtotal for priced in b.lines), D(0))
    assert b.tax_total == sum((priced.tax for priced in b.lines), D(0)) + b.shipping_tax
    assert b.tax_total == sum((tax_line.amount for tax_line in b.tax_lines), D(0))


@PROPERTIES
@given(cart=carts())
def test_property_shipping_follows_the_quote_free_over_and_the_voucher(cart):
    b = price_checkout(**cart)

    shipping, voucher = cart["shipping"], cart["voucher"]
    if shipping is None:
        assert (b.shipping_total, b.shipping_tax, b.shipping_method_id) == (0, 0, None)
        return
    voucher_frees = (
        voucher is not None
        and voucher.kind == "free_shipping"
        and (
            (voucher.product_ids is None and voucher.category_ids is None)
            or any(_eligible(voucher, pricing_line) for pricing_line in cart["lines"])
        )
    )
    is_free = voucher_frees or (shipping.free_over is not None and b.subtotal >= shipping.free_over)
    assert b.shipping_total == (0 if is_free else quantize_money(shipping.price, cart["currency"]))
    assert b.shipping_tax == 0 or b.shipping_total > 0
    if "standard" not in cart["tax_rates"]:
        assert b.shipping_tax == 0


@PROPERTIES
@given(cart=carts(zero_rates=True))
def test_property_with_zero_rates_both_tax_modes_charge_the_same(cart):
    inclusive = price_checkout(**{**cart, "prices_include_tax": True})
    exclusive = price_checkout(**{**cart, "prices_include_tax": False})

    assert inclusive.total == exclusive.total
    assert inclusive.tax_total == exclusive.tax_total == 0
    assert [p.line_total for p in inclusive.lines] == [p.line_total for p in exclusive.lines]


@PROPERTIES
@given(cart=carts(), steps=st.lists(st.integers(1, 20), min_size=1, max_size=6))
def test_property_refunds_in_any_steps_return_exactly_each_line_total(cart, steps):
    b = price_checkout(**cart)

    for priced in b.lines:
        done, refunded, turn = 0, D(0), 0
        while done < priced.quantity:
            step = min(steps[turn % len(steps)], priced.quantity - done)
            amount = refund_amount_for(priced, quantity=step, already_refunded=done, currency=cart["currency"])
            assert amount >= 0
            done, refunded, turn = done + step, refunded + amount, turn + 1
        assert refunded == priced.line_total
