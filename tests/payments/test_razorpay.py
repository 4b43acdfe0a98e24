"""Razorpay (seed 004) through the official SDK against the fake Razorpay server: initiate, the signed
checkout verify, webhooks, refunds and provider failures."""

import json

import pytest
from django.core import mail

from orders.models import Order, OrderStatus, PaymentMethod
from orders.services import order_transition
from orders.tokens import guest_token_new
from orders.transitions import Actor
from payments.models import Payment, PaymentStatus, Refund, WebhookEvent
from tests.payments.fake_razorpay import KEY_ID, Fault, checkout_signature, sign_webhook, webhook_event
from tests.payments.helpers import REFUND_URL, error_code, transitions
from tests.payments.razorpay_helpers import (
    TOTAL_PAISE,
    VERIFY_URL,
    captured_event,
    initiate,
    order_paid_event,
    post_razorpay_event,
    rupee_order,
    verify,
)

pytestmark = pytest.mark.django_db


def _paid_through_checkout(fake, client, order) -> dict:
    body = initiate(client, order).json()
    answer = fake.checkout(body["razorpay_order_id"])
    assert verify(client, answer).status_code == 200
    return answer


# --- initiate ---------------------------------------------------------------------------------------


def test_initiate_creates_one_razorpay_order_for_the_total_in_paise(razorpay_gateway, user, user_client):
    order = rupee_order(user)

    first = initiate(user_client, order)
    again = initiate(user_client, order)

    assert first.status_code == 200, first.content
    body = first.json()
    assert body == {
        "gateway": "razorpay",
        "razorpay_order_id": body["razorpay_order_id"],
        "amount": TOTAL_PAISE,
        "currency": "inr",
        "key_id": KEY_ID,
    }
    assert again.json() == body
    (created,) = razorpay_gateway.requests_to("POST", "/v1/orders")
    assert created.body["amount"] == TOTAL_PAISE
    assert created.body["currency"] == "INR"
    assert created.body["payment_capture"] == 1
    assert created.body["receipt"] == f"order-{order.pk}-intent-1"
    assert created.body["notes"]["order_id"] == str(order.pk)
    payment = Payment.objects.get(order=order)
    assert (payment.provider, payment.provider_payment_id, payment.amount_minor, payment.currency) == (
        "razorpay",
        body["razorpay_order_id"],
        TOTAL_PAISE,
        "inr",
    )


@pytest.mark.parametrize("prefixes", [("", ""), ("staging-", "shop-")], ids=["one-prefix", "own-prefixes"])
def test_installations_sharing_a_razorpay_account_keep_their_orders_apart(
    razorpay_gateway, user, user_client, settings, prefixes
):
    """Two databases on one Razorpay account have orders with the same id: with the same receipts,
    the second one's initiate would take the first one's Razorpay order (maybe already paid)."""
    order = rupee_order(user)
    settings.RAZORPAY_RECEIPT_PREFIX = prefixes[0]
    first = initiate(user_client, order).json()["razorpay_order_id"]
    Payment.objects.filter(order=order).delete()  # the other database has no payment for its order yet

    settings.RAZORPAY_RECEIPT_PREFIX = prefixes[1]
    second = initiate(user_client, order).json()["razorpay_order_id"]

    receipts = [sent.body["receipt"] for sent in razorpay_gateway.requests_to("POST", "/v1/orders")]
    if prefixes[0] == prefixes[1]:
        assert second == first and receipts == [f"order-{order.pk}-intent-1"]
    else:
        assert second != first
        assert receipts == [f"staging-order-{order.pk}-intent-1", f"shop-order-{order.pk}-intent-1"]


def test_initiate_after_a_lost_answer_gives_the_same_razorpay_order(razorpay_gateway, user, user_client):
    order = rupee_order(user)
    # The receipt lookup is answered; the create is carried out but answered past the client's timeout.
    razorpay_gateway.state.faults.extend([Fault("slow", 0.0), Fault("slow", 1.5)])

    lost = initiate(user_client, order)

    assert (lost.status_code, error_code(lost)) == (502, "payment_provider_error")
    assert len(razorpay_gateway.state.orders) == 1
    assert Payment.objects.filter(order=order).count() == 0

    retried = initiate(user_client, order)

    assert retried.status_code == 200, retried.content
    assert len(razorpay_gateway.state.orders) == 1
    assert len(razorpay_gateway.requests_to("POST", "/v1/orders")) == 1
    assert retried.json()["razorpay_order_id"] == next(iter(razorpay_gateway.state.orders))
    assert Payment.objects.filter(order=order).count() == 1


