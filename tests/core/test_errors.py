"""Every error, whoever raises it, leaves in the contract's one shape."""

import logging

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.core.boom_urls import SECRET_TEXT
from tests.users.test_auth import assert_error_shape

pytestmark = pytest.mark.django_db


def test_validation_error_shape(api_client):
    response = api_client.post("/api/auth/register/", {"email": "nope", "password": ""})

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert_error_shape(body)
    attrs = {e["attr"] for e in body["errors"]}
    assert {"email", "password"} <= attrs


def test_malformed_json_is_400_in_the_shape(api_client):
    response = api_client.generic("POST", "/api/auth/register/", "{not json", content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "client_error"
    assert_error_shape(body, code="parse_error")


def test_unauthenticated_is_401_in_the_shape(api_client):
    response = api_client.get("/api/auth/me/")

    assert response.status_code == 401
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "not_authenticated",
                "detail": "Authentication credentials were not provided.",
                "attr": None,
            }
        ],
    }
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_invalid_bearer_token_is_401_in_the_shape(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")

    response = api_client.get("/api/auth/me/")

    assert response.status_code == 401
    assert_error_shape(response.json(), code="token_not_valid")


@pytest.mark.parametrize("path", ["/api/does-not-exist/", "/api/auth/nothing/here/", "/api/token/extra/"])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_path_is_404_in_the_shape(api_client, path, method):
    response = getattr(api_client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}],
    }


def test_unknown_path_outside_api_is_404_json(api_client):
    response = api_client.get("/definitely-not-here/")

    assert response.status_code == 404
    assert_error_shape(response.json(), code="not_found")


@pytest.mark.urls("tests.core.boom_urls")
def test_unknown_object_is_404_in_the_shape(user_client, user):
    assert user_client.get(f"/boom/users/{user.pk}/").status_code == 200

    response = user_client.get(f"/boom/users/{user.pk + 1000}/")

    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "client_error"
    assert_error_shape(body, code="not_found")


def test_wrong_method_is_405_in_the_shape(api_client):
    response = api_client.get("/api/auth/register/")

    assert response.status_code == 405
    body = response.json()
    assert body["type"] == "client_error"
    assert_error_shape(body, code="method_not_allowed")
    assert "GET" in body["errors"][0]["detail"]


@pytest.mark.urls("tests.core.boom_urls")
def test_unhandled_exception_in_a_drf_view_is_500_in_the_shape_and_logged(caplog):
    client = APIClient(raise_request_exception=False)

    with caplog.at_level(logging.ERROR):
        response = client.get("/boom/drf/")

    assert response.status_code == 500
    body = response.json()
    assert body == {
        "type": "server_error",
        "errors": [{"code": "error", "detail": "Server Error (500)", "attr": None}],
    }
    assert SECRET_TEXT not in response.content.decode()
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged, "the 500 was not logged"
    assert any(r.exc_info and SECRET_TEXT in str(r.exc_info[1]) for r in logged)
    assert any("/boom/drf/" in r.getMessage() for r in logged)


@pytest.mark.urls("tests.core.boom_urls")
def test_unhandled_exception_outside_drf_is_500_json(caplog):
    client = Client(raise_request_exception=False)

    with caplog.at_level(logging.ERROR):
        response = client.get("/boom/django/")

    assert response.status_code == 500
    assert response.json() == {
        "type": "server_error",
        "errors": [{"code": "error", "detail": "Server Error (500)", "attr": None}],
    }
    assert SECRET_TEXT not in response.content.decode()
    assert any(r.exc_info and SECRET_TEXT in str(r.exc_info[1]) for r in caplog.records)


def test_service_errors_render_in_the_shape():
    """The mapping from ServiceError subclasses to statuses, as a view sees it."""
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    from novacart.exceptions import Conflict, ErrorItem, NotFound, ValidationFailed

    cases = [
        (ValidationFailed("Bad quantity.", code="invalid_quantity", attr="quantity"), 400, "validation_error"),
        (NotFound("No such order."), 404, "client_error"),
        (
            Conflict(errors=[ErrorItem("out_of_stock", "Only 1 left.", "items.0"), ErrorItem("out_of_stock", "None.")]),
            409,
            "client_error",
        ),
    ]
    for exc, expected_status, expected_type in cases:

        class RaisingView(APIView):
            authentication_classes: list = []
            permission_classes: list = []

            def get(self, request, _exc=exc):
                raise _exc

        response = RaisingView.as_view()(APIRequestFactory().get("/x/"))
        assert response.status_code == expected_status
        assert response.data["type"] == expected_type
        expected = [{"code": e.code, "detail": e.detail, "attr": e.attr} for e in exc.errors]
        assert response.data["errors"] == expected
