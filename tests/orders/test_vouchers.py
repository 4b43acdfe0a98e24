"""Voucher rules and counting, called as services (orders.vouchers): what a code must pass, applying it
to a cart, counting a use inside the order transaction and giving it back, and the staff writes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone

from cart.models import Cart
from cart.selectors import cart_get_with_lines, cart_summarize
from novacart.exceptions import Conflict, NotFound, ValidationFailed
from orders import vouchers
from orders.models import Voucher, VoucherKind, VoucherRedemption
from orders.selectors import voucher_eligible_subtotal, voucher_get_by_code, voucher_scope_get
from tests.factories import (
    CartFactory,
    CartItemFactory,
    CategoryFactory,
    OrderFactory,
    ProductFactory,
    UserFactory,
    VoucherFactory,
)

from .helpers import fill_cart

pytestmark = pytest.mark.django_db


def apply(user, code, cart_token=None):
    return vouchers.cart_voucher_apply(user=user, cart_token=cart_token, code=code)


def refusal(excinfo) -> tuple[type, str, str, str | None]:
    error = excinfo.value.errors[0]
    return type(excinfo.value), error.code, error.detail, error.attr


def redeem(voucher, order, user=None, email=""):
    with transaction.atomic():
        return vouchers.voucher_redeem(voucher_id=voucher.pk, order=order, user=user, email=email)


@pytest.fixture
def shopper(user):
    """A user whose cart holds 2 x 12.50 of a mug: subtotal 25.00."""
    mug = ProductFactory(name="Blue Mug", price=Decimal("12.50"), stock=10)
    fill_cart(user, (mug, 2))
    return user


# --- codes ---------------------------------------------------------------------------------------


def test_codes_are_matched_whatever_their_case_and_the_spaces_around_them(shopper):
    voucher = VoucherFactory(code="SUMMER10")

    cart = apply(shopper, "  summer10 ")

    assert Cart.objects.get(pk=cart.pk).voucher == voucher
    assert voucher_get_by_code(code="Summer10") == voucher


def test_a_code_differing_only_in_case_cannot_be_created_twice():
    vouchers.voucher_create(data={"code": "summer10", "kind": VoucherKind.PERCENT, "value": Decimal("10")})

    with pytest.raises(ValidationFailed) as excinfo:
        vouchers.voucher_create(data={"code": "Summer10", "kind": VoucherKind.FIXED, "value": Decimal("5")})

    assert refusal(excinfo)[1:] == (
        "voucher_code_taken",
        "A voucher with this code already exists (codes are the same whatever their case).",
        "code",
    )
    assert list(Voucher.objects.values_list("code", flat=True)) == ["SUMMER10"]


def test_the_database_refuses_a_code_that_is_not_upper_case():
    with pytest.raises(IntegrityError), transaction.atomic():
        Voucher.objects.create(code="lower", kind=VoucherKind.PERCENT, value=Decimal("10"))


# --- the rules ------------------------------------------------------------------------------------

INVALID = (ValidationFailed, "voucher_invalid", "This voucher code is not valid.", "code")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: None, id="unknown"),
        pytest.param(lambda: VoucherFactory(code="SUMMER10", is_active=False), id="inactive"),
        pytest.param(
            lambda: VoucherFactory(code="SUMMER10", starts_at=timezone.now() + timedelta(days=1)), id="not-started"
        ),
    ],
)
def test_unknown_inactive_and_not_yet_started_codes_get_one_answer(shopper, make):
    make()

    with pytest.raises(ValidationFailed) as excinfo:
        apply(shopper, "SUMMER10")

    assert refusal(excinfo) == INVALID
    assert Cart.objects.get(user=shopper).voucher is None


def test_an_expired_voucher_is_refused_from_its_end_on(shopper):
    now = timezone.now()
    voucher = VoucherFactory(code="OLD", starts_at=now - timedelta(days=10), ends_at=now)

    with pytest.raises(ValidationFailed) as excinfo:
        vouchers.cart_voucher_apply(user=shopper, cart_token=None, code="old", now=now)
    valid_a_moment_before = vouchers.cart_voucher_apply(
        user=shopper, cart_token=None, code="old", now=now - timedelta(seconds=1)
    )

    assert refusal(excinfo) == (ValidationFailed, "voucher_expired", "This voucher has expired.", "code")
    assert Cart.objects.get(pk=valid_a_moment_before.pk).voucher == voucher


def test_a_voucher_is_valid_from_its_start(shopper):
    now = timezone.now()
    voucher = VoucherFactory(code="FRESH", starts_at=now)

    cart = vouchers.cart_voucher_apply(user=shopper, cart_token=None, code="FRESH", now=now)

    assert Cart.objects.get(pk=cart.pk).voucher == voucher


def test_a_cart_under_the_minimum_subtotal_is_refused(shopper):
    VoucherFactory(code="BIG", min_subtotal=Decimal("25.01"))
    exact = VoucherFactory(code="EXACT", min_subtotal=Decimal("25.00"))

    with pytest.raises(ValidationFailed) as excinfo:
        apply(shopper, "BIG")
    cart = apply(shopper, "EXACT")

    assert refusal(excinfo) == (
        ValidationFailed,
        "voucher_min_subtotal",
        "This voucher needs a subtotal of at least 25.01 USD; your cart's is 25.00.",
        "code",
    )
    assert Cart.objects.get(pk=cart.pk).voucher == exact


def test_a_voucher_for_other_products_or_categories_is_not_applicable(shopper):
    VoucherFactory(code="LAMPS", categories=[CategoryFactory()], products=[ProductFactory()])

    with pytest.raises(ValidationFailed) as excinfo:
        apply(shopper, "LAMPS")

    assert refusal(excinfo) == (
        ValidationFailed,
        "voucher_not_applicable",
        "Nothing in your cart is eligible for this voucher.",
        "code",
    )
    assert Cart.objects.get(user=shopper).voucher is None


def test_a_category_voucher_applies_to_products_of_its_sub_categories(user):
    kitchen = CategoryFactory(name="Kitchen")
    mugs = CategoryFactory(name="Mugs", parent=kitchen)
    cups = CategoryFactory(name="Espresso cups", parent=mugs)
    elsewhere = CategoryFactory()
    cup = ProductFactory(category=cups, price=Decimal("8.00"))
    towel = ProductFactory(category=elsewhere, price=Decimal("3.00"))
    fill_cart(user, (cup, 1), (towel, 2))
    voucher = VoucherFactory(code="KITCHEN", categories=[kitchen])

    cart = apply(user, "kitchen")

    scope = voucher_scope_get(voucher=voucher)
    assert scope.category_ids == {kitchen.pk, mugs.pk, cups.pk}
    assert Cart.objects.get(pk=cart.pk).voucher == voucher


def test_the_eligible_subtotal_counts_only_the_lines_the_voucher_covers(user):
    mug, lamp, towel = (ProductFactory(price=Decimal(price)) for price in ("12.50", "40.00", "3.00"))
    cart = fill_cart(user, (mug, 2), (lamp, 1), (towel, 3))
    lines = cart_summarize(cart=cart_get_with_lines(cart_id=cart.pk)).lines
    by_product = VoucherFactory(products=[mug])
    by_category = VoucherFactory(categories=[lamp.category])
    whole_cart = VoucherFactory()

    def eligible(voucher):
        return voucher_eligible_subtotal(scope=voucher_scope_get(voucher=voucher), lines=lines)

    assert (eligible(by_product), eligible(by_category), eligible(whole_cart)) == (
        Decimal("25.00"),
        Decimal("40.00"),
        Decimal("74.00"),
    )


def test_without_a_cart_nothing_is_applicable_and_no_cart_is_made():
    VoucherFactory(code="SUMMER10")

    with pytest.raises(ValidationFailed) as excinfo:
        apply(None, "SUMMER10", cart_token=None)

    assert refusal(excinfo)[1] == "voucher_not_applicable"
    assert Cart.objects.count() == 0


def test_an_empty_cart_has_nothing_a_voucher_applies_to(user):
    CartFactory(user=user)
    VoucherFactory(code="SUMMER10")

    with pytest.raises(ValidationFailed) as excinfo:
        apply(user, "SUMMER10")

    assert refusal(excinfo)[1] == "voucher_not_applicable"


def test_a_used_up_voucher_is_exhausted(shopper):
    VoucherFactory(code="ONCE", usage_limit=3, used_count=3)

    with pytest.raises(Conflict) as excinfo:
        apply(shopper, "ONCE")

    assert refusal(excinfo) == (Conflict, "voucher_exhausted", "This voucher has been used up.", "code")
    assert Cart.objects.get(user=shopper).voucher is None


def test_a_customer_past_their_limit_is_exhausted_and_others_are_not(shopper):
    voucher = VoucherFactory(code="WELCOME", per_customer_limit=1)
    redeem(voucher, OrderFactory(user=shopper), user=shopper)
    someone_else = UserFactory()
    fill_cart(someone_else, (ProductFactory(), 1))

    with pytest.raises(Conflict) as excinfo:
        apply(shopper, "WELCOME")
    cart = apply(someone_else, "WELCOME")

    assert refusal(excinfo) == (
        Conflict,
        "voucher_exhausted",
        "You have already used this voucher; it can be used once per customer.",
        "code",
    )
    assert Cart.objects.get(pk=cart.pk).voucher == voucher


def test_uses_as_a_guest_with_the_accounts_email_count_for_the_account(shopper):
    voucher = VoucherFactory(code="WELCOME", per_customer_limit=1)
    redeem(voucher, OrderFactory(), email=shopper.email.upper())

    with pytest.raises(Conflict) as excinfo:
        apply(shopper, "WELCOME")

    assert refusal(excinfo)[1] == "voucher_exhausted"


def test_voucher_check_counts_a_guests_uses_by_email_in_any_case():
    voucher = VoucherFactory(per_customer_limit=2)
    redeem(voucher, OrderFactory(), email="Guest@Example.com")
    redeem(voucher, OrderFactory(), email="guest@example.com")

    def check(email):
        return vouchers.voucher_check(
            voucher=voucher, user_or_email=email, subtotal=Decimal("10"), eligible_subtotal=Decimal("10")
        )

    with pytest.raises(Conflict) as excinfo:
        check(" GUEST@example.com")
    assert check("other@example.com") == voucher
    assert refusal(excinfo)[2] == "You have already used this voucher; it can be used 2 times per customer."


def test_an_anonymous_cart_is_not_counted_per_customer_until_checkout():
    voucher = VoucherFactory(per_customer_limit=1)
    redeem(voucher, OrderFactory(), email="guest@example.com")

    checked = vouchers.voucher_check(
        voucher=voucher, user_or_email=None, subtotal=Decimal("10"), eligible_subtotal=Decimal("10")
    )

    assert checked == voucher


# --- the cart's voucher -----------------------------------------------------------------------------


def test_applying_another_code_replaces_the_first_and_removing_takes_it_off(shopper):
    VoucherFactory(code="FIRST")
    second = VoucherFactory(code="SECOND")

    apply(shopper, "first")
    apply(shopper, "second")
    after_apply = Cart.objects.get(user=shopper).voucher
    vouchers.cart_voucher_remove(user=shopper, cart_token=None)

    assert after_apply == second
    assert Cart.objects.get(user=shopper).voucher is None


def test_a_refused_code_leaves_the_cart_s_voucher_as_it_was(shopper):
    kept = VoucherFactory(code="KEPT")
    VoucherFactory(code="GONE", is_active=False)
    apply(shopper, "KEPT")
    before = Cart.objects.values("voucher_id", "updated_at").get(user=shopper)

    with pytest.raises(ValidationFailed):
        apply(shopper, "GONE")

    assert Cart.objects.values("voucher_id", "updated_at").get(user=shopper) == before
    assert before["voucher_id"] == kept.pk


def test_an_anonymous_cart_takes_a_voucher_by_its_token():
    cart = CartFactory(user=None)
    CartItemFactory(cart=cart, product=ProductFactory())
    voucher = VoucherFactory(code="ANON5", kind=VoucherKind.FIXED, value=Decimal("5.00"))

    applied = vouchers.cart_voucher_apply(user=None, cart_token=cart.token, code="anon5")
    vouchers.cart_voucher_remove(user=None, cart_token="not-a-token")  # no such cart: nothing happens

    assert applied.pk == cart.pk
    assert Cart.objects.get(pk=cart.pk).voucher == voucher


def test_removing_without_a_cart_is_no_error():
    assert vouchers.cart_voucher_remove(user=UserFactory(), cart_token=None) is None


def test_a_deleted_voucher_leaves_the_carts_that_held_it(shopper):
    voucher = VoucherFactory(code="BYE")
    apply(shopper, "BYE")

    assert vouchers.voucher_delete(voucher_id=voucher.pk) is True

    assert Cart.objects.get(user=shopper).voucher is None


# --- counting uses (what order placement and cancellation call) --------------------------------------


def test_redeem_counts_one_use_and_records_who_used_it(user):
    voucher = VoucherFactory(usage_limit=5)
    order = OrderFactory(user=user)

    redemption = redeem(voucher, order, user=user)

    voucher.refresh_from_db()
    assert voucher.used_count == 1
    assert (redemption.order, redemption.user, redemption.email) == (order, user, user.email.lower())


def test_redeeming_again_for_the_same_order_counts_nothing(user):
    voucher = VoucherFactory(usage_limit=5)
    order = OrderFactory(user=user)

    first = redeem(voucher, order, user=user)
    again = redeem(voucher, order, user=user)

    voucher.refresh_from_db()
    assert (again, voucher.used_count, VoucherRedemption.objects.count()) == (first, 1, 1)


def test_redeem_refuses_the_use_past_the_limit_and_changes_nothing():
    voucher = VoucherFactory(usage_limit=1)
    redeem(voucher, OrderFactory(), email="first@example.com")
    late = OrderFactory()

    with pytest.raises(Conflict) as excinfo:
        redeem(voucher, late, email="second@example.com")

    voucher.refresh_from_db()
    assert refusal(excinfo)[1] == "voucher_exhausted"
    assert voucher.used_count == 1
    assert not VoucherRedemption.objects.filter(order=late).exists()


def test_redeem_refuses_a_customer_past_their_limit_by_email_in_any_case():
    voucher = VoucherFactory(per_customer_limit=1)
    redeem(voucher, OrderFactory(), email="ada@example.com")

    with pytest.raises(Conflict) as excinfo:
        redeem(voucher, OrderFactory(), email="  ADA@example.com ")

    voucher.refresh_from_db()
    assert refusal(excinfo)[1:3] == (
        "voucher_exhausted",
        "You have already used this voucher; it can be used once per customer.",
    )
    assert voucher.used_count == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"is_active": False}, "voucher_invalid"),
        ({"ends_at": timezone.now() - timedelta(seconds=1)}, "voucher_expired"),
    ],
    ids=["inactive", "expired"],
)
def test_redeem_refuses_a_voucher_that_stopped_being_valid(fields, code):
    voucher = VoucherFactory(starts_at=timezone.now() - timedelta(days=2), **fields)

    with pytest.raises(ValidationFailed) as excinfo:
        redeem(voucher, OrderFactory())

    assert refusal(excinfo)[1] == code
    assert Voucher.objects.get(pk=voucher.pk).used_count == 0


def test_redeem_refuses_a_deleted_voucher():
    voucher = VoucherFactory()
    voucher_id = voucher.pk
    voucher.delete()

    with pytest.raises(ValidationFailed) as excinfo, transaction.atomic():
        vouchers.voucher_redeem(voucher_id=voucher_id, order=OrderFactory())

    assert refusal(excinfo) == INVALID


def test_a_use_refused_past_the_customer_limit_is_taken_back_even_without_a_rollback(user):
    """voucher_use_take adds the use before it can count the customer's (under the lock the update
    takes): a refusal takes it back itself, whatever the caller's transaction does."""
    voucher = VoucherFactory(usage_limit=5, per_customer_limit=1)
    redeem(voucher, OrderFactory(user=user), user=user)

    with pytest.raises(Conflict) as excinfo:
        vouchers.voucher_use_take(voucher_id=voucher.pk, user=user)

    assert refusal(excinfo)[1] == "voucher_exhausted"
    assert Voucher.objects.get(pk=voucher.pk).used_count == 1


