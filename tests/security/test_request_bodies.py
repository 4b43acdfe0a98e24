"""Request bodies: JSON only (the image upload alone takes multipart), a size limit checked before a
byte is read whatever the content type, and JSON nested past a fixed depth refused as a 400.

The review sent an anonymous 100 MB multipart body to `POST /api/cart/add/` (201: it was spooled to
a temporary file), form posts to the cookie-setting login, and `"[" * 50000 + "]" * 50000` to every
endpoint (a 500: RecursionError). The bodies below are produced on demand by `LazyBody`, which also
counts what the server read, so "refused before it is read" is something a test can see.
"""

import json
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from cart.models import Cart
from products.models import ProductImage
from tests.factories import DEFAULT_PASSWORD, StaffFactory
from tests.products.utils import admin_product_form
from users.models import User

from .conftest import assert_error_shape, error_codes, png_bytes
from .test_hostile_input import JSON_ENDPOINTS, _clients, _ids, _url

pytestmark = pytest.mark.usefixtures("payments_on")

MB = 1024 * 1024
BOUNDARY = "NovaCartBoundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


class LazyBody:
    """A request body of `size` bytes (head, then filler, then tail), made as it is read, never held
    in memory. `consumed` is how many bytes the server read."""

    def __init__(self, size: int, head: bytes = b"", tail: bytes = b"", filler: bytes = b"x"):
        assert size >= len(head) + len(tail)
        self.size, self.head, self.tail, self.filler = size, head, tail, filler
        self.consumed = 0

    def _bytes(self, start: int, count: int) -> bytes:
        filler_end = self.size - len(self.tail)
        out = bytearray()
        position = start
        while len(out) < count and position < self.size:
            if position < len(self.head):
                piece = self.head[position : position + count - len(out)]
            elif position < filler_end:
                piece = self.filler * min(count - len(out), filler_end - position)
            else:
                offset = position - filler_end
                piece = self.tail[offset : offset + count - len(out)]
            out += piece
            position += len(piece)
        return bytes(out)

    def read(self, size=-1):
        remaining = self.size - self.consumed
        count = remaining if size is None or size < 0 else min(size, remaining)
        chunk = self._bytes(self.consumed, count)
        self.consumed += len(chunk)
        return chunk

    def readline(self, size=-1):
        limit = 64 * 1024 if size is None or size < 0 else size
        peek = self._bytes(self.consumed, limit)
        end = peek.find(b"\n")
        return self.read(len(peek) if end < 0 else end + 1)


def multipart_head(fields: dict, file_field: str = "file") -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{file_field}"; filename="a.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    return "".join(parts).encode()


MULTIPART_TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


def send(
    client, method: str, url: str, body: LazyBody | None, content_type: str, *, length: str | None = None, **extra
):
    """A request whose body is `body`, declared as `length` bytes (the body's size unless given).
    `length=""` sends no Content-Length at all, as a chunked request arrives."""
    environ = dict(extra)
    if body is not None:
        environ["wsgi.input"] = body
        declared = str(body.size) if length is None else length
        if declared:
            environ["CONTENT_LENGTH"] = declared
    return client.generic(method.upper(), url, content_type=content_type or None, **environ)


# --- 413: past the limit, whatever the type, before a byte is read ----------------------------------

ANONYMOUS_POSTS = ["/api/cart/add/", "/api/auth/login/", "/api/auth/register/", "/api/payments/webhook/",
                   "/api/no-such-path/", "/admin/login/"]  # fmt: skip
NON_MULTIPART_TYPES = {
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
    "text": "text/plain",
    "octet-stream": "application/octet-stream",
    "xml": "application/xml",
    "no-type": "",
}


@pytest.mark.parametrize("url", ANONYMOUS_POSTS)
@pytest.mark.parametrize("content_type", NON_MULTIPART_TYPES.values(), ids=NON_MULTIPART_TYPES.keys())
def test_a_body_over_the_limit_is_a_413_before_it_is_read_whatever_its_type(db, settings, url, content_type):
    body = LazyBody(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1, head=b'{"product_id": 1, "x": "', tail=b'"}')

    response = send(APIClient(), "post", url, body, content_type)

    assert response.status_code == 413, response.content[:300]
    assert_error_shape(response)
    assert error_codes(response) == ["payload_too_large"]
    assert body.consumed == 0


