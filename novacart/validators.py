"""Field validators more than one app uses."""

import unicodedata

from rest_framework import serializers

from .error_codes import CoreErrorCode

# Bidirectional overrides and isolates can disguise what a label or a name shows; line and
# paragraph separators break the one-line fields a courier prints or a review shows.
_FORBIDDEN_FORMAT = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")


def reject_control_characters(value: str) -> str:
    """Free text shown to other people (address labels, names as review authors) holds no control
    characters (NUL, newline, tab, ANSI escapes) and no bidi overrides or line separators: 400
    `control_characters`. Letters of every script, accents and emoji are fine."""
    if any(unicodedata.category(ch) == "Cc" or ch in _FORBIDDEN_FORMAT for ch in value):
        raise serializers.ValidationError("Control characters are not allowed.", code=CoreErrorCode.CONTROL_CHARACTERS)
    return value