def test_taking_a_use_reads_the_voucher_its_scope_and_the_customer_s_uses(user):
    kitchen = CategoryFactory()
    mugs = CategoryFactory(parent=kitchen)
    lamp = ProductFactory()
    voucher = VoucherFactory(usage_limit=2, per_customer_limit=2, categories=[kitchen], products=[lamp])
    redeem(voucher, OrderFactory(user=user), user=user)

    taken = vouchers.voucher_use_take(voucher_id=voucher.pk, user=user)

    assert (taken.voucher.pk, taken.voucher.used_count, taken.customer_uses, taken.use_taken) == (
        voucher.pk,
        2,
        1,
        True,
    )
    assert (taken.scope.product_ids, taken.scope.category_ids) == ({lamp.pk}, {kitchen.pk, mugs.pk})
    assert Voucher.objects.get(pk=voucher.pk).used_count == 2


def test_release_gives_the_use_back_once_however_often_it_is_called(user):
    voucher = VoucherFactory(usage_limit=1, per_customer_limit=1)
    order = OrderFactory(user=user)
    redeem(voucher, order, user=user)

    released = [vouchers.voucher_release(order=order) for _ in range(3)]

    voucher.refresh_from_db()
    assert released == [True, False, False]
    assert voucher.used_count == 0
    assert not VoucherRedemption.objects.exists()
    # The use is free again, for this customer too.
    redeem(voucher, OrderFactory(user=user), user=user)
    assert Voucher.objects.get(pk=voucher.pk).used_count == 1


