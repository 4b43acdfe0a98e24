"""The daily job forgets refresh tokens past their expiry, and nothing else."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from tests.factories import UserFactory
from users.services import tokens_for_user
from users.tasks import purge_expired_tokens

pytestmark = pytest.mark.django_db


def test_expired_refresh_tokens_and_their_blacklist_rows_are_purged():
    user = UserFactory()
    tokens_for_user(user)
    tokens_for_user(user)
    old, fresh = OutstandingToken.objects.order_by("pk")
    BlacklistedToken.objects.create(token=old)
    OutstandingToken.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert purge_expired_tokens() == 1

    assert list(OutstandingToken.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not BlacklistedToken.objects.exists()


def test_the_job_is_scheduled_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["purge-expired-tokens"]
    assert entry == {"task": "users.tasks.purge_expired_tokens", "schedule": 24 * 3600.0}