@pytest.mark.parametrize(("status", "expected"), [(500, 502), (429, 503)])
def test_initiate_when_razorpay_fails_records_nothing_and_a_retry_creates_one_order(
    razorpay_gateway, user, user_client, status, expected
):
    order = rupee_order(user)
    razorpay_gateway.fail_next(1, status=status)

    failed = initiate(user_client, order)

    assert failed.status_code == expected
    assert error_code(failed) == "payment_provider_error"
    assert razorpay_gateway.state.orders == {}
    assert Payment.objects.count() == 0

    assert initiate(user_client, order).status_code == 200
    assert len(razorpay_gateway.state.orders) == 1
    assert Payment.objects.count() == 1


def test_initiate_honours_the_idempotency_key(razorpay_gateway, user, user_client):
    order = rupee_order(user)
    first = initiate(user_client, order, HTTP_IDEMPOTENCY_KEY="pay-1")
    other = rupee_order(user)

    replay = initiate(user_client, order, HTTP_IDEMPOTENCY_KEY="pay-1")
    reused = user_client.post(
        "/api/payments/initiate/", {"order_id": other.pk}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1"
    )

    assert replay.status_code == 200 and replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert reused.status_code == 422 and error_code(reused) == "idempotency_key_reused"
    assert len(razorpay_gateway.state.orders) == 1


def test_initiate_refuses_another_users_order_and_cash_on_delivery(razorpay_gateway, user, user_client, other_client):
    order = rupee_order(user)
    cod = rupee_order(user, payment_method=PaymentMethod.COD)

    foreign = initiate(other_client, order)
    cash = initiate(user_client, cod)

    assert (foreign.status_code, error_code(foreign)) == (404, "not_found")
    assert (cash.status_code, error_code(cash)) == (409, "payment_not_allowed")
    assert razorpay_gateway.state.requests == []


def test_initiate_answers_for_stripe_and_the_development_gateway_too(stripe_gateway, settings, user, user_client):
    order = rupee_order(user)
    stripe = initiate(user_client, order).json()
    assert stripe["gateway"] == "stripe"
    assert stripe["payment_intent_id"].startswith("pi_") and stripe["client_secret"]
    assert stripe["amount"] == "2499.00" and stripe["publishable_key"] == "pk_test_novacart_fake"

    settings.PAYMENT_GATEWAY = "dummy"
    assert initiate(user_client, rupee_order(user)).json() == {"gateway": "dummy"}


def test_initiate_without_a_gateway_is_503(settings, user, user_client):
    settings.PAYMENT_GATEWAY = ""
    response = initiate(user_client, rupee_order(user))
    assert (response.status_code, error_code(response)) == (503, "payment_not_configured")


# --- verify -----------------------------------------------------------------------------------------


def test_verify_pays_the_order_once_and_answers_with_it(
    razorpay_gateway, user, user_client, django_capture_on_commit_callbacks
):
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"])

    with django_capture_on_commit_callbacks(execute=True):
        first = verify(user_client, answer)
        again = verify(user_client, answer)

    assert first.status_code == 200, first.content
    assert first.json()["id"] == order.pk and first.json()["status"] == OrderStatus.PAID
    assert again.status_code == 200 and again.json()["status"] == OrderStatus.PAID
    assert transitions(order, OrderStatus.PAID) == 1
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.needs_review) == (PaymentStatus.SUCCEEDED, False)
    assert [m.subject for m in mail.outbox] == [f"Payment received for order {order.number}"]
    assert len(razorpay_gateway.requests_to("GET", f"/v1/payments/{answer['razorpay_payment_id']}")) == 2