def test_release_of_an_order_without_a_voucher_changes_nothing():
    voucher = VoucherFactory(usage_limit=2)
    redeem(voucher, OrderFactory())

    assert vouchers.voucher_release(order=OrderFactory()) is False
    assert Voucher.objects.get(pk=voucher.pk).used_count == 1


def test_the_database_refuses_more_uses_than_the_limit():
    voucher = VoucherFactory(usage_limit=1, used_count=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        Voucher.objects.filter(pk=voucher.pk).update(used_count=2)


# --- staff writes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "detail"),
    [
        (VoucherKind.PERCENT, Decimal("0"), "A percentage is more than 0 and at most 100 (10 for 10%)."),
        (VoucherKind.PERCENT, Decimal("100.01"), "A percentage is more than 0 and at most 100 (10 for 10%)."),
        (VoucherKind.FIXED, Decimal("0"), "A fixed amount off is more than 0."),
        (VoucherKind.FREE_SHIPPING, Decimal("1"), "A free-shipping voucher has no value: leave it out or send 0."),
    ],
)
def test_the_value_must_fit_the_kind(kind, value, detail):
    with pytest.raises(ValidationFailed) as excinfo:
        vouchers.voucher_create(data={"code": "TERMS", "kind": kind, "value": value})

    assert refusal(excinfo)[1:] == ("invalid", detail, "value")
    assert not Voucher.objects.exists()


