"""The voucher admin as staff use it: the list, the form (codes upper-cased, the API's rules, the use
counter never written), and the action generating single-use codes, per role."""

import re
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from novacart.permissions import CATALOG_MANAGERS, FINANCE, SUPPORT
from orders.models import Voucher, VoucherKind
from orders.vouchers import GENERATED_ALPHABET
from tests.factories import CategoryFactory, ProductFactory, VoucherFactory, staff_in

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:orders_voucher_changelist")
ADD = reverse("admin:orders_voucher_add")
GENERATED = re.compile(rf"^WINTER-[{GENERATED_ALPHABET}]{{10}}$")


def login(role) -> Client:
    client = Client()
    client.force_login(staff_in(role))
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def form_data(**overrides) -> dict:
    data = {
        "code": "winter5",
        "kind": "fixed",
        "value": "5.00",
        "min_subtotal": "",
        "starts_at_0": "2030-01-01",
        "starts_at_1": "00:00:00",
        "ends_at_0": "",
        "ends_at_1": "",
        "usage_limit": "",
        "per_customer_limit": "",
        "is_active": "on",
        # The read-only inline of uses.
        "redemptions-TOTAL_FORMS": "0",
        "redemptions-INITIAL_FORMS": "0",
        "redemptions-MIN_NUM_FORMS": "0",
        "redemptions-MAX_NUM_FORMS": "1000",
    }
    return {**data, **overrides}


def test_the_list_searches_codes_in_any_case():
    VoucherFactory(code="WINTER5")
    VoucherFactory(code="SUMMER10")

    response = login(CATALOG_MANAGERS).get(CHANGELIST, {"q": "winter"})

    assert response.status_code == 200
    assert [voucher.code for voucher in response.context["cl"].result_list] == ["WINTER5"]


def test_the_add_form_upper_cases_the_code_and_saves_what_it_applies_to():
    category, product = CategoryFactory(), ProductFactory()

    response = login(CATALOG_MANAGERS).post(
        ADD, form_data(categories=[category.pk], products=[product.pk], usage_limit="50")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    voucher = Voucher.objects.get()
    assert (voucher.code, voucher.kind, voucher.value, voucher.usage_limit) == (
        "WINTER5",
        "fixed",
        Decimal("5.00"),
        50,
    )
    assert (list(voucher.categories.all()), list(voucher.products.all())) == ([category], [product])


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"kind": "percent", "value": "150"}, "value", "A percentage is more than 0 and at most 100 (10 for 10%)."),
        ({"code": "summer10"}, "code", "A voucher with this code already exists."),
        ({"code": "a b"}, "code", "A code is 3 to 64 letters, digits, '-' or '_', starting with a letter or a digit."),
        (
            {"ends_at_0": "2029-12-31", "ends_at_1": "00:00:00"},
            "ends_at",
            "A voucher must end after it starts.",
        ),
    ],
    ids=["percent", "taken", "form", "ends-before-start"],
)
def test_the_add_form_refuses_what_the_api_refuses(overrides, field, message):
    VoucherFactory(code="SUMMER10")

    response = login(CATALOG_MANAGERS).post(ADD, form_data(**overrides))

    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors[field]
    assert Voucher.objects.count() == 1


def test_saving_the_form_keeps_the_uses_counted_while_it_was_open():
    voucher = VoucherFactory(code="WINTER5", kind=VoucherKind.FIXED, value=Decimal("5"), usage_limit=10)
    client = login(CATALOG_MANAGERS)
    url = reverse("admin:orders_voucher_change", args=[voucher.pk])
    assert client.get(url).status_code == 200
    Voucher.objects.filter(pk=voucher.pk).update(used_count=4)  # checkouts meanwhile

    response = client.post(url, form_data(value="7.50", usage_limit="10", starts_at_0="2020-01-01"))

    assert response.status_code == 302
    voucher.refresh_from_db()
    assert (voucher.value, voucher.used_count) == (Decimal("7.50"), 4)