@pytest.mark.parametrize(
    "spoil",
    [
        lambda a: {**a, "razorpay_signature": "0" * 64},
        lambda a: {**a, "razorpay_signature": "é" * 64},
        lambda a: {**a, "razorpay_payment_id": "pay_SomeoneElse01"},
        lambda a: {**a, "razorpay_signature": checkout_signature(*list(a.values())[:2], "k")},
    ],
    ids=["zeros", "non-ascii", "other-payment", "other-secret"],
)
def test_verify_with_a_wrong_signature_is_400_and_changes_nothing(razorpay_gateway, user, user_client, spoil):
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"])
    requests_before = len(razorpay_gateway.state.requests)

    response = verify(user_client, spoil(answer))

    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "code": "invalid_signature",
        "detail": "The checkout signature does not match the order and payment.",
        "attr": "razorpay_signature",
    }
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert Payment.objects.get(order=order).status == PaymentStatus.REQUIRES_PAYMENT
    assert len(razorpay_gateway.state.requests) == requests_before  # not even asked


def test_verify_of_another_users_payment_is_404(razorpay_gateway, user, user_client, other_client):
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"])

    response = verify(other_client, answer)

    assert (response.status_code, error_code(response)) == (404, "not_found")
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_verify_needs_all_three_fields(razorpay_gateway, user_client):
    response = user_client.post("/api/payments/verify/", {"razorpay_order_id": "order_x"}, format="json")
    assert response.status_code == 400
    assert {e["attr"] for e in response.json()["errors"]} == {"razorpay_payment_id", "razorpay_signature"}


def test_verify_with_stripe_configured_is_404(stripe_gateway, user_client):
    answer = {"razorpay_order_id": "order_x", "razorpay_payment_id": "pay_x", "razorpay_signature": "00"}
    response = verify(user_client, answer)
    assert (response.status_code, error_code(response)) == (404, "not_found")


@pytest.mark.parametrize(("amount", "currency"), [(TOTAL_PAISE - 100, None), (None, "USD")])
def test_verify_of_a_captured_payment_for_another_amount_or_currency_leaves_the_order_unpaid(
    razorpay_gateway, user, user_client, amount, currency
):
    order = rupee_order(user)
    rzp_order = initiate(user_client, order).json()["razorpay_order_id"]
    answer = razorpay_gateway.checkout(rzp_order, amount=amount, currency=currency)

    response = verify(user_client, answer)

    assert response.status_code == 200
    assert response.json()["status"] == OrderStatus.PENDING
    payment = Payment.objects.get(order=order)
    assert payment.needs_review is True
    assert payment.last_error.startswith("currency_mismatch" if currency else "amount_mismatch")
    assert transitions(order, OrderStatus.PAID) == 0
    second = initiate(user_client, order)
    assert (second.status_code, error_code(second)) == (409, "already_paid")


def test_verify_captures_an_authorised_payment_for_exactly_the_order_amount(razorpay_gateway, user, user_client):
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"], capture=False)

    response = verify(user_client, answer)

    assert response.json()["status"] == OrderStatus.PAID
    (capture,) = razorpay_gateway.requests_to("POST", f"/v1/payments/{answer['razorpay_payment_id']}/capture")
    assert capture.body == {"amount": TOTAL_PAISE, "currency": "INR"}
    assert razorpay_gateway.payment(answer["razorpay_payment_id"])["status"] == "captured"


def test_verify_does_not_capture_an_authorised_payment_for_another_amount(razorpay_gateway, user, user_client):
    order = rupee_order(user)
    rzp_order = initiate(user_client, order).json()["razorpay_order_id"]
    answer = razorpay_gateway.checkout(rzp_order, amount=100, capture=False)

    response = verify(user_client, answer)

    assert response.json()["status"] == OrderStatus.PENDING
    assert razorpay_gateway.requests_to("POST", "/v1/payments/") == []
    payment = Payment.objects.get(order=order)
    assert payment.needs_review is True and payment.status == PaymentStatus.REQUIRES_PAYMENT
    assert "not captured" in payment.last_error


def test_verify_when_razorpay_fails_changes_nothing_and_the_retry_pays_once(razorpay_gateway, user, user_client):
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"])
    razorpay_gateway.fail_next(1, status=500)

    failed = verify(user_client, answer)

    assert (failed.status_code, error_code(failed)) == (502, "payment_provider_error")
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert verify(user_client, answer).json()["status"] == OrderStatus.PAID
    assert transitions(order, OrderStatus.PAID) == 1


