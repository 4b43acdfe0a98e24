import io
import struct
import zlib

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from products import services
from products.models import ProductImage
from tests.factories import ProductFactory

from .utils import error_codes, image_bytes, upload

pytestmark = pytest.mark.django_db


def _url(product):
    return f"/api/products/{product.id}/images/"


def _post(client, product, file, **extra):
    return client.post(_url(product), {"image": file, **extra}, format="multipart")


@pytest.mark.parametrize(
    "fmt,name,content_type",
    [
        ("JPEG", "a.jpg", "image/jpeg"),
        ("PNG", "a.png", "image/png"),
        ("WEBP", "a.webp", "image/webp"),
        ("GIF", "a.gif", "image/gif"),
    ],
)
def test_staff_uploads_an_allowed_image(staff_client, fmt, name, content_type):
    product = ProductFactory()

    response = _post(staff_client, product, upload(name, image_bytes(fmt), content_type), alt="Front view")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["alt"] == "Front view"
    assert body["position"] == 0
    image = ProductImage.objects.get(product=product)
    assert default_storage.exists(image.image.name)
    assert image.image.name.startswith(f"products/{product.id}/")


def test_images_are_appended_in_order(staff_client, api_client):
    product = ProductFactory()

    _post(staff_client, product, upload("1.png", image_bytes()), alt="one")
    _post(staff_client, product, upload("2.png", image_bytes()), alt="two")

    images = api_client.get(f"/api/products/{product.id}/").json()["images"]
    assert [(i["alt"], i["position"]) for i in images] == [("one", 0), ("two", 1)]


def test_a_file_that_is_not_an_image_is_a_400(staff_client):
    product = ProductFactory()

    response = _post(staff_client, product, upload("evil.png", b"#!/bin/sh\necho not an image\n"))

    assert response.status_code == 400
    assert error_codes(response) == ["invalid_image"]
    assert response.json()["errors"][0]["attr"] == "image"
    assert not ProductImage.objects.exists()


