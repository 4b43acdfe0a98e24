"""Request ids on responses and log lines; secrets never reach the logs."""

import io
import logging

import pytest

from novacart.logging import RedactSecretsFilter, redact
from novacart.middleware import RequestIdFilter


def test_an_incoming_request_id_is_echoed(api_client, db):
    response = api_client.get("/api/health/", HTTP_X_REQUEST_ID="abc-123.def_4")

    assert response["X-Request-ID"] == "abc-123.def_4"


@pytest.mark.parametrize("incoming", [None, "", "bad id with spaces", "x" * 65, "inject\r\nheader"])
def test_a_missing_or_unsafe_request_id_is_replaced(api_client, db, incoming):
    headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}

    response = api_client.get("/api/health/", **headers)

    generated = response["X-Request-ID"]
    assert generated != incoming
    assert len(generated) == 32 and all(c in "0123456789abcdef" for c in generated)


def test_error_responses_carry_the_request_id_too(api_client, db):
    response = api_client.get("/api/nope/", HTTP_X_REQUEST_ID="req-404")

    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-404"


def _configured_stdout_handler():
    handlers = [h for h in logging.getLogger().handlers if any(isinstance(f, RequestIdFilter) for f in h.filters)]
    assert handlers, "LOGGING has no handler with the request id filter on the root logger"
    return handlers[0]


@pytest.fixture
def log_stream():
    """The project's own stdout handler configuration (filters and format), writing to a buffer."""
    configured = _configured_stdout_handler()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(configured.formatter)
    for log_filter in configured.filters:
        handler.addFilter(log_filter)
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def test_a_log_line_written_during_a_request_carries_its_id(api_client, db, log_stream):
    response = api_client.post(
        "/api/auth/password-reset/", {"email": "nobody@example.com"}, HTTP_X_REQUEST_ID="trace-me-42"
    )

    assert response.status_code == 202
    lines = [line for line in log_stream.getvalue().splitlines() if "password reset requested" in line]
    assert lines, log_stream.getvalue()
    assert all("[trace-me-42]" in line for line in lines)


def test_djangos_own_4xx_log_line_carries_the_request_id(api_client, db, log_stream):
    response = api_client.get("/api/nope/", HTTP_X_REQUEST_ID="trace-404")

    assert response.status_code == 404
    lines = [line for line in log_stream.getvalue().splitlines() if "Not Found: /api/nope/" in line]
    assert lines, log_stream.getvalue()
    assert all("[trace-404]" in line for line in lines)


def test_a_log_line_outside_a_request_has_a_placeholder_id(log_stream):
    logging.getLogger("novacart.test").warning("outside any request")

    line = [x for x in log_stream.getvalue().splitlines() if "outside any request" in x][0]
    assert "[-]" in line


def test_the_stdout_handler_redacts_secrets(log_stream):
    logging.getLogger("novacart.test").warning("login with password=%s", "hunter2-secret")

    output = log_stream.getvalue()
    assert "hunter2-secret" not in output
    assert "password=[redacted]" in output


JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwidXNlcl9pZCI6IjEifQ.c2lnbmF0dXJlLXBhcnQtaGVyZQ"
)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Bearer {JWT}", JWT),
        (f"got token {JWT} from client", JWT),
        ('{"password": "hunter2-secret", "email": "a@b.c"}', "hunter2-secret"),
        ("new_password=Sup3r-secret&x=1", "Sup3r-secret"),
        ("old_password: 'hunter2'", "hunter2"),
        ('{"refresh": "opaque-refresh-value"}', "opaque-refresh-value"),
        ("client_secret pi_3Nabc123_secret_XYZ987abc returned", "pi_3Nabc123_secret_XYZ987abc"),
        ("checkout cs_test_a1B2_secret_c3D4 ok", "cs_test_a1B2_secret_c3D4"),
        ("using key sk_live_51Habcdefghijklmnop", "sk_live_51Habcdefghijklmnop"),
        ("using key sk_test_51Habcdefghijklmnop", "sk_test_51Habcdefghijklmnop"),
        ("webhook secret whsec_abcdef123456", "whsec_abcdef123456"),
        ("card 4242424242424242 declined", "4242424242424242"),
        ("card 4242 4242 4242 4242 declined", "4242 4242 4242 4242"),
        ("card 4000-0566-5566-5556 declined", "4000-0566-5566-5556"),
        ("amex 378282246310005", "378282246310005"),
        ("callback?access_token=opaque-abc123&x=1", "opaque-abc123"),
        ("'client_secret': 'whatever-shape-it-has'", "whatever-shape-it-has"),
    ],
)
def test_redact_removes_secrets(text, secret):
    cleaned = redact(text)

    assert secret not in cleaned
    assert "[redacted" in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "order NC-20250101-000123 paid: 1999 usd",
        "user 42 added product 7 (quantity 3) to cart 15",
        "GET /api/products/?page=2 200",
        "payment_intent pi_3Nabc123 succeeded",
        "tracking 1234567890123456 shipped",  # 16 digits, but not a card number (Luhn)
        "publishable key pk_test_51Habcdefghijklmnop",
    ],
)
def test_redact_keeps_ordinary_messages(text):
    assert redact(text) == text


def test_redact_filter_rewrites_the_record_including_its_args():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "payload %s for %s", ({"password": "hunter2-secret"}, "a@b.c"), None
    )

    assert RedactSecretsFilter().filter(record) is True
    assert "hunter2-secret" not in record.getMessage()
    assert "a@b.c" in record.getMessage()


def test_redact_filter_leaves_clean_records_untouched():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "order %s paid", (17,), None)

    RedactSecretsFilter().filter(record)

    assert record.msg == "order %s paid"
    assert record.args == (17,)
