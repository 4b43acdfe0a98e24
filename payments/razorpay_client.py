"""Razorpay: the only module that imports `razorpay` (razorpay-python 2.0.1).

It turns Razorpay's JSON (API answers and webhook events alike) into the provider-neutral types of
`payments.provider_types`, once, in the `*_from_razorpay` parsers below. Mapping onto our model:

- a Razorpay **order** (`order_...`) is what we record as `Payment.provider_payment_id`, like a
  Stripe PaymentIntent: created once per attempt, for the order total in paise, and the object the
  browser's Razorpay Checkout pays;
- a Razorpay **payment** (`pay_...`) is one try at paying that order (a `ProviderCharge`); it is
  looked up at Razorpay whenever it matters (verify, refunds), never trusted from the browser.

Capture: orders are created with `payment_capture=1`, so Razorpay captures an authorised payment by
itself. When verify still finds a payment only `authorized` (Razorpay captures asynchronously), the
service captures it for exactly the order's amount (`capture_charge`); capturing an already
captured payment is answered by Razorpay with an error, after which we read the payment again.

Idempotency: Razorpay's orders and refunds API takes no Idempotency-Key header. Both take a
`receipt` (at most 40 characters) and `notes`, and orders can be listed by receipt and a payment's
refunds listed, so every create here first looks for the object carrying our key as its receipt
and only creates when there is none. A retry after a lost answer finds the first object; two
concurrent first calls for one order may both create a Razorpay order, and both then answer with
the oldest carrying the receipt (the other is never shown to anyone and expires unpaid). A second
full refund is refused by Razorpay itself (nothing left to refund), and that refusal is answered
with the refund that carries our receipt.

The SDK maps every error answer to one of three exceptions without the HTTP status, sets no timeout
and print()s network errors; the session given to it (`_Session`) sets our timeout and raises error
answers and network failures as its own exceptions first, so 429, 5xx, 404 and timeouts become the
right `GatewayError` and the logs get our lines only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

import razorpay
import requests
from django.conf import settings

from novacart.parsers import load_json

from .provider_types import (
    ClientsByConfig,
    EventKind,
    GatewayError,
    ProviderCharge,
    ProviderChargeRefund,
    ProviderEvent,
    ProviderIntent,
    ProviderRefund,
    WebhookPayloadError,
    WebhookSignatureError,
    to_minor_units,
)
from .provider_types import json_dict as _dict
from .provider_types import json_int_or_none as _int_or_none
from .provider_types import json_str as _str

logger = logging.getLogger(__name__)

RECEIPT_MAX_LENGTH = 40  # Razorpay's limit for an order's or a refund's receipt
NOTES_MAX_VALUE_LENGTH = 256

# --- Parsing: Razorpay's JSON -> our types (lenient: a webhook body is signed, not well-formed) ---


def _currency(obj: dict) -> str:
    return _str(obj.get("currency")).lower()


def _entity(payload: dict, name: str) -> dict:
    return _dict(_dict(payload.get(name)).get("entity"))


# A Razorpay order's status in the vocabulary of ProviderIntent (Stripe's): `paid` is succeeded;
# `created` and `attempted` (a payment was tried, none captured) can still be paid.
ORDER_STATUSES = {"paid": "succeeded", "created": "requires_payment_method", "attempted": "requires_payment_method"}


def intent_from_razorpay_order(obj: dict) -> ProviderIntent:
    return ProviderIntent(
        id=_str(obj.get("id")),
        client_secret="",
        status=ORDER_STATUSES.get(_str(obj.get("status")), _str(obj.get("status"))),
        amount_minor=_int_or_none(obj.get("amount")),
        currency=_str(obj.get("currency")).lower(),
        metadata=dict(_dict(obj.get("notes"))),
        amount_received_minor=_int_or_none(obj.get("amount_paid")),
    )


def charge_from_razorpay(obj: dict) -> ProviderCharge:
    return ProviderCharge(
        id=_str(obj.get("id")),
        order_id=_str(obj.get("order_id")),
        status=_str(obj.get("status")),
        amount_minor=_int_or_none(obj.get("amount")),
        currency=_str(obj.get("currency")).lower(),
        last_error=str(obj.get("error_description") or obj.get("error_reason") or obj.get("error_code") or ""),
    )


def intent_from_razorpay_payment(obj: dict) -> ProviderIntent:
    """A payment event seen as its order (the object our Payment row records): captured is succeeded."""
    charge = charge_from_razorpay(obj)
    return ProviderIntent(
        id=charge.order_id,
        client_secret="",
        status="succeeded" if charge.is_captured else ("requires_payment_method" if charge.status == "failed" else ""),
        amount_minor=charge.amount_minor,
        currency=charge.currency,
        metadata=dict(_dict(obj.get("notes"))),
        amount_received_minor=charge.amount_minor if charge.is_captured else None,
        last_error=charge.last_error,
    )


# A refund's status in ProviderRefund's vocabulary.
REFUND_STATUSES = {"processed": "succeeded", "pending": "pending", "failed": "failed"}


def refund_from_razorpay(obj: dict, *, order_id: str) -> ProviderRefund:
    return ProviderRefund(
        id=_str(obj.get("id")),
        status=REFUND_STATUSES.get(_str(obj.get("status")), _str(obj.get("status"))),
        payment_intent_id=order_id,
        amount_minor=_int_or_none(obj.get("amount")) or 0,
        currency=_str(obj.get("currency")).lower(),
        metadata=dict(_dict(obj.get("notes"))),
        failure_reason=_str(obj.get("status")) if _str(obj.get("status")) == "failed" else "",
    )


def charge_refund_from_razorpay(refund: dict, payment: dict) -> ProviderChargeRefund:
    """`refund.processed` carries the refund and the payment it belongs to (with its order id)."""
    amount = _int_or_none(payment.get("amount"))
    refunded = _int_or_none(payment.get("amount_refunded"))
    is_full = payment.get("refund_status") == "full" or (
        amount is not None and refunded is not None and refunded >= amount
    )
    return ProviderChargeRefund(
        charge_id=_str(payment.get("id")) or _str(refund.get("payment_id")),
        payment_intent_id=_str(payment.get("order_id")),
        is_full=is_full,
        amount_minor=amount,
        amount_refunded_minor=refunded,
        refund_id=_str(refund.get("id")),
        refunds=(refund_from_razorpay(refund, order_id=_str(payment.get("order_id"))),) if refund else (),
    )


# Razorpay's events we act on: what each means, and how its payload is read.
EVENT_KINDS = {
    "payment.captured": (EventKind.PAYMENT_SUCCEEDED, lambda p: intent_from_razorpay_payment(_entity(p, "payment"))),
    "order.paid": (EventKind.PAYMENT_SUCCEEDED, lambda p: intent_from_razorpay_order(_entity(p, "order"))),
    "payment.failed": (EventKind.PAYMENT_FAILED, lambda p: intent_from_razorpay_payment(_entity(p, "payment"))),
    "refund.processed": (
        EventKind.CHARGE_REFUNDED,
        lambda p: charge_refund_from_razorpay(_entity(p, "refund"), _entity(p, "payment")),
    ),
    "refund.failed": (
        EventKind.REFUND_UPDATED,
        lambda p: refund_from_razorpay(_entity(p, "refund"), order_id=_str(_entity(p, "payment").get("order_id"))),
    ),
}

EVENT_ID_HEADER = "X-Razorpay-Event-Id"


def event_from_razorpay(event, *, event_id: str | None) -> ProviderEvent:
    """A Razorpay webhook body and its `X-Razorpay-Event-Id` as a ProviderEvent. Raises
    WebhookPayloadError without a usable event id, event name or payload object."""
    if not isinstance(event, dict):
        raise WebhookPayloadError("the event is not a JSON object", detail="The event is not a JSON object.")
    if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > 255:
        raise WebhookPayloadError(
            "no event id header", detail=f"The {EVENT_ID_HEADER} header is missing.", attr=EVENT_ID_HEADER
        )
    event_type, payload = event.get("event"), event.get("payload")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        raise WebhookPayloadError("no valid event", detail="The event has no valid event name.", attr="event")
    if not isinstance(payload, dict):
        raise WebhookPayloadError("no payload", detail="The event has no payload object.", attr="payload")
    kind, parse = EVENT_KINDS.get(event_type, (None, None))
    return ProviderEvent(
        provider="razorpay",
        id=event_id.strip(),
        type=event_type,
        kind=kind,
        subject=parse(payload) if parse else None,
        payload=event,
    )


# --- Signatures -------------------------------------------------------------------------------------


def _hmac_matches(secret: str, message: bytes, signature: str | None) -> bool:
    """HMAC-SHA256(secret, message) as hex, compared with `signature` in constant time (as bytes, so a
    header holding non-ASCII text is a mismatch rather than hmac.compare_digest's TypeError)."""
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "surrogateescape"))


