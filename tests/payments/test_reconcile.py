from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orders.models import OrderStatus
from payments.models import PaymentStatus, Refund, RefundStatus
from payments.tasks import reconcile_payments
from tests.factories import PaymentFactory
from tests.payments.helpers import INTENT_URL, make_order
from tests.payments.razorpay_helpers import initiate, rupee_order, verify

pytestmark = pytest.mark.django_db


def _run(*args) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("reconcile_payments", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


@pytest.fixture
def consistent(user):
    """A paid order with its payment, a pending one without, a COD order shipped without any."""
    paid = make_order(user, status=OrderStatus.PAID)
    PaymentFactory(order=paid, status=PaymentStatus.SUCCEEDED, amount_minor=1999)
    make_order(user)
    make_order(user, status=OrderStatus.SHIPPED, payment_method="cod")
    refunded = make_order(user, status=OrderStatus.REFUNDED, refunded_total=Decimal("19.99"))
    payment = PaymentFactory(order=refunded, status=PaymentStatus.REFUNDED, amount_minor=1999)
    Refund.objects.create(
        order=refunded, payment=payment, amount_minor=1999, currency="usd", status=RefundStatus.SUCCEEDED
    )
    return paid


def test_a_consistent_database_exits_0_with_an_all_clear(consistent):
    output, error = _run()

    assert error is None
    assert output.strip() == "Payments reconciled: orders agree, no inconsistencies."
    assert reconcile_payments() == []


def _assert_reported(kind, order):
    output, error = _run()
    assert error is not None and error.returncode == 1
    assert "1 payment inconsistencies found" in str(error)
    [line] = output.strip().splitlines()
    assert line.startswith(f"INCONSISTENT {kind}: order {order.number}")
    [issue] = reconcile_payments()
    assert (issue["kind"], issue["order_id"]) == (kind, order.pk)
    return line


def test_a_paid_card_order_without_a_succeeded_payment_is_reported(consistent, user):
    order = make_order(user, status=OrderStatus.PAID)
    PaymentFactory(order=order, status=PaymentStatus.FAILED, amount_minor=1999)

    _assert_reported("paid_without_payment", order)


def test_a_succeeded_payment_on_a_cancelled_order_is_reported(consistent, user):
    order = make_order(user, status=OrderStatus.CANCELLED)
    payment = PaymentFactory(order=order, status=PaymentStatus.SUCCEEDED, amount_minor=1999)

    line = _assert_reported("cancelled_order_payment_not_refunded", order)
    assert f"payment {payment.pk}" in line


def test_an_amount_that_differs_from_the_order_is_reported(consistent, user):
    order = make_order(user, status=OrderStatus.PAID, total="19.99")
    PaymentFactory(order=order, status=PaymentStatus.SUCCEEDED, amount_minor=1000)

    line = _assert_reported("amount_mismatch", order)
    assert "1000 USD" in line and "1999 USD" in line


def test_a_succeeded_payment_on_a_pending_order_is_reported(consistent, user):
    order = make_order(user)
    PaymentFactory(order=order, status=PaymentStatus.SUCCEEDED, amount_minor=1999, needs_review=True)

    _assert_reported("pending_order_payment_succeeded", order)


def test_with_stripe_a_payment_the_provider_took_but_we_did_not_record_is_reported(stripe_gateway, user, user_client):
    order = make_order(user)
    intent_id = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json").json()["payment_intent_id"]
    stripe_gateway.set_intent_status(intent_id, "succeeded")

    without, error_without = _run()
    output, error = _run("--stripe")

    assert error_without is None and "no inconsistencies" in without
    assert error is not None and error.returncode == 1
    assert f"INCONSISTENT provider_succeeded_not_recorded: order {order.number}" in output
    assert len(stripe_gateway.requests_to("GET", "/v1/payment_intents/")) == 1


def test_with_stripe_a_consistent_database_is_all_clear(stripe_gateway, user, user_client):
    order = make_order(user)
    user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")

    output, error = _run("--stripe")

    assert error is None
    assert "Stripe agree" in output


def test_with_stripe_an_unreachable_provider_is_reported(stripe_gateway, user, user_client):
    order = make_order(user)
    user_client.post(INTENT_URL, {"order_id": order.pk}, format="json")
    stripe_gateway.fail_next(1, status=500)

    output, error = _run("--stripe")

    assert error is not None
    assert "provider_unreachable" in output


def test_stripe_option_needs_the_stripe_gateway(db):
    with pytest.raises(CommandError, match="needs the Stripe gateway"):
        call_command("reconcile_payments", "--stripe", stdout=StringIO())


def test_with_razorpay_a_payment_razorpay_took_but_we_did_not_record_is_reported(razorpay_gateway, user, user_client):
    order = rupee_order(user)
    rzp_order = initiate(user_client, order).json()["razorpay_order_id"]
    razorpay_gateway.checkout(rzp_order)  # paid at Razorpay; neither verify nor the webhook came

    output, error = _run("--razorpay")

    assert error is not None and error.returncode == 1
    assert f"INCONSISTENT provider_succeeded_not_recorded: order {order.number}" in output
    assert f"{rzp_order} succeeded at the provider" in output
    assert len(razorpay_gateway.requests_to("GET", f"/v1/orders/{rzp_order}")) == 1


def test_with_razorpay_a_paid_and_recorded_order_is_all_clear(razorpay_gateway, user, user_client):
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"])
    assert verify(user_client, answer).json()["status"] == OrderStatus.PAID

    output, error = _run("--razorpay")

    assert error is None
    assert "Razorpay agree" in output


def test_with_razorpay_an_unreachable_provider_is_reported(razorpay_gateway, user, user_client):
    initiate(user_client, rupee_order(user))
    razorpay_gateway.fail_next(1, status=500)

    output, error = _run("--razorpay")

    assert error is not None
    assert "provider_unreachable" in output


def test_razorpay_option_needs_the_razorpay_gateway(stripe_gateway):
    with pytest.raises(CommandError, match="needs the Razorpay gateway"):
        call_command("reconcile_payments", "--razorpay", stdout=StringIO())


@pytest.mark.parametrize("days", ["0", "-5", "1000000000"])
def test_days_that_are_not_a_positive_bounded_window_are_refused(razorpay_gateway, user, user_client, days):
    """`--days 0` or a negative window used to check no payment and print the all-clear; a huge one was
    an OverflowError traceback. Each is a usage error now, and Razorpay is not asked."""
    initiate(user_client, rupee_order(user))
    requests_before = len(razorpay_gateway.state.requests)

    output, error = _run("--razorpay", "--days", days)

    assert error is not None and "--days" in str(error)
    assert "agree" not in output
    assert len(razorpay_gateway.state.requests) == requests_before


# --- refunds ---------------------------------------------------------------------------------------


def test_a_refunded_total_that_its_refunds_do_not_add_up_to_is_reported(consistent, user):
    order = make_order(user, status=OrderStatus.PAID, refunded_total=Decimal("5.00"))
    PaymentFactory(order=order, status=PaymentStatus.SUCCEEDED, amount_minor=1999)

    line = _assert_reported("refunded_total_mismatch", order)
    assert "refunded_total is 5.00, its succeeded refunds add up to 0.00" in line


def test_a_refund_whose_answer_was_lost_is_reported_until_retried(consistent, user):
    order = make_order(user, status=OrderStatus.PAID)
    payment = PaymentFactory(order=order, status=PaymentStatus.REFUND_PENDING, amount_minor=1999)
    Refund.objects.create(
        order=order,
        payment=payment,
        amount_minor=500,
        currency="usd",
        last_error="no answer from the provider: timeout",
    )

    line = _assert_reported("refund_outcome_unknown", order)
    assert "send the same refund request again" in line


def _paid_at_stripe(stripe_gateway, user, user_client, api_client):
    from tests.payments.helpers import post_event, succeeded_event

    order = make_order(user, total="19.99")
    intent_id = user_client.post(INTENT_URL, {"order_id": order.pk}, format="json").json()["payment_intent_id"]
    stripe_gateway.set_intent_status(intent_id, "succeeded")
    assert post_event(api_client, succeeded_event(intent_id, amount=1999)).json()["outcome"] == "order_paid"
    return order, intent_id


def test_with_stripe_a_refund_made_at_stripe_that_no_event_brought_is_reported(
    stripe_gateway, user, user_client, api_client
):
    """The outside check's case: refunded in Stripe's dashboard, no webhook; the order says PAID."""
    order, intent_id = _paid_at_stripe(stripe_gateway, user, user_client, api_client)
    made = stripe_gateway.refund_in_dashboard(intent_id, 700)

    without, error_without = _run()
    output, error = _run("--stripe")

    assert error_without is None
    assert error is not None
    assert f"INCONSISTENT provider_refund_not_recorded: order {order.number}" in output
    assert f"{made['id']} refunded 700 USD at the provider" in output


def test_with_stripe_refunds_made_in_the_shop_agree(stripe_gateway, staff_client, user, user_client, api_client):
    from tests.payments.helpers import REFUND_URL

    order, _intent_id = _paid_at_stripe(stripe_gateway, user, user_client, api_client)
    item = order.items.get()
    refunded = staff_client.post(
        REFUND_URL, {"order_id": order.pk, "lines": [{"order_item_id": item.pk, "quantity": 1}]}, format="json"
    )
    assert refunded.status_code == 200, refunded.content

    output, error = _run("--stripe")

    assert error is None, output
    assert "Stripe agree" in output


def test_with_razorpay_a_refund_made_at_razorpay_that_no_event_brought_is_reported(razorpay_gateway, user, user_client):
    order = rupee_order(user)
    answer = razorpay_gateway.checkout(initiate(user_client, order).json()["razorpay_order_id"])
    assert verify(user_client, answer).status_code == 200
    razorpay_gateway.refund_in_dashboard(answer["razorpay_payment_id"], 10000)

    output, error = _run("--razorpay")

    assert error is not None
    assert f"INCONSISTENT provider_refund_not_recorded: order {order.number}" in output