def test_verify_of_a_timed_out_capture_captures_once_on_retry(razorpay_gateway, user, user_client):
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"], capture=False)
    razorpay_gateway.state.faults.extend([Fault("slow", 0.0), Fault("slow", 1.5)])  # fetch ok, capture lost

    assert verify(user_client, answer).status_code == 502
    assert razorpay_gateway.payment(answer["razorpay_payment_id"])["status"] == "captured"
    retried = verify(user_client, answer)

    assert retried.json()["status"] == OrderStatus.PAID
    assert len(razorpay_gateway.requests_to("POST", f"/v1/payments/{answer['razorpay_payment_id']}/capture")) == 1
    assert razorpay_gateway.state.orders[answer["razorpay_order_id"]]["amount_paid"] == TOTAL_PAISE


def test_verify_of_a_failed_payment_records_the_failure_and_the_order_stays_payable(
    razorpay_gateway, user, user_client
):
    order = rupee_order(user)
    rzp_order = initiate(user_client, order).json()["razorpay_order_id"]
    answer = razorpay_gateway.checkout(rzp_order, fail=True)
    answer["razorpay_signature"] = checkout_signature(rzp_order, answer["razorpay_payment_id"])

    response = verify(user_client, answer)

    assert response.json()["status"] == OrderStatus.PENDING
    payment = Payment.objects.get(order=order)
    assert payment.status == PaymentStatus.FAILED and "UPI PIN" in payment.last_error
    # The customer tries again on the same Razorpay order.
    assert initiate(user_client, order).json()["razorpay_order_id"] == rzp_order
    assert verify(user_client, razorpay_gateway.checkout(rzp_order)).json()["status"] == OrderStatus.PAID


# --- webhooks ---------------------------------------------------------------------------------------


def test_payment_captured_webhook_pays_the_order_and_a_duplicate_changes_nothing(
    razorpay_gateway, user, user_client, api_client
):
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"])
    event = captured_event(razorpay_gateway, answer["razorpay_payment_id"])

    first = post_razorpay_event(api_client, event, event_id="evt_rzp_1")
    duplicate = post_razorpay_event(api_client, event, event_id="evt_rzp_1")
    order_paid = post_razorpay_event(api_client, order_paid_event(razorpay_gateway, answer["razorpay_payment_id"]))
    verified = verify(user_client, answer)

    assert first.json() == {"received": True, "duplicate": False, "outcome": "order_paid"}
    assert duplicate.json()["duplicate"] is True
    assert order_paid.json()["outcome"] == "ignored: payment already succeeded"
    assert verified.json()["status"] == OrderStatus.PAID
    assert transitions(order, OrderStatus.PAID) == 1
    row = WebhookEvent.objects.get(event_id="evt_rzp_1")
    assert (row.provider, row.type) == ("razorpay", "payment.captured")


def test_order_paid_webhook_alone_pays_the_order(razorpay_gateway, user, user_client, api_client):
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"])

    response = post_razorpay_event(api_client, order_paid_event(razorpay_gateway, answer["razorpay_payment_id"]))

    assert response.json()["outcome"] == "order_paid"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_webhook_for_another_amount_flags_the_payment_and_leaves_the_order_unpaid(
    razorpay_gateway, user, user_client, api_client
):
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"], amount=100)

    response = post_razorpay_event(api_client, captured_event(razorpay_gateway, answer["razorpay_payment_id"]))

    assert response.json()["outcome"] == "amount_mismatch"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert Payment.objects.get(order=order).needs_review is True


def test_a_failure_arriving_after_the_capture_is_ignored(razorpay_gateway, user, user_client, api_client):
    order = rupee_order(user)
    rzp_order = initiate(user_client, order).json()["razorpay_order_id"]
    failed_try = razorpay_gateway.checkout(rzp_order, fail=True)
    paid = razorpay_gateway.checkout(rzp_order)

    assert post_razorpay_event(api_client, captured_event(razorpay_gateway, paid["razorpay_payment_id"])).status_code
    late_failure = webhook_event("payment.failed", payment=razorpay_gateway.payment(failed_try["razorpay_payment_id"]))
    response = post_razorpay_event(api_client, late_failure)

    assert response.json()["outcome"] == "ignored: payment already succeeded"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Payment.objects.get(order=order).status == PaymentStatus.SUCCEEDED


