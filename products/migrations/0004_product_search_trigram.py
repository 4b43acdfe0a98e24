"""Trigram GIN indexes that make `?search=` fast on a large PostgreSQL catalog.

Django's `icontains` compiles on PostgreSQL to `UPPER(col::text) LIKE UPPER('%term%')`, which a
GIN index on `UPPER(col) gin_trgm_ops` serves. The indexes exist on PostgreSQL only (SQLite has no
trigram support), so they are created with raw SQL and are not part of the model state.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "product_name_trgm_idx": "name",
    "product_description_trgm_idx": "description",
    "product_sku_trgm_idx": "sku",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index_name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index_name} ON products_product USING gin (UPPER({column}) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index_name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index_name}")


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0003_review_product_visible_index"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
