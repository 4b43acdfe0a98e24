"""Schema fuzzing: schemathesis generates requests from /api/schema/ and checks every answer
against the schema: no 5xx, only documented status codes, content types and bodies.

In-process (WSGI), authenticated as a customer and as staff (a header per case), bounded and
derandomized so CI is reproducible. Each operation is one pytest test with its own database: the
`world` fixture (a customer owning one of everything, rows with small ids, so generated ids often
hit real rows). Runs on SQLite only (see `pytestmark`); the hostile-input tests cover PostgreSQL.

A failure is fixed at its cause. While one is open, KNOWN_FINDINGS may skip exactly that
operation's check, with a strict-xfail reproduction below that turns red the day it is fixed;
the four findings of the first runs are fixed and their reproductions stay as regression tests.
"""

import os

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import auth_client

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.usefixtures("payments_on", "fake_google"),
    pytest.mark.skipif(
        django_settings.IS_POSTGRES,
        reason="schema fuzzing runs once, on SQLite (the API and schema do not depend on the database); "
        "PostgreSQL-specific input handling is covered by test_hostile_input.py",
    ),
]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 12

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # The `world` fixture is per test (one database per operation), shared by its examples.
    suppress_health_check=list(HealthCheck),
)

# (method, path as in the schema) -> {check: "finding N: ..."}: open findings, skipped narrowly.
KNOWN_FINDINGS: dict = {}


def _bearer(user) -> dict:
    return {"Authorization": auth_client(user)._credentials["HTTP_AUTHORIZATION"]}


def _checks_for(case) -> list:
    if os.environ.get("FUZZ_COUNT_FILE"):  # how many cases ran, for reports: FUZZ_COUNT_FILE=/tmp/n
        with open(os.environ["FUZZ_COUNT_FILE"], "a") as fh:
            fh.write(f"{case.method} {case.path}\n")
    known = KNOWN_FINDINGS.get((case.method.upper(), case.path), {})
    return [check for check in CHECKS if check not in known]


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_customer(case, world):
    case.call_and_validate(headers=_bearer(world.owner), checks=_checks_for(case))


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_staff(case, world):
    case.call_and_validate(headers=_bearer(world.staff), checks=_checks_for(case))


def test_every_known_finding_names_a_real_operation():
    labels = {(op.method.upper(), op.path) for op in (result.ok() for result in schema.get_all_operations())}
    for method, path in KNOWN_FINDINGS:
        target = ("GET", path) if method == "OPTIONS" else (method, path)
        assert target in labels or (("POST", path) in labels), (method, path)


# --- One deterministic reproduction per finding (all four fixed; kept as regression tests) ------


def _validate(operation, user, checks=CHECKS, **case_kwargs):
    case = operation.Case(**case_kwargs)
    case.call_and_validate(headers=_bearer(user), checks=checks)


def test_finding_1_options_on_categories_is_not_a_server_error(world):
    # OPTIONS answers DRF's metadata, not the GET body: only "no 500" applies.
    _validate(schema["/api/categories/"]["GET"], world.staff, checks=[not_a_server_error], method="OPTIONS")


def test_finding_2_low_stock_400_is_documented(world):
    _validate(schema["/api/products/low-stock/"]["GET"], world.staff, query={"threshold": "abc"})


def test_finding_3_orders_create_bad_idempotency_key_is_documented(world):
    _validate(
        schema["/api/orders/create/"]["POST"],
        world.owner,
        headers={"Idempotency-Key": "has spaces"},
        body={"shipping_address_id": world.address.pk, "payment_method": "card"},
        media_type="application/json",
    )
