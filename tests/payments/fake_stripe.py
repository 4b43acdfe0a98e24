"""A small local stand-in for the Stripe API, for tests.

A ThreadingHTTPServer on a free 127.0.0.1 port that implements the endpoints NovaCart calls, with
form-encoded bodies parsed the way the SDK sends them (`metadata[order_id]=5`,
`line_items[0][price_data][currency]=usd`). It records every request (method, path, parsed form,
headers incl. Idempotency-Key and Stripe-Version), honours Idempotency-Key like Stripe (the same key
replays the first answer; the same key with other parameters is an idempotency_error), and can be
told to fail: the next N requests answer 500 or 429, or are processed and then answered too late for
the client's timeout (the object exists, the answer is lost: the case idempotency keys are for).

Also `sign_payload`, which signs a webhook body with Stripe's scheme (t=..., v1=HMAC-SHA256 over
f"{t}.{body}"), written from the scheme rather than with the SDK.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

SECRET_KEY = "sk_test_novacart_fake"


def sign_payload(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for `payload`: `t=<unix>,v1=<hex hmac-sha256(secret, "t.body")>`."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    t = int(time.time()) if timestamp is None else int(timestamp)
    signature = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={signature}"


def decode_form(body: str) -> dict:
    """`a[b][0][c]=1` -> {"a": {"b": [{"c": "1"}]}}: the SDK's form encoding, decoded."""
    root: dict = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
        parts = raw_key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _listify(root)


