"""JSON nested past a fixed depth is a 400 in the error shape, on every endpoint that takes a body
and on the Stripe webhook, and the refusal is cheap.

The review sent `"[" * 50000 + "]" * 50000` to every endpoint, login included: Python's json module
recurses once per level, so each was a 500 (RecursionError); on the webhook the Stripe SDK parsed the
signed body first (and the view parsed it again).
"""

import json
import time

import pytest
from rest_framework.test import APIClient

from novacart import parsers
from payments.models import WebhookEvent
from tests.factories import DEFAULT_PASSWORD

from .conftest import assert_error_shape, error_codes, signed_event, stripe_signature
from .test_hostile_input import JSON_ENDPOINTS, _clients, _ids, _url

pytestmark = pytest.mark.usefixtures("payments_on")

DEEP = {
    "list": "[" * 50_000 + "]" * 50_000,
    "object": '{"a":' * 50_000 + "1" + "}" * 50_000,
}


def _nested(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(("role", "method", "url", "body"), JSON_ENDPOINTS, ids=_ids(JSON_ENDPOINTS))
@pytest.mark.parametrize("raw", DEEP.values(), ids=DEEP.keys())
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(world, role, method, url, body, raw):
    response = getattr(_clients(world)[role], method)(_url(url, world), raw, content_type="application/json")

    assert response.status_code == 400, response.content[:300]
    assert_error_shape(response)
    assert error_codes(response) == ["parse_error"]


def test_json_one_level_past_the_depth_limit_is_a_400_and_at_the_limit_is_read(world):
    client = APIClient()
    login = {"email": world.owner.email, "password": DEFAULT_PASSWORD}
    # The body object is one level; the extra value adds the rest.
    at_limit = {**login, "extra": _nested(parsers.MAX_JSON_DEPTH - 1)}
    past_limit = {**login, "extra": _nested(parsers.MAX_JSON_DEPTH)}

    accepted = client.post("/api/auth/login/", json.dumps(at_limit), content_type="application/json")
    refused = client.post("/api/auth/login/", json.dumps(past_limit), content_type="application/json")

    assert accepted.status_code == 200, accepted.content[:300]
    assert refused.status_code == 400, refused.content[:300]
    assert error_codes(refused) == ["parse_error"]
    assert not refused.cookies


def test_the_largest_deeply_nested_body_is_refused_quickly(world, settings):
    half = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2
    raw = "[" * half + "]" * half

    started = time.perf_counter()
    response = APIClient().post("/api/cart/add/", raw, content_type="application/json")
    elapsed = time.perf_counter() - started

    assert response.status_code == 400, response.content[:300]
    # Generous for a slow CI machine; the point is that the refusal does not walk 1.3 million levels.
    assert elapsed < 2, elapsed


def _assert_signed_webhook_refused(payload: bytes) -> None:
    response = APIClient().post(
        "/api/payments/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(payload),
    )

    assert response.status_code == 400, response.content[:300]
    assert error_codes(response) == ["invalid_payload"]
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("raw", DEEP.values(), ids=DEEP.keys())
def test_a_signed_deeply_nested_webhook_is_a_400_and_nothing_is_recorded(db, raw):
    _assert_signed_webhook_refused(raw.encode())


def test_a_signed_event_nested_past_the_depth_limit_is_a_400(db):
    event = json.loads(signed_event()[0])
    event["data"]["object"]["metadata"] = {"deep": _nested(parsers.MAX_JSON_DEPTH)}

    _assert_signed_webhook_refused(json.dumps(event).encode())


def test_a_webhook_body_is_parsed_once(db, monkeypatch):
    payload, signature = signed_event()
    real_loads = json.loads
    parsed = []

    def counting_loads(text, *args, **kwargs):
        if text in (payload, payload.decode()):
            parsed.append(type(text).__name__)
        return real_loads(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counting_loads)

    response = APIClient().post(
        "/api/payments/webhook/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )

    assert response.status_code == 200, response.content[:300]
    assert len(parsed) == 1, parsed
