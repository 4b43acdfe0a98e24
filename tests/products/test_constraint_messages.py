"""Every database constraint of the models staff edit in the admin speaks plain words when a form hits
it (issue 14): "Price must be positive", never "Constraint “product_price_positive” is violated"."""

import pytest
from django.apps import apps
from django.db.models import BaseConstraint

APPS = ("products", "cart", "addresses", "users")


def _constraints():
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            for constraint in model._meta.constraints:
                yield pytest.param(constraint, id=f"{label}.{model.__name__}.{constraint.name}")


@pytest.mark.parametrize("constraint", list(_constraints()))
def test_every_constraint_has_a_message_in_plain_words(constraint):
    message = str(constraint.violation_error_message)
    assert message != str(BaseConstraint.default_violation_error_message)
    assert constraint.name not in message and message.endswith(".")


@pytest.mark.parametrize(
    ("label", "model", "field"),
    [
        ("products", "Product", "sku"),
        ("products", "Product", "slug"),
        ("products", "Category", "slug"),
        ("users", "User", "email"),
    ],
)
def test_every_unique_field_staff_type_has_a_message_in_plain_words(label, model, field):
    message = str(apps.get_model(label, model)._meta.get_field(field).error_messages["unique"])
    assert message.startswith("A ") and "%(" not in message
