"""What each currency's minor unit is, in one place. Pure: no Django, no settings.

Two questions with different answers for a few currencies:

- `currency_exponent`: the places of the currency's minor unit as payment providers count it
  (0 for JPY, 3 for KWD, 2 for most). `payments.provider_types` converts to and from integer minor
  units with it.
- `money_places` / `quantize_money`: the places the shop's own amounts carry. Our money columns have
  2 decimal places, so a three-decimal currency is priced in 2 places (its third digit is then
  always 0, which is also what Stripe requires); a zero-decimal currency in whole units.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# https://docs.stripe.com/currencies#zero-decimal (the same list holds for the other providers we use)
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
# https://docs.stripe.com/currencies#three-decimal (the last digit must be 0; our totals have 2 places)
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

# The decimal places of every money column (DecimalField(max_digits=12, decimal_places=2)).
STORED_MONEY_PLACES = 2


def currency_exponent(currency: str) -> int:
    """The places of the currency's minor unit: "jpy" -> 0, "kwd" -> 3, "usd" -> 2 (case-insensitive)."""
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def money_places(currency: str) -> int:
    """The places the shop's amounts in this currency carry: 0 for JPY, 2 for USD and also for KWD."""
    return min(currency_exponent(currency), STORED_MONEY_PLACES)


def money_step(currency: str) -> Decimal:
    """The smallest amount the shop charges in this currency: Decimal("0.01"), or Decimal("1") for JPY."""
    return Decimal(1).scaleb(-money_places(currency))


def quantize_money(amount: Decimal | int, currency: str) -> Decimal:
    """`amount` rounded half-up to the currency's `money_places`: 0.335 usd -> 0.34, 1234.5 jpy -> 1235."""
    return Decimal(amount).quantize(money_step(currency), rounding=ROUND_HALF_UP)


def format_money(amount: Decimal | int, currency: str) -> str:
    """The string an API or a snapshot shows: "19.90" (usd), "500" (jpy); rounded half-up first."""
    return str(quantize_money(amount, currency))
