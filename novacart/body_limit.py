"""The request body size limit, checked on the declared length before anything reads the body.

Django caps what it reads into memory (DATA_UPLOAD_MAX_MEMORY_SIZE) only when something reads
`request.body` or form fields; the files of a multipart body are spooled to temporary files whatever
their size, and nothing looks until a parser runs. An anonymous 100 MB multipart body was read to
the end that way. Here every body is measured by its Content-Length on arrival: a multipart body
(the product image upload, admin forms with images) may be up to UPLOAD_MAX_BODY_BYTES, any other
up to DATA_UPLOAD_MAX_MEMORY_SIZE, the most Django would ever read of it.
"""

from django.conf import settings
from rest_framework import status

from .exceptions import PayloadTooLarge, json_error

MULTIPART = "multipart/form-data"


def body_limit(content_type: str) -> int | None:
    """The largest body, in bytes, accepted with this content type (None: no limit)."""
    return settings.UPLOAD_MAX_BODY_BYTES if content_type == MULTIPART else settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class RequestBodyLimitMiddleware:
    """413 `payload_too_large` for a body declared larger than `body_limit`, 411 `length_required`
    for a body sent without a length (`Transfer-Encoding: chunked`), both before a byte is read.

    Django's WSGI request reads only as many bytes as Content-Length declares, so a chunked body used
    to arrive as an empty one and the request went on without it: refusing says so instead. It sits
    after CorsMiddleware, so a browser can read the refusal.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH") or ""
        if not declared.strip():
            if request.META.get("HTTP_TRANSFER_ENCODING"):
                return json_error(
                    status.HTTP_411_LENGTH_REQUIRED,
                    "length_required",
                    "A request body needs a Content-Length header; chunked bodies are not accepted.",
                )
            return self.get_response(request)
        try:
            length = int(declared)
        except ValueError:
            # Django's request reads nothing of a body whose length is not a number.
            return self.get_response(request)
        limit = body_limit(request.content_type)
        if limit is not None and length > limit:
            return json_error(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                PayloadTooLarge.default_code,
                f"{PayloadTooLarge.default_detail} The limit is {limit} bytes.",
            )
        return self.get_response(request)
