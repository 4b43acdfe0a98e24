"""Full-text search on PostgreSQL: `products_product.search_vector`, kept in step by the database.

The column is a stored, GIN-indexed tsvector over (weight A) the name and the SKUs of the product
and of its variants, (B) its category's name and (C) its description; products/search.py builds
the queries against it. Triggers maintain it, so every write path (services, the admin, imports,
bulk_create, raw SQL) keeps it right without remembering to:

- products_product BEFORE INSERT OR UPDATE OF name, description, category_id, sku computes
  NEW.search_vector. Only those columns: checkout and the derived-field refresh UPDATE stock and
  price, which must not pay for re-parsing the text. The other triggers refresh a product with
  `UPDATE ... SET sku = sku`, which fires this one, so the document is defined once.
- products_productvariant AFTER INSERT / DELETE (per statement, so a bulk insert of a catalog's
  variants refreshes each product once) and AFTER UPDATE OF sku, product_id (per row, only when
  one of them changed) refresh the variants' products.
- products_category AFTER UPDATE OF name (when it changed) refreshes its products, locking them in
  primary-key order like every other writer of product rows (CONTRIBUTING.md, "Lock order").

Text search configurations: `english` (stemming, stop words) for the name, category and description,
so "tents" finds "Tent"; `simple` (lower case, nothing else) for SKUs, whose parts are codes, not
English words ("TEE-M-RED" must not become "tee-m-r"). The name and the category name are indexed
in `simple` form as well, so a prefix of a word as typed ("lighti" for "Lighting", whose English
stem is "light") still matches. SKUs are indexed three ways: as PostgreSQL's parser splits them
("tee-m-red", "tee", "m", "red"), split at every non-alphanumeric character (so "000001" finds
"SYN-000001", which the parser reads as "syn" and the integer "-000001"), and whole, lower case,
behind a "=" (no word the parser produces starts with "="), which only the exact-SKU query can match.

The trigram indexes of migration 0004 served the icontains search this replaces; nothing else
needs them and they cost every write of a name, description or SKU, so they go (on PostgreSQL;
SQLite never had them). The column exists on SQLite too (the model has it) and stays null there.
"""

from django.contrib.postgres.search import SearchVectorField
from django.db import migrations

# A tsvector holds at most 1 MB: the description is indexed up to this many characters, so an
# enormous one never makes a product impossible to save.
DESCRIPTION_INDEXED_CHARS = 100_000
# Positions left empty between the parts of the document (see the function). A phrase steps one
# position per word (and one more per stop word it skips): no phrase a shopper types bridges this.
GAP = 10

TRIGRAM_INDEXES = {
    "product_name_trgm_idx": "name",
    "product_description_trgm_idx": "description",
    "product_sku_trgm_idx": "sku",
}