def test_a_truncated_image_is_a_400(staff_client):
    product = ProductFactory()
    content = image_bytes("PNG", size=(64, 64))

    response = _post(staff_client, product, upload("cut.png", content[: len(content) // 2]))

    assert response.status_code == 400
    assert error_codes(response) == ["invalid_image"]


def test_an_image_over_the_size_limit_is_a_400(staff_client, settings):
    settings.PRODUCT_IMAGE_MAX_BYTES = 1000
    product = ProductFactory()
    noisy = Image.effect_noise((200, 200), 100).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    assert buffer.tell() > 1000

    response = _post(staff_client, product, upload("big.png", buffer.getvalue()))

    assert response.status_code == 400
    assert error_codes(response) == ["image_too_large"]
    assert not ProductImage.objects.exists()


def test_a_wrong_image_type_is_a_400(staff_client):
    product = ProductFactory()

    response = _post(staff_client, product, upload("a.bmp", image_bytes("BMP"), "image/bmp"))

    assert response.status_code == 400
    assert error_codes(response) == ["image_type_not_allowed"]


def test_an_image_over_the_pixel_limit_is_a_400(staff_client, settings):
    settings.PRODUCT_IMAGE_MAX_PIXELS = 100
    product = ProductFactory()

    response = _post(staff_client, product, upload("wide.png", image_bytes("PNG", size=(20, 20))))

    assert response.status_code == 400
    assert error_codes(response) == ["image_too_many_pixels"]


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas: a decompression bomb's calling card."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [12_000, 50_000])  # ~1.4e8 pixels (Pillow warns), 2.5e9 (Pillow raises)
def test_a_decompression_bomb_is_a_clean_400(staff_client, settings, side):
    settings.PRODUCT_IMAGE_MAX_PIXELS = 10**12  # only Pillow's own guard stands in the way
    product = ProductFactory()

    response = _post(staff_client, product, upload("bomb.png", _png_header_only(side, side)))

    assert response.status_code == 400
    assert error_codes(response) == ["image_too_many_pixels"]
    assert not ProductImage.objects.exists()


def test_a_bomb_under_our_own_limit_is_refused_before_decoding(staff_client):
    product = ProductFactory()

    response = _post(staff_client, product, upload("bomb.png", _png_header_only(8000, 8000)))

    assert response.status_code == 400
    assert error_codes(response) == ["image_too_many_pixels"]


def test_missing_image_field_is_a_400(staff_client):
    product = ProductFactory()

    response = staff_client.post(_url(product), {"alt": "x"}, format="multipart")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "image"


def test_upload_to_an_unknown_product_is_404(staff_client):
    assert _post(staff_client, type("P", (), {"id": 999999})(), upload("a.png", image_bytes())).status_code == 404


# --- Animations: every frame counts ------------------------------------------------------------


def _animation(fmt: str, frames: int, size=(40, 40)) -> bytes:
    """An animation of `frames` distinct frames (distinct, so no encoder merges them)."""
    images = [Image.new("RGB", size, (index * 37 % 256, index * 91 % 256, 200)) for index in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, fmt, save_all=True, append_images=images[1:], duration=40, loop=0)
    return buffer.getvalue()


def _gif_of_tiny_frames(frames: int, width: int = 1, height: int = 1) -> bytes:
    """A GIF of `frames` frames of a few bytes each, written by hand: thousands of frames in a file
    well under the byte limit, each decoded into a whole canvas by whoever shows it."""
    screen = struct.pack("<6sHHBBB", b"GIF89a", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = (
        b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # graphic control extension: 10 ms
        + b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)  # image descriptor, whole canvas
        + b"\x02\x02\x4c\x01\x00"  # LZW minimum code size, one data sub-block, terminator
    )  # fmt: skip
    return screen + frame * frames + b";"


ANIMATED = [("GIF", "a.gif", "image/gif"), ("WEBP", "a.webp", "image/webp"), ("PNG", "a.png", "image/png")]


@pytest.mark.parametrize(("fmt", "name", "content_type"), ANIMATED, ids=["gif", "webp", "apng"])
def test_an_animation_is_refused_for_the_pixels_of_all_its_frames(staff_client, settings, fmt, name, content_type):
    content = _animation(fmt, frames=4)
    assert Image.open(io.BytesIO(content)).n_frames == 4
    settings.PRODUCT_IMAGE_MAX_PIXELS = 40 * 40 * 3  # the first frame alone fits, four frames do not
    product = ProductFactory()

    response = _post(staff_client, product, upload(name, content, content_type))

    assert response.status_code == 400, response.content
    assert error_codes(response) == ["image_too_many_pixels"]
    assert not ProductImage.objects.exists()


@pytest.mark.parametrize(("fmt", "name", "content_type"), ANIMATED, ids=["gif", "webp", "apng"])
def test_an_animation_with_more_frames_than_allowed_is_refused(staff_client, settings, fmt, name, content_type):
    settings.PRODUCT_IMAGE_MAX_FRAMES = 3
    product = ProductFactory()

    response = _post(staff_client, product, upload(name, _animation(fmt, frames=4), content_type))

    assert response.status_code == 400, response.content
    assert error_codes(response) == ["image_too_many_frames"]
    assert response.json()["errors"][0]["attr"] == "image"
    assert not ProductImage.objects.exists()


@pytest.mark.parametrize(("fmt", "name", "content_type"), ANIMATED, ids=["gif", "webp", "apng"])
def test_an_animation_within_the_limits_is_stored(staff_client, settings, fmt, name, content_type):
    settings.PRODUCT_IMAGE_MAX_FRAMES = 4
    settings.PRODUCT_IMAGE_MAX_PIXELS = 40 * 40 * 4
    product = ProductFactory()

    response = _post(staff_client, product, upload(name, _animation(fmt, frames=4), content_type))

    assert response.status_code == 201, response.content
    assert ProductImage.objects.filter(product=product).count() == 1


def test_a_gif_of_thousands_of_tiny_frames_is_refused_by_its_frame_count(staff_client):
    # 1x1 pixel frames: a pixel limit alone would let 200,000 of them through.
    content = _gif_of_tiny_frames(200_000)
    assert len(content) < 5 * 1024 * 1024
    product = ProductFactory()

    response = _post(staff_client, product, upload("many.gif", content, "image/gif"))

    assert response.status_code == 400, response.content
    assert error_codes(response) == ["image_too_many_frames"]
    assert not ProductImage.objects.exists()


@pytest.mark.parametrize(
    "content",
    [
        _animation("GIF", frames=1),
        _animation("GIF", frames=7),
        _animation("GIF", frames=30, size=(3, 200)),
        _gif_of_tiny_frames(250),
        image_bytes("GIF"),
    ],
    ids=["one-frame", "seven-frames", "thirty-tall-frames", "hand-made", "still"],
)
def test_our_gif_frame_count_agrees_with_pillows(content):
    assert services._gif_frame_count(content, stop_after=10**9) == Image.open(io.BytesIO(content)).n_frames


def test_the_gif_frame_count_stops_past_the_limit():
    assert services._gif_frame_count(_gif_of_tiny_frames(200_000), stop_after=5) == 6
