"""Keeps secrets out of the logs, whatever code wrote the message."""

import logging
import re

_PATTERNS = [
    # JWTs (access and refresh tokens).
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), "[redacted-jwt]"),
    # Stripe client secrets and keys.
    (re.compile(r"\b(pi|seti|cs)_[A-Za-z0-9]+_secret_[A-Za-z0-9]+"), "[redacted-client-secret]"),
    (re.compile(r"\b(sk|rk|whsec)_(live|test)?_?[A-Za-z0-9]{6,}"), "[redacted-key]"),
    # Card numbers: 13-19 digits, optionally grouped.
    (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "[redacted-pan]"),
    # password=... / "password": "..."
    (
        re.compile(r"""(?i)("?(?:password|new_password|old_password|token|refresh|access)"?\s*[:=]\s*)"?[^\s",}]+"?"""),
        r"\1[redacted]",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