def test_the_largest_percentage_and_free_shipping_without_a_value_are_fine():
    hundred = vouchers.voucher_create(data={"code": "ALL", "kind": VoucherKind.PERCENT, "value": Decimal("100")})
    shipping = vouchers.voucher_create(data={"code": "SHIP", "kind": VoucherKind.FREE_SHIPPING})

    assert (hundred.value, shipping.value) == (Decimal("100"), Decimal("0.00"))


def test_a_voucher_must_end_after_it_starts():
    start = timezone.now()

    with pytest.raises(ValidationFailed) as excinfo:
        vouchers.voucher_create(
            data={"code": "BACKWARDS", "kind": VoucherKind.FIXED, "value": 5, "starts_at": start, "ends_at": start}
        )

    assert refusal(excinfo)[1:] == ("invalid", "A voucher must end after it starts.", "ends_at")


def test_the_usage_limit_cannot_go_under_the_uses_so_far():
    voucher = VoucherFactory(usage_limit=10, used_count=4)

    with pytest.raises(ValidationFailed) as excinfo:
        vouchers.voucher_update(voucher_id=voucher.pk, data={"usage_limit": 3})
    vouchers.voucher_update(voucher_id=voucher.pk, data={"usage_limit": 4})

    assert refusal(excinfo)[1:] == (
        "invalid",
        "This voucher has been used 4 times already: the usage limit cannot be lower.",
        "usage_limit",
    )
    assert Voucher.objects.get(pk=voucher.pk).usage_limit == 4