def test_payment_failed_webhook_marks_the_payment_failed_and_mails_the_customer(
    razorpay_gateway, user, user_client, api_client, django_capture_on_commit_callbacks
):
    order = rupee_order(user)
    failed_try = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"], fail=True)
    event = webhook_event("payment.failed", payment=razorpay_gateway.payment(failed_try["razorpay_payment_id"]))

    with django_capture_on_commit_callbacks(execute=True):
        response = post_razorpay_event(api_client, event)

    assert response.json()["outcome"] == "payment_failed"
    assert Payment.objects.get(order=order).status == PaymentStatus.FAILED
    assert len(mail.outbox) == 1


def test_a_late_payment_for_a_cancelled_order_is_refunded_automatically(
    razorpay_gateway, user, user_client, api_client, django_capture_on_commit_callbacks
):
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"])
    order_transition(order_id=order.pk, to_status=OrderStatus.CANCELLED, actor=Actor.SYSTEM)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_razorpay_event(api_client, captured_event(razorpay_gateway, answer["razorpay_payment_id"]))

    assert response.json()["outcome"] == "auto_refund_queued: order was CANCELLED"
    (refund,) = razorpay_gateway.state.refunds.values()
    assert (refund["payment_id"], refund["amount"]) == (answer["razorpay_payment_id"], TOTAL_PAISE)
    assert refund["receipt"] == f"refund-{Refund.objects.get(order=order).pk}"
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert Payment.objects.get(order=order).status == PaymentStatus.REFUNDED


@pytest.mark.parametrize(
    ("headers", "code", "attr"),
    [
        ({"signature": "0" * 64}, "invalid_signature", "X-Razorpay-Signature"),
        ({"signature": ""}, "invalid_signature", "X-Razorpay-Signature"),
        ({"event_id": " "}, "invalid_payload", "X-Razorpay-Event-Id"),
    ],
)
def test_a_webhook_with_a_bad_signature_or_no_event_id_is_400_and_records_nothing(
    razorpay_gateway, user, user_client, api_client, headers, code, attr
):
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"])
    event = captured_event(razorpay_gateway, answer["razorpay_payment_id"])

    response = post_razorpay_event(api_client, event, **headers)

    assert response.status_code == 400
    assert (error_code(response), response.json()["errors"][0]["attr"]) == (code, attr)
    assert WebhookEvent.objects.count() == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_a_razorpay_webhook_without_its_secret_is_503(razorpay_gateway, settings, api_client):
    settings.RAZORPAY_WEBHOOK_SECRET = ""
    response = post_razorpay_event(api_client, webhook_event("payment.captured", payment={}))
    assert (response.status_code, error_code(response)) == (503, "payment_not_configured")


def test_an_unhandled_razorpay_event_is_recorded_and_answered_200(razorpay_gateway, api_client):
    response = post_razorpay_event(api_client, webhook_event("payment.authorized", payment={"id": "pay_x"}))
    assert response.json()["outcome"] == "ignored: unhandled event type"
    assert WebhookEvent.objects.get().type == "payment.authorized"


# --- refunds ----------------------------------------------------------------------------------------


def test_staff_refund_goes_through_razorpay_once(razorpay_gateway, user, user_client, staff_client, api_client):
    order = rupee_order(user)
    answer = _paid_through_checkout(razorpay_gateway, user_client, order)

    refunded = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")
    again = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert refunded.status_code == 200, refunded.content
    body = refunded.json()
    assert (body["order_status"], body["payment_status"], body["status"]) == (
        OrderStatus.REFUNDED,
        "refunded",
        "succeeded",
    )
    assert (again.status_code, error_code(again)) == (409, "payment_not_refundable")
    (refund,) = razorpay_gateway.state.refunds.values()
    assert refund["id"] == body["provider_refund_id"] and refund["receipt"] == f"refund-{body['refund_id']}"
    assert refund["amount"] == TOTAL_PAISE and refund["notes"]["order_id"] == str(order.pk)
    # Razorpay's refund.processed webhook afterwards changes nothing.
    event = webhook_event(
        "refund.processed", refund=refund, payment=razorpay_gateway.payment(answer["razorpay_payment_id"])
    )
    outcome = post_razorpay_event(api_client, event).json()["outcome"]
    assert outcome == f"refund {body['refund_id']}: succeeded -> succeeded"
    assert transitions(order, OrderStatus.REFUNDED) == 1
    assert Refund.objects.filter(order=order).count() == 1


