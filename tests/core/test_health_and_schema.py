"""Health check, and the OpenAPI document with its viewers."""

import re

import pytest
from django.db import OperationalError, connection
from drf_spectacular.validation import validate_schema

from tests.users.test_auth import assert_error_shape

pytestmark = pytest.mark.django_db


def test_health_is_ok_when_the_database_answers(api_client):
    response = api_client.get("/api/health/")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"


@pytest.mark.parametrize("path", ["/api/health/", "/api/health/live/"])
def test_health_is_503_in_the_shape_when_the_database_is_down(api_client, monkeypatch, caplog, path):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused: db-secret-host:5432")

    monkeypatch.setattr(connection, "cursor", broken_cursor)

    response = api_client.get(path)

    assert response.status_code == 503
    body = response.json()
    assert body["type"] == "server_error"
    assert_error_shape(body, code="database_unavailable")
    assert "db-secret-host" not in response.content.decode()
    assert any("database unreachable" in r.getMessage() for r in caplog.records)


def test_health_needs_no_authentication_and_ignores_a_bad_token(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")

    assert api_client.get("/api/health/").status_code == 200


@pytest.mark.slow
def test_schema_is_a_valid_openapi_3_document(api_client):
    response = api_client.get("/api/schema/?format=json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises on an invalid document
    paths = schema["paths"]
    for path in [
        "/api/health/",
        "/api/token/",
        "/api/token/refresh/",
        "/api/token/verify/",
        "/api/auth/register/",
        "/api/auth/login/",
        "/api/auth/logout/",
        "/api/auth/me/",
        "/api/auth/change-password/",
        "/api/auth/password-reset/",
        "/api/auth/password-reset/confirm/",
    ]:
        assert path in paths, path
    assert "/api/schema/" not in paths
    assert set(paths["/api/auth/me/"]) == {"get", "patch"}
    assert "202" in paths["/api/auth/password-reset/"]["post"]["responses"]
    assert "429" in paths["/api/auth/login/"]["post"]["responses"]
    # Only the bearer scheme is offered (Swagger's Authorize box); the cookie transport is described in words.
    schemes = schema["components"]["securitySchemes"]
    assert list(schemes) == ["jwtAuth"]
    assert schemes["jwtAuth"]["scheme"] == "bearer" and "cookie" in schemes["jwtAuth"]["description"]
    assert paths["/api/auth/me/"]["get"]["security"] == [{"jwtAuth": []}]
    me_props = schema["components"]["schemas"]["PatchedUserRequest"]["properties"]
    assert "is_staff" not in me_props and "email" not in me_props


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_render(api_client, path):
    response = api_client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"/api/schema/" in response.content


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_nothing_from_another_origin(api_client, path):
    """The docs work offline: Swagger UI and ReDoc come from our own static files (the sidecar),
    pinned by the package version, and no fonts, CDN or validator is asked for."""
    html = api_client.get(path).content.decode()

    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert urls, html
    assert [url for url in urls if re.match(r"^(?:[a-z]+:)?//", url)] == []
    assert "googleapis" not in html and "jsdelivr" not in html and "validator.swagger.io" not in html
    assert any("/static/drf_spectacular_sidecar/" in url or url == "/api/redoc/redoc.standalone.js" for url in urls)


def test_the_redoc_bundle_asks_no_cdn_for_its_badge(api_client):
    """The sidecar's ReDoc bundle always loads its sidebar badge from cdn.redoc.ly; ours serves the
    same bundle with that image inline, so the page requests nothing from another origin (the
    browser suite checks the page itself, tests/browser/test_api_docs.py)."""
    response = api_client.get("/api/redoc/redoc.standalone.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"cdn.redoc.ly" not in body
    assert b"API docs by Redocly" in body  # the same bundle, the badge's link kept
    assert api_client.get("/api/redoc/redoc.standalone.js", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
