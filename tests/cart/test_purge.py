from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from cart.models import Cart, CartItem
from cart.services import cart_purge_stale
from cart.tasks import purge_stale_carts
from tests.factories import CartFactory, CartItemFactory

pytestmark = pytest.mark.django_db


def age(cart, days):
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def carts(settings):
    settings.CART_TTL_DAYS = 30
    stale_anonymous = CartItemFactory(cart=CartFactory(user=None)).cart
    fresh_anonymous = CartItemFactory(cart=CartFactory(user=None)).cart
    stale_user = CartItemFactory().cart
    age(stale_anonymous, 31)
    age(fresh_anonymous, 29)
    age(stale_user, 400)
    return stale_anonymous, fresh_anonymous, stale_user


def test_management_command_purges_only_stale_anonymous_carts(carts, capsys):
    stale_anonymous, fresh_anonymous, stale_user = carts

    call_command("purge_stale_carts")

    assert set(Cart.objects.values_list("pk", flat=True)) == {fresh_anonymous.pk, stale_user.pk}
    assert not CartItem.objects.filter(cart_id=stale_anonymous.pk).exists()
    assert "Purged 1 stale anonymous cart" in capsys.readouterr().out


def test_management_command_days_option(carts):
    call_command("purge_stale_carts", "--days", "7")

    assert list(Cart.objects.values_list("pk", flat=True)) == [carts[2].pk]


def test_management_command_rejects_negative_days(carts):
    with pytest.raises(CommandError):
        call_command("purge_stale_carts", "--days", "-1")
    assert Cart.objects.count() == 3


def test_celery_task_purges_stale_anonymous_carts(carts):
    result = purge_stale_carts.delay()

    assert result.get() == 1
    assert not Cart.objects.filter(pk=carts[0].pk).exists()


def test_task_is_the_one_the_beat_schedule_names(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["purge-stale-carts"]
    assert entry["task"] == purge_stale_carts.name == "cart.tasks.purge_stale_carts"


def test_purge_works_in_batches(settings):
    settings.CART_TTL_DAYS = 1
    for cart in CartFactory.create_batch(7, user=None):
        age(cart, 2)

    assert cart_purge_stale(batch_size=3) == 7
    assert not Cart.objects.exists()
