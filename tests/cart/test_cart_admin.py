import pytest
from django.core.exceptions import ValidationError

from cart.models import CartItem
from tests.factories import CartFactory, CartItemFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.mark.parametrize("owner", ["", "?owner=user", "?owner=anonymous"])
def test_cart_changelist_with_owner_filter(admin_client, owner):
    user_cart = CartItemFactory(quantity=3).cart
    anonymous_cart = CartItemFactory(cart=CartFactory(user=None)).cart

    response = admin_client.get(f"/admin/cart/cart/{owner}")

    assert response.status_code == 200
    shown = {cart.pk for cart in response.context["cl"].result_list}
    expected = {"": {user_cart.pk, anonymous_cart.pk}, "?owner=user": {user_cart.pk}}
    assert shown == expected.get(owner, {anonymous_cart.pk})


def test_cart_change_page_shows_lines_read_only_and_hides_token(admin_client):
    item = CartItemFactory(quantity=3)

    response = admin_client.get(f"/admin/cart/cart/{item.cart.pk}/change/")

    assert response.status_code == 200
    assert item.product.name in response.content.decode()
    assert item.cart.token not in response.content.decode()
    assert admin_client.get("/admin/cart/cart/add/").status_code == 403


def test_a_cart_line_of_zero_is_refused_in_plain_words():
    item = CartItemFactory(quantity=2)
    item.quantity = 0

    with pytest.raises(ValidationError) as refused:
        item.full_clean()

    assert refused.value.messages == ["Quantity must be at least 1."]
    assert CartItem.objects.get(pk=item.pk).quantity == 2