@pytest.mark.parametrize("url", ANONYMOUS_POSTS)
def test_a_multipart_body_over_the_upload_limit_is_a_413_before_it_is_read(db, settings, url):
    settings.UPLOAD_MAX_BODY_BYTES = 50_000
    body = LazyBody(50_001, head=multipart_head({"product_id": 1}), tail=MULTIPART_TAIL)

    response = send(APIClient(), "post", url, body, MULTIPART)

    assert response.status_code == 413, response.content[:300]
    assert error_codes(response) == ["payload_too_large"]
    assert body.consumed == 0


def test_the_reviewers_100_mb_anonymous_multipart_cart_add_is_a_413_and_nothing_is_spooled(world):
    body = LazyBody(100 * MB, head=multipart_head({"product_id": world.product.pk, "quantity": 1}), tail=MULTIPART_TAIL)
    carts = Cart.objects.count()

    response = send(APIClient(), "post", "/api/cart/add/", body, MULTIPART)

    assert response.status_code == 413, response.content[:300]
    assert error_codes(response) == ["payload_too_large"]
    assert body.consumed == 0
    assert Cart.objects.count() == carts


def test_a_body_without_a_length_is_a_411_and_is_not_read(world):
    body = LazyBody(1_000, head=json.dumps({"product_id": world.product.pk}).encode() + b" ")
    carts = Cart.objects.count()

    response = send(
        APIClient(), "post", "/api/cart/add/", body, "application/json", length="", HTTP_TRANSFER_ENCODING="chunked"
    )

    assert response.status_code == 411, response.content[:300]
    assert_error_shape(response)
    assert error_codes(response) == ["length_required"]
    assert body.consumed == 0
    assert Cart.objects.count() == carts


def test_a_body_within_the_limit_is_read_and_served(world, settings):
    padding = settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 100
    raw = json.dumps({"product_id": world.product.pk, "padding": "x" * padding}).encode()
    assert len(raw) <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = APIClient().post("/api/cart/add/", raw, content_type="application/json")

    assert response.status_code == 201, response.content[:300]


# --- 415: JSON only, the cookie-setting login and registration included -------------------------------


def _form_encoded(client, method, url, data):
    return getattr(client, method)(url, urlencode(data), content_type="application/x-www-form-urlencoded")


def _multipart(client, method, url, data):
    return getattr(client, method)(url, data, format="multipart")


ENCODERS = {"form": _form_encoded, "multipart": _multipart}


@pytest.mark.parametrize(("role", "method", "url", "body"), JSON_ENDPOINTS, ids=_ids(JSON_ENDPOINTS))
@pytest.mark.parametrize("encoding", ENCODERS.keys())
def test_a_form_or_multipart_body_is_a_415_on_every_json_endpoint(world, role, method, url, body, encoding):
    response = ENCODERS[encoding](_clients(world)[role], method, _url(url, world), body(world))

    assert response.status_code == 415, response.content[:300]
    assert_error_shape(response)
    assert error_codes(response) == ["unsupported_media_type"]


@pytest.mark.parametrize(("role", "method", "url", "body"), JSON_ENDPOINTS, ids=_ids(JSON_ENDPOINTS))
def test_every_json_endpoint_still_takes_json(world, role, method, url, body):
    response = getattr(_clients(world)[role], method)(_url(url, world), body(world), format="json")

    assert response.status_code < 500, response.content[:300]
    assert response.status_code not in (411, 413, 415), response.content[:300]


# A form post from another site is refused for its origin (login CSRF) before its body is looked at;
# one without an Origin (a script, not a browser page) for its content type.
REFUSALS = {
    "cross-site": ("http://evil.example", 403, "cross_site_request"),
    "no-origin": (None, 415, "unsupported_media_type"),
}


