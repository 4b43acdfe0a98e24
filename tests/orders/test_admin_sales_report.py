"""The admin's sales report: who may read it, the chart's geometry (buckets, a y-axis at round values,
x labels that do not overlap) at 7, 90, 180 and 365 days, and a table of the same buckets."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from novacart.permissions import FINANCE, ORDER_MANAGERS, SUPPORT
from orders.admin import CHART_CHAR_PX, _bar_chart, nice_step
from orders.models import OrderStatus
from orders.selectors import order_sales_buckets, order_sales_report
from tests.factories import OrderFactory, StaffFactory, UserFactory, staff_in

pytestmark = pytest.mark.django_db
REPORT = "admin:orders_order_sales_report"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _sales(days_ago_and_totals):
    now = timezone.now()
    for days_ago, total in days_ago_and_totals:
        OrderFactory(status=OrderStatus.PAID, total=Decimal(total), paid_at=now - timedelta(days=days_ago))


def _chart(days):
    report = order_sales_report(days=days)
    buckets = order_sales_buckets(report=report)
    return report, buckets, _bar_chart(buckets["buckets"], granularity=buckets["granularity"])


def _months(report) -> int:
    start, end = report["start_date"], report["end_date"]
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _is_round(value: Decimal) -> bool:
    """1, 2, 2.5 or 5 times a power of ten (or zero)."""
    if value == 0:
        return True
    digits = value.normalize().as_tuple().digits
    return digits in ((1,), (2,), (2, 5), (5,))


def _assert_labels_do_not_overlap(chart):
    labelled = [bar for bar in chart["bars"] if bar["label"]]
    assert labelled, "some bars are labelled"
    for left, right in zip(labelled, labelled[1:], strict=False):
        half_widths = (len(left["label"]) + len(right["label"])) / 2 * CHART_CHAR_PX
        assert right["label_x"] - left["label_x"] > half_widths


@pytest.mark.parametrize(("days", "granularity"), [(7, "day"), (30, "day"), (90, "day"), (180, "week"), (365, "month")])
def test_the_chart_geometry(days, granularity):
    _sales([(0, "1234.56"), (3, "80.00"), (40, "410.00"), (200, "99.99")])

    report, buckets, chart = _chart(days)

    assert buckets["granularity"] == granularity
    expected = {"day": days, "week": None, "month": _months(report)}[granularity]
    if granularity == "week":
        first_monday = report["start_date"] - timedelta(days=report["start_date"].weekday())
        expected = (report["end_date"] - first_monday).days // 7 + 1
    assert len(chart["bars"]) == expected
    if granularity == "month":
        assert 12 <= len(chart["bars"]) <= 13
    # The buckets add up to the report.
    assert sum(b["revenue"] for b in buckets["buckets"]) == report["totals"]["revenue"]
    assert sum(b["orders"] for b in buckets["buckets"]) == report["totals"]["orders"]
    # A y-axis from 0 to a round top above the best bucket, gridlines at round values.
    values = [tick["value"] for tick in chart["ticks"]]
    assert values[0] == 0 and len(values) >= 3
    step = values[1] - values[0]
    assert _is_round(step) and all(b - a == step for a, b in zip(values, values[1:], strict=False))
    assert values[-1] >= max(b["revenue"] for b in buckets["buckets"])
    assert chart["ticks"][0]["y"] == chart["bottom"] and chart["ticks"][-1]["y"] == chart["top"]
    assert all(bar["y"] >= chart["top"] and bar["y"] + bar["height"] <= chart["bottom"] + 0.01 for bar in chart["bars"])
    _assert_labels_do_not_overlap(chart)


def test_tick_labels_read_as_round_numbers():
    _sales([(0, "1234.56")])

    _report, _buckets, chart = _chart(7)

    assert [tick["label"] for tick in chart["ticks"]] == ["0", "500", "1,000", "1,500"]


@pytest.mark.parametrize(
    ("peak", "step"),
    [("1234.56", "500"), ("42", "20"), ("100", "25"), ("9", "2.5"), ("0.8", "0.2"), ("70000", "20000")],
)
def test_nice_step(peak, step):
    assert nice_step(Decimal(peak)) == Decimal(step)


def test_an_empty_period_still_draws_an_axis(db):
    _report, _buckets, chart = _chart(30)

    assert len(chart["bars"]) == 30 and not chart["has_sales"]
    assert [tick["label"] for tick in chart["ticks"]] == ["0", "25", "50", "75", "100"]
    assert all(bar["height"] == 0 for bar in chart["bars"])


def test_the_report_page_draws_a_year_as_months_with_the_same_table():
    _sales([(0, "42.00"), (1, "8.00"), (100, "50.00")])

    response = login(staff_in(FINANCE)).get(reverse(REPORT), {"days": 365})

    assert response.status_code == 200
    content = response.content.decode()
    bars = response.context["chart"]["bars"]
    assert content.count('<rect class="bar"') == len(bars) <= 13
    table = content.split('<table class="sales-table">', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == len(bars) + 1  # the header and one row per bar, not 365
    assert "100.00 USD" in content  # the year's revenue, as money
    assert 'class="y-label"' in content and 'class="grid"' in content
    assert "by month" in content
    chart_svg = content.split('<svg class="sales-chart"', 1)[1].split("</svg>", 1)[0]
    assert "<script" not in content.split('<div id="content"', 1)[1]
    assert "http" not in chart_svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


@pytest.mark.parametrize("days", ["0", "abc", "400"])
def test_bad_days_fall_back_to_30(days):
    response = login(staff_in(FINANCE)).get(reverse(REPORT), {"days": days})

    assert response.status_code == 200
    assert response.context["report"]["days"] == 30
    assert response.context["error"]


@pytest.mark.parametrize("role", [SUPPORT, ORDER_MANAGERS, None])
def test_the_report_is_an_admin_403_without_the_permission(role):
    _sales([(0, "42.00")])
    client = login(staff_in(role) if role else StaffFactory(roles=()))

    response = client.get(reverse(REPORT))

    assert response.status_code == 403
    content = response.content.decode()
    assert 'id="site-name"' in content and "42.00" not in content


def test_the_report_is_for_staff_only():
    response = login(UserFactory()).get(reverse(REPORT))

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_report_page_shows_refunds_and_tax_beside_revenue():
    now = timezone.now()
    OrderFactory(status=OrderStatus.PAID, total=Decimal("60.00"), tax_total=Decimal("10.00"), paid_at=now)
    OrderFactory(status=OrderStatus.REFUNDED, total=Decimal("24.00"), tax_total=Decimal("4.00"), paid_at=now)

    response = login(staff_in(FINANCE)).get(reverse(REPORT), {"days": 7})

    assert response.status_code == 200
    content = response.content.decode()
    totals = content.split('<table class="sales-totals">', 1)[1].split("</table>", 1)[0]
    for label, amount in (("Gross", "84.00"), ("Refunds", "24.00"), ("Revenue", "60.00"), ("Tax", "10.00")):
        assert f"<th>{label}</th><td>{amount} USD</td>" in totals
    table = content.split('<table class="sales-table">', 1)[1].split("</table>", 1)[0]
    header, today = table.split("<tr>")[1:3]
    assert [cell.split("<")[0] for cell in header.split("<th>")[1:]] == [
        "Day",
        "Gross",
        "Refunds",
        "Revenue",
        "Tax",
        "Orders",
        "Average order",
    ]
    assert [cell.split("<")[0] for cell in today.split("<td>")[1:]] == [
        timezone.localdate().isoformat(),
        "84.00 USD",
        "24.00 USD",
        "60.00 USD",
        "10.00 USD",
        "2",
        "42.00 USD",
    ]
    # The bars are revenue, net of refunds.
    assert response.context["chart"]["best"] == "60.00 USD"