def _listify(node):
    if isinstance(node, dict):
        converted = {k: _listify(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return node


@dataclass
class RecordedRequest:
    method: str
    path: str
    form: dict
    headers: dict

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class Fault:
    kind: str  # "500", "429" or "slow"
    seconds: float = 0.0


@dataclass
class FakeStripeState:
    intents: dict = field(default_factory=dict)
    sessions: dict = field(default_factory=dict)
    refunds: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)
    idempotent: dict = field(default_factory=dict)  # key -> (params, status, body)
    faults: list = field(default_factory=list)
    refund_status: str = "succeeded"


class FakeStripe:
    def __init__(self):
        self.state = FakeStripeState()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-stripe", daemon=True
        )

    # --- lifecycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStripe:
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

    def set_intent_status(self, intent_id: str, status: str) -> None:
        with self._lock:
            self.state.intents[intent_id]["status"] = status

    def complete_session(self, session_id: str) -> dict:
        """The customer paid on the hosted page: the session is complete and has a payment intent."""
        with self._lock:
            session = self.state.sessions[session_id]
            intent = self._new_intent(
                amount=session["amount_total"], currency=session["currency"], metadata=dict(session["metadata"])
            )
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]
            session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
            return dict(session)

    # --- objects ----------------------------------------------------------------------------------
    def _next_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}"

    def _new_intent(self, *, amount: int, currency: str, metadata: dict) -> dict:
        intent_id = self._next_id("pi")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": currency,
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_fake",
            "metadata": metadata,
            "created": int(time.time()),
            "livemode": False,
            "automatic_payment_methods": {"enabled": True},
            "latest_charge": None,
        }
        self.state.intents[intent_id] = intent
        return intent

    def _create(self, path: str, form: dict) -> tuple[int, dict]:
        if path == "/v1/payment_intents":
            if "amount" not in form or "currency" not in form:
                return 400, _error("invalid_request_error", "Missing required param: amount.", "parameter_missing")
            return 200, dict(
                self._new_intent(
                    amount=int(form["amount"]), currency=form["currency"], metadata=dict(form.get("metadata") or {})
                )
            )
        if path == "/v1/refunds":
            intent = self.state.intents.get(form.get("payment_intent", ""))
            if intent is None:
                return 404, _error("invalid_request_error", "No such payment_intent", "resource_missing")
            left = self._unrefunded(intent)
            amount = int(form.get("amount") or left)
            if amount <= 0 or amount > left:
                return 400, _error(
                    "invalid_request_error",
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                    "amount_too_large" if left else "charge_already_refunded",
                )
            return 200, dict(self._new_refund(intent, amount, metadata=dict(form.get("metadata") or {})))
        if path == "/v1/checkout/sessions":
            items = form.get("line_items") or []
            amount_total = sum(int(i["price_data"]["unit_amount"]) * int(i.get("quantity", 1)) for i in items)
            session_id = self._next_id("cs_test")
            session = {
                "id": session_id,
                "object": "checkout.session",
                "url": f"https://checkout.stripe.test/c/pay/{session_id}",
                "status": "open",
                "payment_status": "unpaid",
                "mode": form.get("mode"),
                "amount_total": amount_total,
                "currency": items[0]["price_data"]["currency"] if items else None,
                "payment_intent": None,
                "metadata": dict(form.get("metadata") or {}),
                "client_reference_id": form.get("client_reference_id"),
                "success_url": form.get("success_url"),
                "cancel_url": form.get("cancel_url"),
                "livemode": False,
            }
            self.state.sessions[session_id] = session
            return 200, dict(session)
        return 404, _error("invalid_request_error", f"Unrecognized request URL (POST: {path})", None)

    def _unrefunded(self, intent: dict) -> int:
        """What a refund may still give back: what was taken less the refunds not failed."""
        taken = intent.get("amount_received") or intent["amount"]
        refunded = sum(
            r["amount"]
            for r in self.state.refunds.values()
            if r["payment_intent"] == intent["id"] and r["status"] not in ("failed", "canceled")
        )
        return taken - refunded

    def _new_refund(self, intent: dict, amount: int, *, metadata: dict, status: str | None = None) -> dict:
        refund = {
            "id": self._next_id("re"),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": f"ch_{intent['id']}",
            "status": status or self.state.refund_status,
            "metadata": metadata,
            "created": int(time.time()),
        }
        self.state.refunds[refund["id"]] = refund
        return refund

    def refund_in_dashboard(self, intent_id: str, amount: int) -> dict:
        """Someone refunds at Stripe directly (the Dashboard): a succeeded refund without our metadata."""
        with self._lock:
            return dict(self._new_refund(self.state.intents[intent_id], amount, metadata={}, status="succeeded"))

    def charge_of(self, intent_id: str) -> dict:
        """The intent's charge as a charge.refunded event shows it (without the `refunds` list, as
        Stripe's API versions since 2022-11-15 send it)."""
        with self._lock:
            intent = self.state.intents[intent_id]
            taken = intent.get("amount_received") or intent["amount"]
            refunded = taken - self._unrefunded(intent)
            return {
                "id": f"ch_{intent_id}",
                "object": "charge",
                "amount": intent["amount"],
                "amount_refunded": refunded,
                "currency": intent["currency"],
                "payment_intent": intent_id,
                "refunded": refunded >= taken,
            }

    def _retrieve(self, path: str, query: str = "") -> tuple[int, dict]:
        if path == "/v1/refunds":
            wanted = dict(parse_qsl(query)).get("payment_intent")
            data = [dict(r) for r in self.state.refunds.values() if wanted is None or r["payment_intent"] == wanted]
            data.sort(key=lambda r: r["id"], reverse=True)  # newest first, as Stripe lists
            return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}
        for prefix, store in (
            ("/v1/payment_intents/", self.state.intents),
            ("/v1/checkout/sessions/", self.state.sessions),
        ):
            if path.startswith(prefix):
                obj = store.get(path[len(prefix) :])
                if obj is None:
                    return 404, _error("invalid_request_error", "No such object", "resource_missing")
                return 200, dict(obj)
        return 404, _error("invalid_request_error", f"Unrecognized request URL (GET: {path})", None)

    # --- HTTP ---------------------------------------------------------------------------------------
    def _handle(self, method: str, path: str, headers: dict, body: str, query: str = "") -> tuple[int, dict, float]:
        form = decode_form(body) if method == "POST" else {}
        with self._lock:
            self.state.requests.append(RecordedRequest(method, path, form, headers))
            fault = self.state.faults.pop(0) if self.state.faults else None
            if fault is not None and fault.kind == "500":
                return 500, _error("api_error", "Something went wrong on Stripe's end.", None), 0.0
            if fault is not None and fault.kind == "429":
                return 429, _error("invalid_request_error", "Too many requests.", "rate_limit"), 0.0
            delay = fault.seconds if fault is not None else 0.0
            if headers.get("authorization") != f"Bearer {SECRET_KEY}":
                return 401, _error("invalid_request_error", "Invalid API Key provided.", None), delay
            if method == "GET":
                status, payload = self._retrieve(path, query)
                return status, payload, delay
            key = headers.get("idempotency-key")
            if key and key in self.state.idempotent:
                params, status, payload = self.state.idempotent[key]
                if params != (path, form):
                    return (
                        400,
                        _error(
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters.",
                            None,
                        ),
                        delay,
                    )
                return status, payload, delay
            status, payload = self._create(path, form)
            if key and status < 500:
                self.state.idempotent[key] = ((path, form), status, payload)
            return status, payload, delay

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _serve(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, delay = fake._handle(method, parts.path, headers, body, parts.query)
                if delay:
                    time.sleep(delay)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Request-Id", f"req_fake_{len(fake.state.requests)}")
                    if status >= 500:
                        self.send_header("Stripe-Should-Retry", "true")
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        return Handler


def _error(error_type: str, message: str, code: str | None) -> dict:
    error = {"type": error_type, "message": message}
    if code:
        error["code"] = code
    return {"error": error}