@pytest.mark.parametrize("encoding", ENCODERS.keys())
@pytest.mark.parametrize("origin,status,code", REFUSALS.values(), ids=list(REFUSALS))
def test_a_cross_site_form_login_sets_no_cookie(world, encoding, origin, status, code):
    client = APIClient(**({"HTTP_ORIGIN": origin} if origin else {}))

    response = ENCODERS[encoding](
        client, "post", "/api/auth/login/", {"email": world.owner.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == status, response.content[:300]
    assert error_codes(response) == [code]
    assert not response.cookies


@pytest.mark.parametrize("encoding", ENCODERS.keys())
@pytest.mark.parametrize("origin,status,code", REFUSALS.values(), ids=list(REFUSALS))
def test_a_form_registration_creates_no_account(db, encoding, origin, status, code):
    client = APIClient(**({"HTTP_ORIGIN": origin} if origin else {}))

    response = ENCODERS[encoding](
        client, "post", "/api/auth/register/", {"email": "form@example.com", "password": "Str0ng-pass-42!"}
    )

    assert response.status_code == status, response.content[:300]
    assert error_codes(response) == [code]
    assert not response.cookies
    assert not User.objects.filter(email="form@example.com").exists()


def test_the_spa_json_login_still_sets_its_cookies(world):
    response = APIClient().post(
        "/api/auth/login/", {"email": world.owner.email, "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 200, response.content
    assert {"access", "refresh"} <= set(response.cookies)


# --- The image upload: multipart only, with the upload limit --------------------------------------


def _upload_url(world) -> str:
    return f"/api/products/{world.product.pk}/images/"


def test_the_image_upload_takes_multipart(world):
    image = SimpleUploadedFile("a.png", png_bytes(), content_type="image/png")

    response = _clients(world)["staff"].post(_upload_url(world), {"image": image, "alt": "front"}, format="multipart")

    assert response.status_code == 201, response.content
    assert world.product.images.count() == 1


def test_the_image_upload_takes_an_image_larger_than_the_json_limit(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    image = SimpleUploadedFile("a.png", png_bytes((300, 300)) + b"\0" * 5_000, content_type="image/png")

    response = _clients(world)["staff"].post(_upload_url(world), {"image": image}, format="multipart")

    assert response.status_code == 201, response.content
    assert world.product.images.count() == 1


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_the_image_upload_refuses_other_types(world, encoding):
    client = _clients(world)["staff"]
    data = {"image": "not a file", "alt": "x"}

    if encoding == "json":
        response = client.post(_upload_url(world), data, format="json")
    else:
        response = _form_encoded(client, "post", _upload_url(world), data)

    assert response.status_code == 415, response.content
    assert error_codes(response) == ["unsupported_media_type"]


def test_an_upload_over_the_upload_limit_is_a_413_before_it_is_read(world, settings):
    settings.UPLOAD_MAX_BODY_BYTES = 100_000
    body = LazyBody(100_001, head=multipart_head({"alt": "x"}, file_field="image"), tail=MULTIPART_TAIL)

    response = send(_clients(world)["staff"], "post", _upload_url(world), body, MULTIPART)

    assert response.status_code == 413, response.content[:300]
    assert body.consumed == 0
    assert world.product.images.count() == 0


# --- The admin: Django forms, unaffected ------------------------------------------------------------


def test_the_admin_login_form_still_works(db, client):
    staff = StaffFactory(is_superuser=True)
    client.get(reverse("admin:login"))

    response = client.post(
        reverse("admin:login"), {"username": staff.email, "password": DEFAULT_PASSWORD, "next": reverse("admin:index")}
    )

    assert response.status_code == 302, response.content[:300]
    assert response["Location"] == reverse("admin:index")


def test_an_admin_image_upload_larger_than_the_json_limit_still_works(world, admin_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 5_000
    product = world.product
    image = SimpleUploadedFile("a.png", png_bytes((200, 200)) + b"\0" * 20_000, "image/png")
    data = admin_product_form(product, image=image, alt_text="front")

    response = admin_client.post(reverse("admin:products_product_change", args=[product.id]), data)

    assert response.status_code == 302, response.content[:500]
    assert ProductImage.objects.filter(product=product, alt_text="front").count() == 1


def test_the_schema_documents_json_bodies_and_multipart_only_for_the_image_upload(db):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()

    documented = {
        (method.upper(), path): set(operation["requestBody"]["content"])
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }

    assert documented
    for (method, path), content_types in documented.items():
        expected = {"multipart/form-data"} if path == "/api/products/{id}/images/" else {"application/json"}
        assert content_types == expected, (method, path)