def test_an_update_never_writes_the_uses_counted_meanwhile():
    voucher = VoucherFactory(usage_limit=10)
    Voucher.objects.filter(pk=voucher.pk).update(used_count=3)  # checkouts while staff edit

    vouchers.voucher_update(voucher_id=voucher.pk, data={"value": Decimal("15"), "code": "renamed"})

    voucher.refresh_from_db()
    assert (voucher.code, voucher.value, voucher.used_count) == ("RENAMED", Decimal("15.00"), 3)


def test_update_of_a_missing_voucher_is_not_found():
    with pytest.raises(NotFound):
        vouchers.voucher_update(voucher_id=987654, data={"value": Decimal("5")})


def test_deleting_an_unused_voucher_deletes_it_and_a_used_one_is_deactivated():
    unused = VoucherFactory()
    used = VoucherFactory()
    order = OrderFactory()
    redeem(used, order)
    given_back = VoucherFactory()
    redeem(given_back, OrderFactory())
    given_back_order = VoucherRedemption.objects.get(voucher=given_back).order
    vouchers.voucher_release(order=given_back_order)

    results = [vouchers.voucher_delete(voucher_id=v.pk) for v in (unused, used, given_back)]

    assert results == [True, False, True]
    assert list(Voucher.objects.values_list("pk", "is_active")) == [(used.pk, False)]
    assert VoucherRedemption.objects.get().order == order