NOT_AN_EVENT = "The body is not a Razorpay event."


def parse_webhook(payload: bytes, signature: str | None, event_id: str | None) -> ProviderEvent:
    """Verifies `X-Razorpay-Signature` (HMAC-SHA256 of the raw body with RAZORPAY_WEBHOOK_SECRET) and
    returns the event, whose id is the `X-Razorpay-Event-Id` header (Razorpay's events carry none in
    the body). Raises WebhookSignatureError, WebhookPayloadError."""
    if not _hmac_matches(settings.RAZORPAY_WEBHOOK_SECRET, payload, signature):
        raise WebhookSignatureError("X-Razorpay-Signature is missing or does not match the body")
    try:
        event = load_json(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:  # json.JSONDecodeError, JSONRefused
        raise WebhookPayloadError(f"{type(exc).__name__}: {exc}", detail=NOT_AN_EVENT) from exc
    return event_from_razorpay(event, event_id=event_id)


# --- The API client ---------------------------------------------------------------------------------


class _HTTPFailure(Exception):
    """An error answer, with the status the SDK's own exceptions leave out."""

    def __init__(self, status: int, description: str):
        super().__init__(f"HTTP {status}: {description}")
        self.status = status
        self.description = description


class _Unreachable(Exception):
    """No answer: a timeout or a connection that failed (the request may or may not have been carried out)."""


class _Session(requests.Session):
    """The SDK's HTTP session: our timeout on every request, and error answers raised with their
    status before the SDK turns them into exceptions that have none."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = super().request(method, url, **kwargs)
        except requests.RequestException as exc:
            # Raised as our own, so the SDK does not print() it on its way out.
            raise _Unreachable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            try:
                description = str(_dict(_dict(response.json()).get("error")).get("description") or "")
            except ValueError:
                description = response.text[:200]
            raise _HTTPFailure(response.status_code, description)
        return response


_clients: ClientsByConfig[razorpay.Client] = ClientsByConfig()


def _build_client(key_id, key_secret, base_url, timeout) -> razorpay.Client:
    if not key_id or not key_secret:
        raise GatewayError("RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET are not set")
    # The SDK's own retry (off by default) only repeats connection errors; we leave it off:
    # our callers retry, and every create here looks for its first object before creating.
    return razorpay.Client(session=_Session(timeout), auth=(key_id, key_secret), base_url=base_url.rstrip("/"))


def _client() -> razorpay.Client:
    """One client per configuration (tests point RAZORPAY_API_BASE at a fake server per test)."""
    config = (
        settings.RAZORPAY_KEY_ID,
        settings.RAZORPAY_KEY_SECRET,
        settings.RAZORPAY_API_BASE,
        settings.RAZORPAY_TIMEOUT_SECONDS,
    )
    return _clients.get(config, _build_client)


def _call(what: str, call):
    try:
        return call()
    except _HTTPFailure as exc:
        logger.warning("razorpay %s failed: %s", what, exc)
        message = f"Razorpay {what} failed: {exc.description or exc}"
        if exc.status == 429:
            raise GatewayError(message, retryable=True, rate_limited=True) from exc
        if exc.status >= 500:
            raise GatewayError(message, retryable=True) from exc
        if exc.status == 404 or "does not exist" in exc.description:
            raise GatewayError(message, not_found=True) from exc
        raise GatewayError(message) from exc
    except (_Unreachable, requests.RequestException) as exc:  # timeouts, refused connections, a non-JSON 2xx body
        logger.warning("razorpay %s failed: %s", what, exc)
        raise GatewayError(f"Razorpay {what} failed: {type(exc).__name__}", retryable=True) from exc
    except (razorpay.errors.BadRequestError, razorpay.errors.GatewayError, razorpay.errors.ServerError) as exc:
        logger.warning("razorpay %s failed: %s", what, exc)
        raise GatewayError(f"Razorpay {what} failed: {exc}") from exc


def _notes(metadata: dict, idempotency_key: str) -> dict:
    notes = {str(k): str(v)[:NOTES_MAX_VALUE_LENGTH] for k, v in metadata.items()}
    notes["idempotency_key"] = idempotency_key[:NOTES_MAX_VALUE_LENGTH]
    return notes


def _receipt(idempotency_key: str) -> str:
    """Our key as Razorpay's receipt, behind this installation's RAZORPAY_RECEIPT_PREFIX; hashed when
    longer than Razorpay takes."""
    receipt = f"{settings.RAZORPAY_RECEIPT_PREFIX}{idempotency_key}"
    if len(receipt) <= RECEIPT_MAX_LENGTH:
        return receipt
    return hashlib.sha256(receipt.encode()).hexdigest()[:RECEIPT_MAX_LENGTH]


def _items(collection) -> list[dict]:
    items = _dict(collection).get("items")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _oldest(objects: list[dict]) -> dict:
    return min(objects, key=lambda o: (_int_or_none(o.get("created_at")) or 0, _str(o.get("id"))))


class RazorpayGateway:
    name = "razorpay"

    @property
    def publishable_key(self) -> str:
        """The key id, which Razorpay Checkout in the browser is opened with."""
        return settings.RAZORPAY_KEY_ID

    # --- orders (our payment intents) -----------------------------------------------------------

    def _orders_with_receipt(self, receipt: str, *, amount_minor: int, currency: str) -> list[dict]:
        found = _call("order list", lambda: _client().order.all({"receipt": receipt, "count": 100}))
        wanted = (receipt, amount_minor, currency)
        return [o for o in _items(found) if (o.get("receipt"), o.get("amount"), _currency(o)) == wanted]

    def create_payment_intent(self, *, amount, currency, metadata, idempotency_key) -> ProviderIntent:
        """The Razorpay order carrying `idempotency_key` as its receipt: the one already there, else a
        new one (auto-captured). See the module docstring for the concurrent case."""
        amount_minor, currency = to_minor_units(amount, currency), currency.lower()
        receipt = _receipt(idempotency_key)
        existing = self._orders_with_receipt(receipt, amount_minor=amount_minor, currency=currency)
        if existing:
            return intent_from_razorpay_order(_oldest(existing))
        data = {
            "amount": amount_minor,
            "currency": currency.upper(),
            "receipt": receipt,
            "notes": _notes(metadata, idempotency_key),
            "payment_capture": 1,
        }
        created = _call("order create", lambda: _client().order.create(data))
        try:
            twins = self._orders_with_receipt(receipt, amount_minor=amount_minor, currency=currency)
        except GatewayError:
            twins = []  # ours exists; a retry finds it by its receipt
        return intent_from_razorpay_order(_oldest([_dict(created), *twins]))

    def retrieve_payment_intent(self, intent_id: str) -> ProviderIntent:
        return intent_from_razorpay_order(_dict(_call("order fetch", lambda: _client().order.fetch(intent_id))))

    # --- payments (charges) ------------------------------------------------------------------------

    def checkout_signature_is_valid(self, *, order_id: str, charge_id: str, signature: str) -> bool:
        """Razorpay Checkout's answer: HMAC-SHA256(key secret, `order_id|payment_id`), constant time."""
        return _hmac_matches(settings.RAZORPAY_KEY_SECRET, f"{order_id}|{charge_id}".encode(), signature)

    def retrieve_charge(self, charge_id: str) -> ProviderCharge:
        return charge_from_razorpay(_dict(_call("payment fetch", lambda: _client().payment.fetch(charge_id))))

    def capture_charge(self, *, charge_id: str, amount, currency: str) -> ProviderCharge:
        """Captures an authorised payment for `amount`; a payment captured meanwhile (Razorpay's
        auto-capture, or our earlier try whose answer was lost) is read back instead."""
        data = {"currency": currency.upper()}
        minor = to_minor_units(amount, currency)
        try:
            obj = _call("payment capture", lambda: _client().payment.capture(charge_id, minor, data))
        except GatewayError as exc:
            if exc.retryable:
                raise
            charge = self.retrieve_charge(charge_id)
            if charge.is_captured:
                return charge
            raise
        return charge_from_razorpay(_dict(obj))

    # --- refunds ------------------------------------------------------------------------------------

    def _captured_payment(self, order_id: str, amount_minor: int) -> dict:
        payments = _items(_call("order payments", lambda: _client().order.payments(order_id)))
        captured = [p for p in payments if p.get("status") in ("captured", "refunded") or p.get("captured") is True]
        if not captured:
            raise GatewayError(f"Razorpay order {order_id} has no captured payment to refund")
        exact = [p for p in captured if p.get("amount") == amount_minor]
        return _oldest(exact or captured)

    def _refund_with_receipt(self, payment_id: str, receipt: str) -> dict | None:
        refunds = _items(_call("refund list", lambda: _client().payment.fetch_multiple_refund(payment_id)))
        mine = [r for r in refunds if r.get("receipt") == receipt]
        return _oldest(mine) if mine else None

    def create_refund(self, *, payment_intent_id, amount, currency, metadata, idempotency_key) -> ProviderRefund:
        """Refunds the captured payment of Razorpay order `payment_intent_id`, once per idempotency
        key: a refund carrying the key as its receipt is returned instead of asking again."""
        minor = to_minor_units(amount, currency)
        payment = self._captured_payment(payment_intent_id, minor)
        payment_id, receipt = _str(payment.get("id")), _receipt(idempotency_key)
        existing = self._refund_with_receipt(payment_id, receipt)
        if existing is not None:
            return refund_from_razorpay(existing, order_id=payment_intent_id)
        data = {"amount": minor, "receipt": receipt, "notes": _notes(metadata, idempotency_key)}
        try:
            obj = _call("refund create", lambda: _client().payment.refund(payment_id, data))
        except GatewayError as exc:
            if exc.retryable:
                raise
            # Refused, e.g. nothing left to refund because a concurrent twin of this call refunded it.
            twin = self._refund_with_receipt(payment_id, receipt)
            if twin is None:
                raise
            obj = twin
        return refund_from_razorpay(_dict(obj), order_id=payment_intent_id)

    def list_refunds(self, payment_intent_id: str) -> list[ProviderRefund]:
        """The refunds of every captured payment of the Razorpay order."""
        payments = _items(_call("order payments", lambda: _client().order.payments(payment_intent_id)))
        refunds = []
        for payment in payments:
            payment_id = _str(payment.get("id"))
            if payment_id and _int_or_none(payment.get("amount_refunded")):
                listed = _items(
                    _call("refund list", lambda pid=payment_id: _client().payment.fetch_multiple_refund(pid))
                )
                refunds.extend(refund_from_razorpay(_dict(r), order_id=payment_intent_id) for r in listed)
        return refunds

    # --- hosted checkout pages: Razorpay Checkout opens in the page from the order; none to create ---
    # (payment_checkout_session_create answers 404 before calling these for this gateway.)

    def create_checkout_session(self, **kwargs):
        raise GatewayError("Razorpay has no hosted checkout sessions here; use POST /api/payments/initiate/.")

    def retrieve_checkout_session(self, session_id: str):
        raise GatewayError("Razorpay has no hosted checkout sessions here.", not_found=True)
