"""The request parser: JSON only (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES), read within
DATA_UPLOAD_MAX_MEMORY_SIZE, and `load_json`, the one way untrusted JSON text becomes Python values
(request bodies here, Stripe's webhook bodies in payments.stripe_client).

A body declared larger than the limit never gets here (novacart/body_limit.py answers 413 before it
is read). DRF's JSONParser reads the request stream itself, so the read is capped here too, for a
server whose stream is not bounded by the declared length (Django's ASGI request is a spooled file).
"""

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

# Our bodies nest three levels and Stripe's events about ten. Python's json module recurses once per
# level, so `"[" * 50000` ran out of stack (RecursionError, a 500), and values nested near that limit
# would do the same to any later code that walks them (serialising a stored body, a JSON column).
MAX_JSON_DEPTH = 64


class JSONRefused(ValueError):
    """Well-formed JSON we do not take: nested deeper than MAX_JSON_DEPTH, or holding a string that is
    no Unicode text (a lone surrogate)."""


def load_json(text: str):
    """`json.loads` for text from outside. NaN and Infinity are refused (JSON has no such numbers), so
    are values nested deeper than MAX_JSON_DEPTH and strings with a lone surrogate.

    The depth is checked without recursion, in the one pass over the parsed value that also looks for
    lone surrogates; a text too deep for the parser itself (its RecursionError) is refused the same way.
    Raises ValueError: json.JSONDecodeError when the text is not JSON, JSONRefused otherwise.
    """
    try:
        value = json.loads(text, parse_constant=strict_constant)
    except RecursionError as exc:
        raise JSONRefused(f"nested deeper than {MAX_JSON_DEPTH} levels") from exc
    problem = _refusal(value)
    if problem:
        raise JSONRefused(problem)
    return value


def _refusal(value) -> str | None:
    """Why a parsed JSON value is refused, or None: one walk, level by level, no recursion.

    A lone surrogate ("\\ud800" in the JSON) is no character at all: it cannot be stored (PostgreSQL)
    nor rendered back (an error message quoting it was a 500). All strings, keys included, are encoded
    at once at the end, which fails on any surrogate code point.
    """
    level, strings, depth = [value], [], 0
    while level:
        depth += 1
        below = []
        for item in level:
            kind = type(item)
            if kind is str:
                strings.append(item)
            elif kind is dict or kind is list:
                if depth > MAX_JSON_DEPTH:
                    return f"nested deeper than {MAX_JSON_DEPTH} levels"
                if kind is dict:
                    strings.extend(item)
                    below.extend(item.values())
                else:
                    below.extend(item)
        level = below
    try:
        "".join(strings).encode("utf-8")
    except UnicodeEncodeError:
        return "the body contains an unpaired UTF-16 surrogate (\\ud800-\\udfff)"
    return None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, reading with `load_json`: a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413
    `payload_too_large`, anything `load_json` refuses a 400 `parse_error`."""

    def parse(self, stream, media_type=None, parser_context=None):
        # Imported here: novacart.exceptions imports DRF's views, which load this parser.
        from .exceptions import PayloadTooLarge

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise PayloadTooLarge()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return load_json(body.decode(encoding))
        except ValueError as exc:  # UnicodeDecodeError, json.JSONDecodeError, JSONRefused
            raise ParseError(f"JSON parse error - {exc}") from exc
