"""The admin's returns queue: open returns first, moves and the refund through the same services as the API."""

import pytest

from novacart.permissions import FINANCE, ORDER_MANAGERS, SUPPORT
from orders.models import OrderReturn, ReturnStatus
from tests.factories import staff_in
from tests.orders.test_returns import _ask, delivered  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

URL = "/admin/orders/orderreturn/"


def _act(client, action, *returns):
    return client.post(URL, {"action": action, "_selected_action": list(returns)}, follow=True)


def _action_names(client) -> set[str]:
    form = client.get(URL).context["action_form"]  # None without any action the user may take
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def test_the_queue_shows_open_returns_and_staff_move_them(delivered, user_client, client):  # noqa: F811
    order, shirt, mug = delivered
    open_one = _ask(user_client, order, (shirt, 1)).json()["id"]
    closed = _ask(user_client, order, (mug, 1)).json()["id"]
    OrderReturn.objects.filter(pk=closed).update(status=ReturnStatus.REJECTED)
    client.force_login(staff_in(ORDER_MANAGERS))

    queue = client.get(URL)

    assert queue.status_code == 200
    assert list(queue.context["cl"].queryset.values_list("pk", flat=True)) == [open_one]
    assert list(client.get(URL + "?queue=closed").context["cl"].queryset.values_list("pk", flat=True)) == [closed]

    _act(client, "approve", open_one)
    moved = _act(client, "mark_received", open_one)

    assert OrderReturn.objects.get(pk=open_one).status == ReturnStatus.RECEIVED
    assert b"Received: return" in moved.content
    refused = _act(client, "approve", closed)
    assert b"cannot move from REJECTED to APPROVED" in refused.content
    assert OrderReturn.objects.get(pk=closed).status == ReturnStatus.REJECTED


def test_only_finance_refunds_and_support_only_looks(delivered, user_client, client, stripe_gateway):  # noqa: F811
    order, shirt, _mug = delivered
    return_id = _ask(user_client, order, (shirt, 1)).json()["id"]
    OrderReturn.objects.filter(pk=return_id).update(status=ReturnStatus.RECEIVED)

    client.force_login(staff_in(SUPPORT))
    assert client.get(URL).status_code == 200
    assert _action_names(client) == set()

    client.force_login(staff_in(ORDER_MANAGERS))
    assert _action_names(client) == {"approve", "reject", "mark_received"}
    _act(client, "refund", return_id)
    assert OrderReturn.objects.get(pk=return_id).status == ReturnStatus.RECEIVED

    client.force_login(staff_in(FINANCE))
    done = _act(client, "refund", return_id)

    assert b"Refunded: return" in done.content
    assert OrderReturn.objects.get(pk=return_id).status == ReturnStatus.REFUNDED
    assert len(stripe_gateway.requests_to("POST", "/v1/refunds")) == 1
