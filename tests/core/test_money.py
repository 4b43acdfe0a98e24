"""novacart.money: each currency's minor unit, known in one place (payments and pricing use it)."""

from decimal import Decimal

import pytest

from novacart.money import currency_exponent, format_money, money_places, quantize_money
from payments.provider_types import from_minor_units, to_minor_units


@pytest.mark.parametrize(("currency", "exponent", "places"), [("usd", 2, 2), ("JPY", 0, 0), ("kwd", 3, 2)])
def test_a_currency_has_its_providers_minor_unit_and_our_two_places_at_most(currency, exponent, places):
    assert (currency_exponent(currency), money_places(currency)) == (exponent, places)


def test_money_rounds_half_up_to_the_currencys_places():
    assert quantize_money(Decimal("0.125"), "usd") == Decimal("0.13")  # half-even would say 0.12
    assert quantize_money(Decimal("2.5"), "jpy") == Decimal("3")
    assert quantize_money(Decimal("1.2345"), "kwd") == Decimal("1.23")
    assert (format_money(Decimal("19.9"), "eur"), format_money(Decimal("500.00"), "jpy")) == ("19.90", "500")


def test_payments_still_convert_three_decimal_currencies_in_thousandths():
    assert to_minor_units(Decimal("1.23"), "kwd") == 1230
    assert from_minor_units(1230, "kwd") == Decimal("1.230")
    assert to_minor_units(Decimal("500"), "jpy") == 500
