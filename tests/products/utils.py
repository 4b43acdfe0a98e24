"""Helpers shared by the catalog tests."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

LIST_URL = "/api/products/"


def detail_url(product_id) -> str:
    return f"/api/products/{product_id}/"


def image_bytes(fmt: str = "PNG", size=(8, 8), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def result_ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def error_codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]
