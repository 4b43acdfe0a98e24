"""A small local stand-in for the Razorpay API, for tests (in the style of fake_stripe).

A ThreadingHTTPServer on a free 127.0.0.1 port implementing what NovaCart calls, with JSON bodies
and HTTP Basic auth (key id, key secret) as the official SDK sends them:

- `POST /v1/orders`, `GET /v1/orders?receipt=`, `GET /v1/orders/<id>`, `GET /v1/orders/<id>/payments`;
- `GET /v1/payments/<id>`, `POST /v1/payments/<id>/capture`, `POST /v1/payments/<id>/refund`,
  `GET /v1/payments/<id>/refunds`.

Like Razorpay it has no idempotency keys, refuses to capture a payment twice or to refund more than
was captured, and answers errors as `{"error": {"code", "description"}}`. It records every request
and can be told to fail: the next N requests answer 500 or 429, or are carried out and then answered
too late for the client's timeout (the object exists, the answer is lost).

`checkout()` plays the customer's browser in Razorpay Checkout: a payment on an order (captured at
once for an order created with `payment_capture=1`), and the signed answer Checkout hands to the
page. `sign_webhook()` / `webhook_event()` build webhook deliveries. Signatures are computed by
Razorpay's algorithm (HMAC-SHA256, hex), written from the scheme rather than with the SDK.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

KEY_ID = "rzp_test_novacart_fake"
KEY_SECRET = "rzp_secret_novacart_fake"
WEBHOOK_SECRET = "rzp_whsec_novacart_fake"


def hmac_hex(secret: str, message: bytes | str) -> str:
    if isinstance(message, str):
        message = message.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def checkout_signature(order_id: str, payment_id: str, secret: str = KEY_SECRET) -> str:
    """What Razorpay Checkout returns as `razorpay_signature`."""
    return hmac_hex(secret, f"{order_id}|{payment_id}")


def sign_webhook(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """The X-Razorpay-Signature header for a webhook body."""
    return hmac_hex(secret, body)


def webhook_event(event: str, **entities: dict) -> dict:
    """A webhook body: `webhook_event("payment.captured", payment=payment_dict)`."""
    return {
        "entity": "event",
        "account_id": "acc_fake000001",
        "event": event,
        "contains": list(entities),
        "payload": {name: {"entity": entity} for name, entity in entities.items()},
        "created_at": int(time.time()),
    }


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict
    body: dict


@dataclass
class Fault:
    kind: str  # "500", "429" or "slow"
    seconds: float = 0.0


@dataclass
class FakeRazorpayState:
    orders: dict = field(default_factory=dict)
    payments: dict = field(default_factory=dict)
    refunds: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)
    faults: list = field(default_factory=list)
    refund_status: str = "processed"


class FakeRazorpay:
    def __init__(self):
        self.state = FakeRazorpayState()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._clock = itertools.count(1_760_000_000)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-razorpay", daemon=True
        )

    # --- lifecycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeRazorpay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- test controls ----------------------------------------------------------------------
    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        with self._lock:
            self.state.faults.extend(Fault(str(status)) for _ in range(count))

    def slow_next(self, count: int = 1, *, seconds: float) -> None:
        """The next requests are carried out, then answered after `seconds` (past the client's timeout)."""
        with self._lock:
            self.state.faults.extend(Fault("slow", seconds) for _ in range(count))

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in self.state.requests if r.method == method and r.path.startswith(path_prefix)]

    def checkout(
        self,
        order_id: str,
        *,
        amount: int | None = None,
        currency: str | None = None,
        fail: bool = False,
        capture: bool | None = None,
    ) -> dict:
        """The customer pays order `order_id` in Razorpay Checkout. Returns what Checkout hands to the
        page: `{"razorpay_order_id", "razorpay_payment_id", "razorpay_signature"}` (a failed payment
        gets no signature from Checkout; the dict then holds the payment id only)."""
        with self._lock:
            order = self.state.orders[order_id]
            capture = order["payment_capture"] if capture is None else capture
            payment = {
                "id": self._next_id("pay"),
                "entity": "payment",
                "amount": order["amount"] if amount is None else amount,
                "currency": order["currency"] if currency is None else currency,
                "status": "failed" if fail else ("captured" if capture else "authorized"),
                "order_id": order_id,
                "method": "upi",
                "captured": bool(capture and not fail),
                "amount_refunded": 0,
                "refund_status": None,
                "notes": dict(order["notes"]) if isinstance(order["notes"], dict) else [],
                "error_code": "BAD_REQUEST_ERROR" if fail else None,
                "error_description": "Payment failed because the UPI PIN was wrong." if fail else None,
                "created_at": next(self._clock),
            }
            self.state.payments[payment["id"]] = payment
            order["attempts"] += 1
            order["status"] = "attempted"
            if payment["captured"]:
                self._order_paid(order, payment)
            answer = {"razorpay_order_id": order_id, "razorpay_payment_id": payment["id"]}
            if not fail:
                answer["razorpay_signature"] = checkout_signature(order_id, payment["id"])
            return answer

    def refund_in_dashboard(self, payment_id: str, amount: int) -> dict:
        """Someone refunds at Razorpay directly (the Dashboard): no receipt, no notes of ours."""
        with self._lock:
            status, refund = self._refund(self.state.payments[payment_id], {"amount": amount})
            assert status == 200, refund
            self.state.refunds[refund["id"]]["status"] = "processed"
            return dict(self.state.refunds[refund["id"]])

    def payment(self, payment_id: str) -> dict:
        with self._lock:
            return dict(self.state.payments[payment_id])

    def order_of(self, receipt: str) -> dict:
        return next(dict(o) for o in self.state.orders.values() if o["receipt"] == receipt)

    # --- objects ----------------------------------------------------------------------------------
    def _next_id(self, prefix: str) -> str:
        return f"{prefix}_Fake{next(self._ids):010d}"

    @staticmethod
    def _order_paid(order: dict, payment: dict) -> None:
        order["amount_paid"] += payment["amount"]
        order["amount_due"] = max(0, order["amount"] - order["amount_paid"])
        order["status"] = "paid"

    def _create_order(self, body: dict) -> tuple[int, dict]:
        amount, currency = body.get("amount"), body.get("currency")
        if not isinstance(amount, int) or amount < 100 or not isinstance(currency, str):
            return 400, _error("BAD_REQUEST_ERROR", "The amount must be atleast INR 1.00")
        receipt = body.get("receipt")
        if receipt is not None and len(str(receipt)) > 40:
            return 400, _error("BAD_REQUEST_ERROR", "The receipt may not be greater than 40 characters.")
        order = {
            "id": self._next_id("order"),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": currency,
            "receipt": receipt,
            "status": "created",
            "attempts": 0,
            "notes": body.get("notes") or [],
            "payment_capture": bool(body.get("payment_capture")),
            "created_at": next(self._clock),
        }
        self.state.orders[order["id"]] = order
        return 200, _public(order)

    def _capture(self, payment: dict, body: dict) -> tuple[int, dict]:
        if payment["status"] != "authorized":
            return 400, _error("BAD_REQUEST_ERROR", "This payment has already been captured")
        if body.get("amount") != payment["amount"] or str(body.get("currency", "")).upper() != payment["currency"]:
            return 400, _error("BAD_REQUEST_ERROR", "Capture amount must be equal to the amount authorized")
        payment.update(status="captured", captured=True)
        self._order_paid(self.state.orders[payment["order_id"]], payment)
        return 200, dict(payment)

    def _refund(self, payment: dict, body: dict) -> tuple[int, dict]:
        if payment["status"] not in ("captured", "refunded"):
            return 400, _error("BAD_REQUEST_ERROR", "The payment has not been captured")
        amount = body.get("amount", payment["amount"] - payment["amount_refunded"])
        if not isinstance(amount, int) or amount <= 0 or amount > payment["amount"] - payment["amount_refunded"]:
            return 400, _error("BAD_REQUEST_ERROR", "The refund amount provided is greater than amount captured")
        refund = {
            "id": self._next_id("rfnd"),
            "entity": "refund",
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": payment["id"],
            "receipt": body.get("receipt"),
            "notes": body.get("notes") or [],
            "status": self.state.refund_status,
            "speed_processed": "normal",
            "created_at": next(self._clock),
        }
        self.state.refunds[refund["id"]] = refund
        payment["amount_refunded"] += amount
        full = payment["amount_refunded"] == payment["amount"]
        payment.update(refund_status="full" if full else "partial", status="refunded" if full else "captured")
        return 200, dict(refund)

    def _route(self, method: str, path: str, query: dict, body: dict) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if parts[:1] != ["v1"]:
            return 404, _error("BAD_REQUEST_ERROR", "The requested URL was not found on the server.")
        parts = parts[1:]
        if parts == ["orders"] and method == "POST":
            return self._create_order(body)
        if parts == ["orders"] and method == "GET":
            receipt = query.get("receipt", [None])[0]
            items = [_public(o) for o in self.state.orders.values() if receipt is None or o["receipt"] == receipt]
            items.sort(key=lambda o: o["created_at"], reverse=True)  # newest first, like Razorpay
            return 200, {"entity": "collection", "count": len(items), "items": items}
        if len(parts) >= 2 and parts[0] in ("orders", "payments"):
            store = self.state.orders if parts[0] == "orders" else self.state.payments
            obj = store.get(parts[1])
            if obj is None:
                return 400, _error("BAD_REQUEST_ERROR", "The id provided does not exist")
            rest = parts[2:]
            if parts[0] == "orders" and rest == [] and method == "GET":
                return 200, _public(obj)
            if parts[0] == "orders" and rest == ["payments"] and method == "GET":
                items = [dict(p) for p in self.state.payments.values() if p["order_id"] == obj["id"]]
                return 200, {"entity": "collection", "count": len(items), "items": items}
            if parts[0] == "payments" and rest == [] and method == "GET":
                return 200, dict(obj)
            if parts[0] == "payments" and rest == ["capture"] and method == "POST":
                return self._capture(obj, body)
            if parts[0] == "payments" and rest == ["refund"] and method == "POST":
                return self._refund(obj, body)
            if parts[0] == "payments" and rest == ["refunds"] and method == "GET":
                items = [dict(r) for r in self.state.refunds.values() if r["payment_id"] == obj["id"]]
                return 200, {"entity": "collection", "count": len(items), "items": items}
        return 404, _error("BAD_REQUEST_ERROR", "The requested URL was not found on the server.")

    # --- HTTP ---------------------------------------------------------------------------------------
    def _handle(self, method: str, path: str, query: dict, headers: dict, raw: str) -> tuple[int, dict, float]:
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        with self._lock:
            self.state.requests.append(RecordedRequest(method, path, query, body))
            fault = self.state.faults.pop(0) if self.state.faults else None
            if fault is not None and fault.kind == "500":
                return 500, _error("SERVER_ERROR", "The server encountered an error."), 0.0
            if fault is not None and fault.kind == "429":
                return 429, _error("BAD_REQUEST_ERROR", "Too many requests"), 0.0
            delay = fault.seconds if fault is not None else 0.0
            expected = "Basic " + base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
            if headers.get("authorization") != expected:
                return 401, _error("BAD_REQUEST_ERROR", "Authentication failed"), delay
            status, payload = self._route(method, path, query, body)
            return status, payload, delay

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _serve(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, delay = fake._handle(method, parts.path, parse_qs(parts.query), headers, raw)
                if delay:
                    time.sleep(delay)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        return Handler


def _public(order: dict) -> dict:
    """An order as Razorpay shows it (payment_capture is a create option, not a field it returns)."""
    return {k: v for k, v in order.items() if k != "payment_capture"}


def _error(code: str, description: str) -> dict:
    return {"error": {"code": code, "description": description, "source": "NA", "step": "NA", "reason": "NA"}}
