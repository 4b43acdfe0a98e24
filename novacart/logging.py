"""Keeps secrets out of the logs and out of error reports, whatever code wrote the message.

`redact` cleans text (log lines); `redact_data` applies the same rules to structured data (the events
sent to error monitoring, novacart/monitoring.py): every string goes through `redact`, and the value
of a key that names a secret is replaced whole, since a bare value ("hunter2") has no pattern.

Error monitoring is a third party and gets no personal data (issue 15), so `redact_data` also replaces
the values of personal fields (e-mail, names, phone, address lines) and e-mail addresses in any text;
an error is diagnosed from its traceback, not from whose it was. Our own log lines keep e-mail
addresses: support finds a customer's requests by them, and they stay on our infrastructure."""

import logging
import re

_PAN = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
_SECRET_FIELDS = (
    "password|new_password|old_password|token|refresh|access|client_secret|secret_key|api_key|api_secret"
    "|authorization|cookie|cvc|cvv|card_number|secret|signature"
)
# A key naming a secret, anywhere in the name: `refresh`, `X-Cart-Token`, `guest_token`, `cookies`.
_SECRET_KEY = re.compile(rf"(?i)(?:{_SECRET_FIELDS})")
REDACTED = "[redacted]"
# Personal fields (users, addresses, order snapshots): their values never go to error monitoring.
_PERSONAL_KEY = re.compile(r"(?i)email|phone|full_name|first_name|last_name|line1|line2|postal_code")
# Also URL-encoded (`q=ada%40example.com` in a query string).
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

_PATTERNS = [
    # JWTs (access and refresh tokens).
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), "[redacted-jwt]"),
    # Stripe client secrets (payment intents, setup intents, checkout sessions: cs_test_..._secret_...).
    (re.compile(r"\b(?:pi|seti|cs)_[A-Za-z0-9_]*?_secret_[A-Za-z0-9]+"), "[redacted-client-secret]"),
    # Stripe secret, restricted and webhook keys (publishable pk_ keys are public).
    (re.compile(r"\b(?:sk|rk|whsec)_(?:live_|test_)?[A-Za-z0-9]{6,}"), "[redacted-key]"),
    # password=... / "password": "..." / 'password': '...' (JSON, form bodies, Python reprs).
    (
        re.compile(rf"""(?i)(['"]?(?:{_SECRET_FIELDS})['"]?\s*[:=]\s*)['"]?[^\s'",}}&]+['"]?"""),
        r"\1[redacted]",
    ),
]


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _redact_pan(match: re.Match) -> str:
    # Only 13-19 digit runs that pass the Luhn check are card numbers; order numbers,
    # timestamps and ids are left alone.
    digits = re.sub(r"[ -]", "", match.group(0))
    return "[redacted-pan]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return _PAN.sub(_redact_pan, text)


def redact_data(value):
    """A copy of `value` (dicts, lists, tuples, strings, anything else kept as is) with every string
    redacted (e-mail addresses too) and every value under a key that names a secret or a personal
    field replaced by "[redacted]"."""
    if isinstance(value, str):
        return _EMAIL.sub("[redacted-email]", redact(value))
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and (_SECRET_KEY.search(key) or _PERSONAL_KEY.search(key))
            else redact_data(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    return value


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
