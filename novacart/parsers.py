"""The request parser: JSON only (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES), read within
DATA_UPLOAD_MAX_MEMORY_SIZE and refusing text that is not Unicode.

A body declared larger than the limit never gets here (novacart/body_limit.py answers 413 before it
is read). DRF's JSONParser reads the request stream itself, so the read is capped here too, for a
server whose stream is not bounded by the declared length (Django's ASGI request is a spooled file).
"""

import io

from django.conf import settings
from rest_framework import parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 `payload_too_large`, a
    string holding a lone surrogate a 400 `parse_error`."""

    def parse(self, stream, media_type=None, parser_context=None):
        # Imported here: novacart.exceptions imports DRF's views, which load this parser.
        from .exceptions import PayloadTooLarge

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and stream is not None:
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise PayloadTooLarge()
            stream = io.BytesIO(body)
        data = super().parse(stream, media_type, parser_context)
        if _has_lone_surrogate(data):
            from rest_framework.exceptions import ParseError

            raise ParseError("JSON parse error - the body contains an unpaired UTF-16 surrogate (\\ud800-\\udfff).")
        return data


def _has_lone_surrogate(value) -> bool:
    """JSON may spell a lone surrogate ("\\ud800"), which is no character at all: it cannot be stored
    (PostgreSQL) nor rendered back (an error message quoting it was a 500)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