def test_the_form_refuses_a_usage_limit_under_the_uses_so_far():
    voucher = VoucherFactory(code="WINTER5", kind=VoucherKind.FIXED, value=Decimal("5"), usage_limit=10, used_count=6)
    url = reverse("admin:orders_voucher_change", args=[voucher.pk])

    response = login(CATALOG_MANAGERS).post(url, form_data(usage_limit="5"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["usage_limit"] == [
        "This voucher has been used 6 times already: the usage limit cannot be lower."
    ]
    assert Voucher.objects.get(pk=voucher.pk).usage_limit == 10


# --- generate single-use codes ------------------------------------------------------------------------


def _action(client, voucher_ids, **fields):
    return client.post(
        CHANGELIST, {"action": "generate_codes", ACTION_CHECKBOX_NAME: [str(pk) for pk in voucher_ids], **fields}
    )


def test_the_action_asks_for_the_codes_with_the_selected_voucher_s_terms():
    template = VoucherFactory(code="WINTER", kind=VoucherKind.PERCENT, value=Decimal("15"))

    response = _action(login(CATALOG_MANAGERS), [template.pk])

    assert response.status_code == 200
    assert response.templates[0].name == "admin/orders/voucher/generate_codes.html"
    form = response.context["form"]
    assert (form.initial["prefix"], form.initial["kind"], form.initial["value"]) == (
        "WINTER",
        "percent",
        Decimal("15.00"),
    )
    assert Voucher.objects.count() == 1


def test_the_action_generates_unique_single_use_codes_like_the_template():
    category = CategoryFactory()
    template = VoucherFactory(code="WINTER", categories=[category])

    response = _action(
        login(CATALOG_MANAGERS),
        [template.pk],
        apply="yes",
        count="12",
        prefix="winter",
        kind="fixed",
        value="4.00",
        min_subtotal="20.00",
        starts_at="2030-01-01T09:00",
        ends_at="2030-02-01T09:00",
    )

    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}?q=WINTER-"
    assert messages_of(response) == ["Generated 12 single-use codes WINTER-…, listed below."]
    generated = Voucher.objects.exclude(pk=template.pk)
    codes = list(generated.values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 12
    assert all(GENERATED.fullmatch(code) for code in codes)
    assert set(generated.values_list("kind", "value", "usage_limit", "min_subtotal", "used_count")) == {
        ("fixed", Decimal("4.00"), 1, Decimal("20.00"), 0)
    }
    assert all(list(voucher.categories.all()) == [category] for voucher in generated)


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [({"count": "1001"}, "count"), ({"prefix": "no space"}, "prefix"), ({"kind": "percent", "value": "0"}, "value")],
    ids=["too-many", "prefix", "terms"],
)
def test_the_action_shows_what_is_wrong_and_creates_nothing(fields, error_field):
    template = VoucherFactory(code="WINTER")
    form = {
        "apply": "yes",
        "count": "5",
        "prefix": "WINTER",
        "kind": "fixed",
        "value": "4",
        "starts_at": "2030-01-01T09:00",
    }

    response = _action(login(CATALOG_MANAGERS), [template.pk], **{**form, **fields})

    assert response.status_code == 200
    assert response.context["form"].errors[error_field]
    assert Voucher.objects.count() == 1


def test_the_action_needs_exactly_one_voucher_selected():
    first, second = VoucherFactory(), VoucherFactory()

    response = _action(login(CATALOG_MANAGERS), [first.pk, second.pk])

    assert response.status_code == 302
    assert messages_of(response) == [
        "Select one voucher: the new codes apply to what it applies to (its categories and products)."
    ]
    assert Voucher.objects.count() == 2


@pytest.mark.parametrize("role", [FINANCE, SUPPORT])
def test_roles_that_only_read_vouchers_are_not_offered_the_action_and_cannot_post_it(role):
    template = VoucherFactory(code="WINTER")
    client = login(role)

    page = client.get(CHANGELIST)
    forged = _action(
        client, [template.pk], apply="yes", count="3", prefix="X", kind="fixed", value="1", starts_at="2030-01-01T09:00"
    )

    assert page.status_code == 200
    assert page.context["action_form"] is None  # no action offered at all
    assert forged.status_code in (200, 302)
    assert Voucher.objects.count() == 1