FORWARD = [
    f"""
    CREATE FUNCTION products_product_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        -- Concatenating tsvectors numbers the right side after the left; {GAP} unused positions
        -- between the parts (held by a placeholder lexeme " ", removed at the end) keep a phrase
        -- from matching across two of them ("tent ultralight" across the English and simple copies).
        gap CONSTANT tsvector := ''' '':{GAP}';
        doc tsvector;
        sku text;
        category_name text;
    BEGIN
        doc := setweight(to_tsvector('english', NEW.name), 'A') || gap || setweight(to_tsvector('simple', NEW.name), 'A');
        FOR sku IN
            SELECT NEW.sku
            UNION ALL
            (SELECT v.sku FROM products_productvariant v WHERE v.product_id = NEW.id AND v.sku <> NEW.sku ORDER BY v.id)
        LOOP
            doc := doc || gap || setweight(to_tsvector('simple', sku), 'A')
                || gap || setweight(to_tsvector('simple', regexp_replace(sku, '[^[:alnum:]]+', ' ', 'g')), 'A')
                || array_to_tsvector(ARRAY['=' || lower(sku)]);
        END LOOP;
        SELECT c.name INTO category_name FROM products_category c WHERE c.id = NEW.category_id;
        IF category_name IS NOT NULL THEN
            doc := doc || gap || setweight(to_tsvector('english', category_name), 'B')
                || gap || setweight(to_tsvector('simple', category_name), 'B');
        END IF;
        doc := doc || gap || setweight(to_tsvector('english', left(NEW.description, {DESCRIPTION_INDEXED_CHARS})), 'C');
        NEW.search_vector := ts_delete(doc, ' ');
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER products_product_search_vector
    BEFORE INSERT OR UPDATE OF name, description, category_id, sku ON products_product
    FOR EACH ROW EXECUTE FUNCTION products_product_search_vector()
    """,
    # INSERT and DELETE: one UPDATE per statement, over the products the statement touched.
    """
    CREATE FUNCTION products_variant_search_refresh_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE products_product SET sku = sku
        WHERE id IN (SELECT p.id FROM products_product p WHERE p.id IN (SELECT product_id FROM changed_rows)
                     ORDER BY p.id FOR UPDATE);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER products_variant_search_insert
    AFTER INSERT ON products_productvariant REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_variant_search_refresh_rows()
    """,
    """
    CREATE TRIGGER products_variant_search_delete
    AFTER DELETE ON products_productvariant REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_variant_search_refresh_rows()
    """,
    # UPDATE OF: PostgreSQL allows no transition table on a trigger with a column list, so per row.
    """
    CREATE FUNCTION products_variant_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE products_product SET sku = sku
        WHERE id IN (SELECT p.id FROM products_product p WHERE p.id IN (OLD.product_id, NEW.product_id)
                     ORDER BY p.id FOR UPDATE);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER products_variant_search_update
    AFTER UPDATE OF sku, product_id ON products_productvariant
    FOR EACH ROW WHEN (OLD.sku IS DISTINCT FROM NEW.sku OR OLD.product_id IS DISTINCT FROM NEW.product_id)
    EXECUTE FUNCTION products_variant_search_refresh()
    """,
    """
    CREATE FUNCTION products_category_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE products_product SET sku = sku
        WHERE id IN (SELECT p.id FROM products_product p WHERE p.category_id = NEW.id ORDER BY p.id FOR UPDATE);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER products_category_search_refresh
    AFTER UPDATE OF name ON products_category
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION products_category_search_refresh()
    """,
    # Fill the existing rows (the trigger computes each), then build the index in one pass.
    "UPDATE products_product SET sku = sku",
    "CREATE INDEX product_search_vector_idx ON products_product USING gin (search_vector)",
    *(f"DROP INDEX IF EXISTS {name}" for name in TRIGRAM_INDEXES),
]

BACKWARD = [
    *(
        f"CREATE INDEX IF NOT EXISTS {name} ON products_product USING gin (UPPER({column}) gin_trgm_ops)"
        for name, column in TRIGRAM_INDEXES.items()
    ),
    "DROP INDEX IF EXISTS product_search_vector_idx",
    "DROP TRIGGER IF EXISTS products_category_search_refresh ON products_category",
    "DROP TRIGGER IF EXISTS products_variant_search_update ON products_productvariant",
    "DROP TRIGGER IF EXISTS products_variant_search_delete ON products_productvariant",
    "DROP TRIGGER IF EXISTS products_variant_search_insert ON products_productvariant",
    "DROP TRIGGER IF EXISTS products_product_search_vector ON products_product",
    "DROP FUNCTION IF EXISTS products_category_search_refresh()",
    "DROP FUNCTION IF EXISTS products_variant_search_refresh()",
    "DROP FUNCTION IF EXISTS products_variant_search_refresh_rows()",
    "DROP FUNCTION IF EXISTS products_product_search_vector()",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0008_product_variants"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="search_vector",
            field=SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(_run(FORWARD), _run(BACKWARD)),
    ]