def test_a_refund_whose_answer_was_lost_is_not_made_twice(razorpay_gateway, user, user_client, staff_client):
    order = rupee_order(user)
    _paid_through_checkout(razorpay_gateway, user_client, order)
    # order payments, the refund list: answered; the refund itself: carried out, answer lost.
    razorpay_gateway.state.faults.extend([Fault("slow", 0.0), Fault("slow", 0.0), Fault("slow", 1.5)])
    lost = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")
    assert lost.status_code == 502
    assert len(razorpay_gateway.state.refunds) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID

    retried = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert retried.status_code == 200, retried.content
    assert retried.json()["provider_refund_id"] == next(iter(razorpay_gateway.state.refunds))
    assert Refund.objects.filter(order=order).count() == 1
    assert len(razorpay_gateway.state.refunds) == 1
    assert len(razorpay_gateway.requests_to("POST", "/v1/payments/")) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


def test_a_pending_refund_completes_with_the_refund_processed_webhook(
    razorpay_gateway, user, user_client, staff_client, api_client
):
    razorpay_gateway.state.refund_status = "pending"
    order = rupee_order(user)
    answer = _paid_through_checkout(razorpay_gateway, user_client, order)

    pending = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json").json()
    assert (pending["payment_status"], pending["status"]) == ("paid", "pending")
    assert Payment.objects.get(order=order).status == PaymentStatus.REFUND_PENDING
    refund = dict(razorpay_gateway.state.refunds[pending["provider_refund_id"]], status="processed")
    event = webhook_event(
        "refund.processed", refund=refund, payment=razorpay_gateway.payment(answer["razorpay_payment_id"])
    )

    outcome = post_razorpay_event(api_client, event).json()["outcome"]
    assert outcome == f"refund {pending['refund_id']}: pending -> succeeded"
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


def test_a_refund_when_razorpay_is_down_changes_nothing(razorpay_gateway, user, user_client, staff_client):
    order = rupee_order(user)
    _paid_through_checkout(razorpay_gateway, user_client, order)
    razorpay_gateway.fail_next(1, status=500)

    response = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert (response.status_code, error_code(response)) == (502, "payment_provider_error")
    assert razorpay_gateway.state.refunds == {}
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == (OrderStatus.PAID, 0)
    # Whether Razorpay made it is unknown to the shop: the refund waits, noted, for the same request again.
    refund = Refund.objects.get(order=order)
    assert refund.status == "pending" and "no answer from the provider" in refund.last_error

    retried = staff_client.post(REFUND_URL, {"order_id": order.pk}, format="json")

    assert retried.status_code == 200 and retried.json()["refund_id"] == refund.pk
    assert len(razorpay_gateway.state.refunds) == 1
    assert Payment.objects.get(order=order).status == PaymentStatus.REFUNDED


def test_a_stripe_checkout_session_with_razorpay_configured_is_404(razorpay_gateway, settings, user, user_client):
    settings.FRONTEND_ALLOWED_ORIGINS = ["https://shop.example.com"]
    order = rupee_order(user)
    body = {
        "order_id": order.pk,
        "success_url": "https://shop.example.com/ok",
        "cancel_url": "https://shop.example.com/",
    }

    response = user_client.post("/api/payments/checkout-session/", body, format="json")

    assert (response.status_code, error_code(response)) == (404, "not_found")
    assert razorpay_gateway.state.requests == []
    assert Payment.objects.count() == 0


def test_initiate_when_razorpay_cannot_be_reached_is_502_and_records_nothing(
    razorpay_gateway, settings, user, user_client, capsys
):
    settings.RAZORPAY_API_BASE = "http://127.0.0.1:9"  # the discard port: nothing listens

    response = initiate(user_client, rupee_order(user))

    assert (response.status_code, error_code(response)) == (502, "payment_provider_error")
    assert Payment.objects.count() == 0
    assert capsys.readouterr().out == ""  # the SDK's print() of network errors is kept out of the logs


