"""Of any number of refreshes with one refresh token, exactly one succeeds: the database decides
(the spent token's blacklist row is unique), so it holds across threads, processes and instances."""

import threading
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from tests.conftest import requires_postgres
from tests.factories import DEFAULT_PASSWORD
from tests.users.test_token_errors import assert_one_error

RACERS = 12


def _login(user) -> dict:
    response = APIClient().post("/api/token/", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.json()
    return response.json()


def _refresh(refresh: str):
    return APIClient().post("/api/token/refresh/", {"refresh": refresh})


def _in_threads(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index):
        try:
            barrier.wait(timeout=10)
            results[index] = work(index)
        except Exception as exc:  # surfaced by the assertions on the results
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def _assert_exactly_one_new_session(user, original: str, responses) -> dict:
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * (len(responses) - 1), statuses
    for response in responses:
        if response.status_code == 401:
            assert_one_error(response, "token_not_valid")
    [winner] = [r.json() for r in responses if r.status_code == 200]
    # the login's refresh token and the winner's: no other session was made
    assert OutstandingToken.objects.filter(user=user).count() == 2
    assert _refresh(original).status_code == 401
    assert _refresh(winner["refresh"]).status_code == 200
    return winner


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_one_token_make_exactly_one_session(user):
    original = _login(user)["refresh"]

    responses = _in_threads(RACERS, lambda index: _refresh(original))

    assert not [r for r in responses if isinstance(r, Exception)], responses
    _assert_exactly_one_new_session(user, original, responses)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_cookie_refreshes_make_exactly_one_session(user):
    login = APIClient().post("/api/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD})
    original, csrf = login.json()["refresh"], login.cookies["csrftoken"].value

    def refresh_with_the_cookie(index):
        client = APIClient(enforce_csrf_checks=True)
        client.cookies[settings.AUTH_COOKIE_REFRESH] = original
        client.cookies["csrftoken"] = csrf
        return client.post("/api/token/refresh/", {}, HTTP_X_CSRFTOKEN=csrf)

    responses = _in_threads(RACERS, refresh_with_the_cookie)

    assert not [r for r in responses if isinstance(r, Exception)], responses
    _assert_exactly_one_new_session(user, original, responses)


@pytest.mark.django_db
def test_a_rotated_refresh_token_is_refused_when_used_again(user):
    original = _login(user)["refresh"]
    assert _refresh(original).status_code == 200

    assert_one_error(_refresh(original), "token_not_valid")


@pytest.mark.django_db
@pytest.mark.parametrize("transport", ["body", "cookie"])
def test_a_refresh_that_passed_the_blacklist_check_before_the_other_committed_still_loses(user, transport):
    """The interleaving of a race, one request after the other: the second request's read of the
    blacklist ran before the first request's insert (here: the read is made blind), so only the
    insert can tell them apart."""
    original = _login(user)["refresh"]

    def refresh():
        client = APIClient()
        if transport == "body":
            return client.post("/api/token/refresh/", {"refresh": original})
        client.cookies[settings.AUTH_COOKIE_REFRESH] = original
        return client.post("/api/token/refresh/", {})

    with mock.patch("rest_framework_simplejwt.tokens.BlacklistMixin.check_blacklist", return_value=None):
        first, second = refresh(), refresh()

    assert first.status_code == 200, first.json()
    assert_one_error(second, "token_not_valid")
    assert OutstandingToken.objects.filter(user=user).count() == 2
