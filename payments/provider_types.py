"""Provider-neutral payment types and money conversion. Imports no provider.

Services and webhooks speak only these types; each provider module (`stripe_client`,
`dummy_gateway`) turns its provider's raw data into them, once. Amounts cross the gateway
interface as `Decimal` in the currency's major unit going in, and come back as the provider's
integer minor units (`*_minor`); `to_minor_units` / `from_minor_units` are the only conversions.
Each currency's minor unit (0 places for JPY, 3 for KWD) is `novacart.money.currency_exponent`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Generic, Protocol, TypeVar, runtime_checkable

from novacart.money import currency_exponent


def to_minor_units(amount: Decimal, currency: str) -> int:
    """`Decimal("19.99"), "usd"` -> 1999; `Decimal("500"), "jpy"` -> 500.

    Raises ValueError when the amount has more precision than the currency allows (e.g. 500.50 JPY):
    rounding money silently is how totals drift.
    """
    exponent = currency_exponent(currency)
    scaled = Decimal(amount) * (Decimal(10) ** exponent)
    whole = scaled.to_integral_value(rounding=ROUND_DOWN)
    if whole != scaled:
        raise ValueError(f"{amount} {currency.upper()} cannot be expressed in the currency's minor unit")
    return int(whole)


def from_minor_units(amount_minor: int, currency: str) -> Decimal:
    """1999, "usd" -> Decimal("19.99"); 500, "jpy" -> Decimal("500")."""
    exponent = currency_exponent(currency)
    return (Decimal(int(amount_minor)) / (Decimal(10) ** exponent)).quantize(Decimal(1).scaleb(-max(exponent, 0)))


class GatewayError(Exception):
    """The provider failed, refused or could not be reached.

    `retryable`: a network error, timeout, 5xx or 409 from the provider (the same request may
    succeed later); `rate_limited`: the provider answered 429; `not_found`: the object does not
    exist at the provider.
    """

    def __init__(self, message: str, *, retryable: bool = False, rate_limited: bool = False, not_found: bool = False):
        super().__init__(message)
        self.retryable = retryable
        self.rate_limited = rate_limited
        self.not_found = not_found


class WebhookSignatureError(Exception):
    """Missing, malformed or wrong signature, or a timestamp outside the tolerance."""


class WebhookPayloadError(Exception):
    """The signed body is not an event we can read. `detail` and `attr` are what the client is told."""

    def __init__(self, message: str, *, detail: str, attr: str | None = None):
        super().__init__(message)
        self.detail = detail
        self.attr = attr


@dataclass(frozen=True)
class ProviderIntent:
    """A payment attempt at the provider (a Stripe PaymentIntent)."""

    id: str
    client_secret: str
    # Stripe's vocabulary: requires_payment_method, requires_confirmation, requires_action,
    # processing, requires_capture, canceled, succeeded.
    status: str
    amount_minor: int | None
    currency: str
    metadata: dict = field(default_factory=dict)
    amount_received_minor: int | None = None
    last_error: str = ""  # the provider's reason for the last failed attempt
    cancellation_reason: str = ""

    @property
    def is_usable(self) -> bool:
        """The customer can still pay with this intent (or already has)."""
        return self.status != "canceled"

    @property
    def taken_minor(self) -> int | None:
        """What the provider says it took: the amount received, else the amount asked."""
        return self.amount_received_minor if self.amount_received_minor is not None else self.amount_minor


@dataclass(frozen=True)
class ProviderRefund:
    id: str
    status: str  # pending, requires_action, succeeded, failed, canceled
    payment_intent_id: str
    amount_minor: int
    currency: str
    metadata: dict = field(default_factory=dict)  # what we sent with it (`refund_id`: our Refund's id)
    failure_reason: str = ""

    @property
    def shop_refund_id(self) -> int | None:
        """Our payments.Refund id, when the refund was asked for by the shop (its metadata says)."""
        value = str(self.metadata.get("refund_id") or "")
        return int(value) if value.isdigit() else None


@dataclass(frozen=True)
class ProviderChargeRefund:
    """The provider's word that (some of) a payment's money went back (Stripe's charge.refunded)."""

    charge_id: str
    payment_intent_id: str
    is_full: bool
    amount_minor: int | None
    amount_refunded_minor: int | None
    refund_id: str = ""
    # The refunds the event lists (Stripe lists them only when its API version expands
    # `charge.refunds`; Razorpay's refund.processed carries the one refund).
    refunds: tuple[ProviderRefund, ...] = ()


@dataclass(frozen=True)
class ProviderCheckoutSession:
    """A hosted payment page at the provider (a Stripe Checkout Session)."""

    id: str
    url: str | None
    status: str  # open, complete, expired
    payment_status: str  # paid, unpaid, no_payment_required
    amount_minor: int | None
    currency: str
    payment_intent_id: str | None
    metadata: dict = field(default_factory=dict)

    @property
    def is_paid(self) -> bool:
        return self.payment_status in ("paid", "no_payment_required")


@dataclass(frozen=True)
class ProviderCharge:
    """One attempt to pay a provider order (a Razorpay payment, `pay_...`): the browser's checkout
    names it, and the provider is asked about it before anything is applied.

    `order_id` is the provider object we record as Payment.provider_payment_id (a Razorpay order).
    """

    id: str
    order_id: str
    # Razorpay's vocabulary: created, authorized, captured, refunded, failed.
    status: str
    amount_minor: int | None
    currency: str
    last_error: str = ""

    @property
    def is_captured(self) -> bool:
        """The money is taken (a later refund does not undo that it was)."""
        return self.status in ("captured", "refunded")


class EventKind(StrEnum):
    """What a provider event means to us, whatever the provider calls it."""

    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_CANCELED = "payment_canceled"
    CHECKOUT_COMPLETED = "checkout_completed"
    CHECKOUT_FAILED = "checkout_failed"
    CHECKOUT_EXPIRED = "checkout_expired"
    CHARGE_REFUNDED = "charge_refunded"
    REFUND_UPDATED = (
        "refund_updated"  # one refund changed (succeeded, failed): Stripe's refund.*, Razorpay's refund.failed
    )


EventSubject = ProviderIntent | ProviderCheckoutSession | ProviderChargeRefund | ProviderRefund


@dataclass(frozen=True)
class ProviderEvent:
    """One verified provider event. `kind` is None for a type we do not act on (recorded, answered 200)."""

    provider: str
    id: str
    type: str  # the provider's own name for it, as recorded
    kind: EventKind | None
    subject: EventSubject | None
    payload: dict  # the body as the provider sent it, as recorded


class PaymentGateway(Protocol):
    name: str  # a payments.models.Payment.Provider value

    @property
    def publishable_key(self) -> str: ...

    def create_payment_intent(
        self, *, amount: Decimal, currency: str, metadata: dict, idempotency_key: str
    ) -> ProviderIntent: ...

    def retrieve_payment_intent(self, intent_id: str) -> ProviderIntent: ...

    def create_refund(
        self, *, payment_intent_id: str, amount: Decimal, currency: str, metadata: dict, idempotency_key: str
    ) -> ProviderRefund: ...

    def list_refunds(self, payment_intent_id: str) -> list[ProviderRefund]:
        """Every refund the provider holds for the payment (reconciliation)."""
        ...

    def create_checkout_session(
        self,
        *,
        amount: Decimal,
        currency: str,
        description: str,
        success_url: str,
        cancel_url: str,
        metadata: dict,
        customer_email: str,
        idempotency_key: str,
    ) -> ProviderCheckoutSession: ...

    def retrieve_checkout_session(self, session_id: str) -> ProviderCheckoutSession: ...


@runtime_checkable
class SignedCheckoutGateway(Protocol):
    """A gateway whose browser checkout hands back a signed (order, charge) pair to verify (Razorpay)."""

    name: str

    def checkout_signature_is_valid(self, *, order_id: str, charge_id: str, signature: str) -> bool: ...

    def retrieve_charge(self, charge_id: str) -> ProviderCharge: ...

    def capture_charge(self, *, charge_id: str, amount: Decimal, currency: str) -> ProviderCharge: ...


Client = TypeVar("Client")


class ClientsByConfig(Generic[Client]):
    """One SDK client per configuration, built once (under a lock, so two threads never build two)
    and reused: each provider module keeps one of these, keyed by the settings its client is made
    from, so a test pointing the API base at a fake server gets a client of its own."""

    def __init__(self) -> None:
        self._clients: dict[tuple, Client] = {}
        self._lock = threading.Lock()

    def get(self, config: tuple, build: Callable[..., Client]) -> Client:
        """The client for `config`, made by `build(*config)` the first time."""
        with self._lock:
            client = self._clients.get(config)
            if client is None:
                client = self._clients[config] = build(*config)
            return client


# --- Reading a provider's JSON leniently: a webhook body is signed, not well-formed --------------
# Each provider module reads fields through these, so a missing or mistyped field is an empty value
# its parser then refuses or ignores, never a TypeError.


def json_str(value) -> str:
    return value if isinstance(value, str) else ""


def json_int_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def json_dict(value) -> dict:
    # Razorpay, for one, sends `"notes": []` for an object without notes.
    return value if isinstance(value, dict) else {}