def test_a_signed_webhook_body_that_is_not_json_is_400_invalid_payload(razorpay_gateway, api_client):
    raw = b"not json at all"
    response = api_client.post(
        "/api/payments/webhook/",
        data=raw,
        content_type="application/json",
        HTTP_X_RAZORPAY_SIGNATURE=sign_webhook(raw),
        HTTP_X_RAZORPAY_EVENT_ID="evt_rzp_garbage",
    )

    assert (response.status_code, error_code(response)) == (400, "invalid_payload")
    assert WebhookEvent.objects.count() == 0


def test_the_webhook_signature_is_checked_on_the_raw_bytes_not_a_reserialised_body(
    razorpay_gateway, user, user_client, api_client
):
    """Razorpay signs the bytes it sends: a body with its own spacing and escapes verifies as sent, and
    the same event re-serialised (what a parse-then-dump would check) does not."""
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"])
    event = captured_event(razorpay_gateway, answer["razorpay_payment_id"])
    event["payload"]["payment"]["entity"]["description"] = "Rs. 2499 \u2013 order"
    raw = json.dumps(event, indent=1, ensure_ascii=True).encode()
    compact = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()

    def deliver(body: bytes, signed: bytes):
        return api_client.post(
            "/api/payments/webhook/",
            data=body,
            content_type="application/json",
            HTTP_X_RAZORPAY_SIGNATURE=sign_webhook(signed),
            HTTP_X_RAZORPAY_EVENT_ID=f"evt_raw_{len(signed)}",
        )

    reserialised = deliver(raw, compact)
    as_sent = deliver(raw, raw)

    assert (reserialised.status_code, error_code(reserialised)) == (400, "invalid_signature")
    assert as_sent.status_code == 200 and as_sent.json()["outcome"] == "order_paid"


def test_a_refund_processed_arriving_before_the_capture_leaves_the_order_unpaid(
    razorpay_gateway, user, user_client, api_client
):
    """Out of order: the refund's event first (a dashboard refund right after paying), then the capture's.
    The payment ends refunded and flagged, the order is not paid, nothing is refunded again."""
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"])
    payment = razorpay_gateway.payment(answer["razorpay_payment_id"])
    refund = {"id": "rfnd_Dash01", "entity": "refund", "amount": TOTAL_PAISE, "currency": "INR", "status": "processed"}
    refunded_payment = {**payment, "status": "refunded", "amount_refunded": TOTAL_PAISE, "refund_status": "full"}

    first = post_razorpay_event(api_client, webhook_event("refund.processed", refund=refund, payment=refunded_payment))
    late_capture = post_razorpay_event(api_client, webhook_event("payment.captured", payment=payment))

    assert first.json()["outcome"] == f"outside_refund_recorded: {TOTAL_PAISE}"
    assert late_capture.json()["outcome"] == "ignored: payment already succeeded"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    row = Payment.objects.get(order=order)
    assert (row.status, row.needs_review, row.provider_refund_id) == (PaymentStatus.REFUNDED, True, "rfnd_Dash01")
    assert razorpay_gateway.state.refunds == {}
    assert transitions(order, OrderStatus.PAID) == 0


def test_a_guest_initiates_and_verifies_with_the_order_token(razorpay_gateway, api_client, other_client):
    """Guest checkout with Razorpay: initiate and verify open the guest's order by X-Order-Token;
    without it, or for a signed-in customer, the payment is not found."""
    order = rupee_order(None, email="guest@example.com")
    guest = guest_token_new(number=order.number)
    Order.objects.filter(pk=order.pk).update(guest_token_hash=guest.digest, guest_token_nonce=guest.nonce)
    headers = {"HTTP_X_ORDER_TOKEN": guest.token}

    assert initiate(api_client, order).status_code == 404
    started = initiate(api_client, order, **headers)
    assert started.status_code == 200, started.content
    assert started.json()["amount"] == TOTAL_PAISE
    answer = razorpay_gateway.checkout(started.json()["razorpay_order_id"])

    assert verify(api_client, answer).status_code == 404
    assert verify(other_client, answer).status_code == 404
    paid = api_client.post(VERIFY_URL, answer, format="json", **headers)

    assert paid.status_code == 200, paid.content
    assert (paid.json()["id"], paid.json()["status"]) == (order.pk, OrderStatus.PAID)