# --- generated codes ---------------------------------------------------------------------------------


def test_generated_codes_are_unique_single_use_and_apply_to_what_the_template_applies_to():
    category, product = CategoryFactory(), ProductFactory()
    template = VoucherFactory(code="SPRING", categories=[category], products=[product])
    ends = timezone.now() + timedelta(days=30)

    created = vouchers.voucher_codes_generate(
        count=25, prefix="spring", kind=VoucherKind.FIXED, value=Decimal("5.00"), ends_at=ends, template=template
    )

    codes = [voucher.code for voucher in created]
    assert len(created) == len(set(codes)) == 25
    assert all(
        code.startswith("SPRING-") and len(code) == 17 and set(code[7:]) <= set(vouchers.GENERATED_ALPHABET)
        for code in codes
    )
    for voucher in Voucher.objects.filter(code__startswith="SPRING-"):
        assert (voucher.kind, voucher.value, voucher.usage_limit, voucher.ends_at) == (
            VoucherKind.FIXED,
            Decimal("5.00"),
            1,
            ends,
        )
        assert list(voucher.categories.all()) == [category]
        assert list(voucher.products.all()) == [product]


@override_settings(VOUCHER_GENERATE_MAX=5)
@pytest.mark.parametrize(
    ("count", "prefix", "attr"), [(0, "OK", "count"), (6, "OK", "count"), (2, "no spaces", "prefix")]
)
def test_generating_refuses_counts_and_prefixes_out_of_bounds(count, prefix, attr):
    with pytest.raises(ValidationFailed) as excinfo:
        vouchers.voucher_codes_generate(count=count, prefix=prefix, kind=VoucherKind.PERCENT, value=Decimal("10"))

    assert refusal(excinfo)[3] == attr
    assert not Voucher.objects.exists()
