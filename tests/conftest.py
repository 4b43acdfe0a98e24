import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import StaffFactory, UserFactory


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client():
    return APIClient()


def auth_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def user_client(user):
    return auth_client(user)


@pytest.fixture
def other_client(other_user):
    return auth_client(other_user)


@pytest.fixture
def staff_client(staff):
    return auth_client(staff)


requires_postgres = pytest.mark.skipif(
    not settings.IS_POSTGRES,
    reason="needs PostgreSQL row locks and real concurrency; CI runs the suite with DATABASE_URL=postgres://...",
)
