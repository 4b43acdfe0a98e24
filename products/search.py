"""Product search: what `?search=` on the product list finds, and in which order.

The search is first put in its canonical spelling (`search_canonical`), and everything below reads
only that spelling, so two searches with the same canonical spelling find the same products in the
same order: the anonymous catalog cache keys on it (`ProductFilter.canonical_params`,
products/cache.py).

Syntax (PostgreSQL's websearch syntax, parsed here by `search_parse`): words must all match, in any
order; "a quoted phrase" must match as a phrase; -word or -"a phrase" must not match; `or` between
two parts matches either (AND binds tighter: `a b or c` is (a and b) or c). A bare word (not
quoted, not negated) also matches as the start of a longer word, so a shopper still typing finds
what they mean: "ultral ten" finds "Ultralight Tent".

PostgreSQL: full-text search on `Product.search_vector` (kept up to date by the triggers of
migration 0009, which say what it holds). Each term is quoted into an operand of `to_tsquery`
syntax (`_operand`) and passed as a bound parameter, so user input is never SQL and never tsquery
operators: it is only ever text for PostgreSQL's parser. A term is looked up in the `english`
configuration (stems, stop words) or the `simple` one (SKUs, words as typed); a term that is
nothing in English (a stop word such as "the", punctuation) is dropped, as websearch_to_tsquery
drops it, and a search with nothing left filters nothing. A product whose own SKU or a variant's
SKU equals the whole (canonical) search, ignoring case, is found too and comes first; then the best
ranked (`ts_rank`: name and SKUs weigh 1, the category 0.4, the description 0.2, and words
found close together count more), then the list's usual order (newest first, id last, so pages
never overlap). An explicit `ordering` replaces all of that (the ordering filter runs after the
search). The tsquery is a constant that PostgreSQL folds while planning, and the GIN index answers
`@@` (asked for each form of a word once: `_term_tsquery`). Ranking reads every match, so a ranked
page counts the matches in the same pass (`search_ranked_page`); with an explicit ordering the list
counts them as it counts any filter, on the table alone.

SQLite (development only): LIKE on name, description, SKU and the variants' SKUs, with the same
syntax; no ranking, the list's usual order.
"""

import re
import string
from dataclasses import dataclass

from django.db import connections
from django.db.models import BooleanField, Exists, Expression, F, FloatField, OuterRef, Q, QuerySet

from .models import ProductVariant

# What a PostgreSQL search annotates each product with, and the order it gives them.
SEARCH_EXACT_SKU = "search_exact_sku"
SEARCH_RANK = "search_rank"
SEARCH_IS_EMPTY = "search_is_empty"  # nothing to search for (stop words, punctuation): filters nothing
_SEARCH_ORDER = (f"-{SEARCH_EXACT_SKU}", f"-{SEARCH_RANK}", "-created_at", "-id")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# A bare or negated word, or a quoted phrase ("-" before it negates; an unclosed quote runs to the end).
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')


def search_canonical(value: str) -> str:
    """The one spelling of a search that decides what it finds. ASCII letters in lower case (both
    databases ignore their case; other letters keep theirs: SQLite's LIKE distinguishes it, so
    folding them could merge two searches that find different products). Plain words (no quote,
    no -word, no `or`) are sorted, each once: they all must match, as prefixes, so their order and
    repeats change nothing. With any syntax the words stay in order, one space apart."""
    words = value.translate(_ASCII_LOWER).split()
    if all('"' not in word and not word.startswith("-") and word != "or" for word in words):
        return " ".join(sorted(set(words)))
    return " ".join(words)


@dataclass(frozen=True)
class SearchTerm:
    text: str
    is_phrase: bool = False
    is_negated: bool = False

    @property
    def is_prefix(self) -> bool:
        """A bare word matches as typed and as the start of a longer word."""
        return not (self.is_phrase or self.is_negated)


def search_parse(text: str) -> list[list[SearchTerm]]:
    """The alternatives of a canonical search (`or` between two terms separates them), each a list
    of terms that must all hold. An `or` at either end, or after another, is a word."""
    terms = []
    for match in _TOKEN.finditer(text):
        if match.group(2) is not None:
            phrase = " ".join(match.group(2).split())
            if phrase:
                terms.append(SearchTerm(phrase, is_phrase=True, is_negated=bool(match.group(1))))
        else:
            terms.append(SearchTerm(match.group(4), is_negated=bool(match.group(3))))
    groups: list[list[SearchTerm]] = [[]]
    for position, term in enumerate(terms):
        if term.text == "or" and term.is_prefix and groups[-1] and position < len(terms) - 1:
            groups.append([])
        else:
            groups[-1].append(term)
    return [group for group in groups if group]


def product_search(queryset: QuerySet, value: str) -> QuerySet:
    """`queryset` narrowed to the products the search finds, in search order (see the module)."""
    text = search_canonical(value)
    groups = search_parse(text)
    if not groups:
        return queryset
    if connections[queryset.db].vendor == "postgresql":
        return _postgres_search(queryset, text, groups)
    return _fallback_search(queryset, groups)


# --- PostgreSQL ----------------------------------------------------------------------------------


def _operand(text: str, *, prefix: bool) -> str:
    """`text` as one quoted operand of to_tsquery's syntax: inside quotes only a quote and a
    backslash mean anything, and both are escaped, so `&|!():*` stay text for the parser."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'" + (":*" if prefix else "")


def _term_tsquery(term: SearchTerm, *, for_filter: bool = False) -> tuple[str, list[str]]:
    """One term, in its English form (stems) or its simple form (SKUs, words as typed); a bare word
    as a prefix of either (which includes the word itself: ts_rank merges the items of one
    lexeme, so the exact form is not added beside it). A term that is nothing in English (a stop
    word, punctuation) is dropped.

    `for_filter`: the same matches with each form once. GIN scans an operand's posting lists for
    every operand, so `'charg':* | 'charg':*` read them twice; and a prefix that is itself a prefix
    of the other form (the stem `'canva':*` of `'canvas':*`) already finds all the other finds. Only
    the filter is narrowed: the rank keeps both forms, so the order is the same."""
    operand = _operand(term.text, prefix=term.is_prefix)
    english = "to_tsquery('english', %s)"
    simple = "to_tsquery('simple', %s)"
    either = f"({english} || {simple})"
    if for_filter:
        # Both single prefix lexemes: the text forms are 'stem':* and 'word':*; the stem without
        # its closing `':*` starting the word means the stem's prefix covers the word's.
        covers = (
            f" WHEN numnode({english}) = 1 AND numnode({simple}) = 1"
            f" AND starts_with({simple}::text, left({english}::text, -3)) THEN {english}"
            if term.is_prefix
            else ""
        )
        sql = (
            f"(CASE WHEN numnode({english}) = 0 THEN {english} WHEN {english} = {simple} THEN {english}"
            f"{covers} ELSE {either} END)"
        )
    else:
        sql = f"(CASE WHEN numnode({english}) = 0 THEN {english} ELSE {either} END)"
    # Every placeholder, English or simple, takes the same operand.
    return (f"(!!{sql})" if term.is_negated else sql), [operand] * sql.count("%s")


def _tsquery(groups: list[list[SearchTerm]], *, for_filter: bool = False) -> tuple[str, list[str]]:
    """The search as one tsquery expression. `&&` and `||` drop an empty side, so a dropped term
    (or group) leaves the rest as it was; all of them dropped is the empty tsquery."""
    alternatives, params = [], []
    for group in groups:
        parts = []
        for term in group:
            sql, term_params = _term_tsquery(term, for_filter=for_filter)
            parts.append(sql)
            params += term_params
        alternatives.append("(" + " && ".join(parts) + ")")
    return "(" + " || ".join(alternatives) + ")", params


# The whole search as the literal lexeme "=<lower case>" that the triggers store for every SKU:
# built from the text, not parsed, so only an exact SKU matches it.
_EXACT_SKU_TSQUERY = r"""(('''=' || replace(replace(lower(%s), '\', '\\'), '''', '''''') || '''')::tsquery)"""


class _VectorSql(Expression):
    """SQL over the product's search_vector column, written as `{vector}` in `sql`, with `params`
    for its placeholders (the column itself has none)."""

    def __init__(self, sql: str, params: list[str], output_field):
        super().__init__(output_field=output_field)
        self.sql, self.params, self.vector = sql, params, F("search_vector")

    def get_source_expressions(self):
        return [self.vector]

    def set_source_expressions(self, exprs):
        (self.vector,) = exprs

    def as_sql(self, compiler, connection):
        vector_sql, _ = compiler.compile(self.vector)
        return "(" + self.sql.replace("{vector}", vector_sql) + ")", list(self.params)


class _ConstantSql(Expression):
    """SQL that reads no column (our own text, with `params` for its placeholders)."""

    def __init__(self, sql: str, params: list[str], output_field):
        super().__init__(output_field=output_field)
        self.sql, self.params = sql, params

    def as_sql(self, compiler, connection):
        return "(" + self.sql + ")", list(self.params)


def _postgres_search(queryset: QuerySet, text: str, groups: list[list[SearchTerm]]) -> QuerySet:
    query, query_params = _tsquery(groups)
    narrow, narrow_params = _tsquery(groups, for_filter=True)
    # Every expression below is constant but for the column, so PostgreSQL folds the query once
    # while planning: the CASE disappears and `@@` with a constant tsquery uses the GIN index.
    empty = f"numnode({query}) = 0"
    matches = _VectorSql(
        f"CASE WHEN {empty} THEN TRUE ELSE {{vector}} @@ ({narrow} || {_EXACT_SKU_TSQUERY}) END",
        [*query_params, *narrow_params, text],
        BooleanField(),
    )
    exact_sku = _VectorSql(
        f"CASE WHEN {empty} THEN FALSE ELSE {{vector}} @@ {_EXACT_SKU_TSQUERY} END",
        [*query_params, text],
        BooleanField(),
    )
    rank = _VectorSql(
        f"CASE WHEN {empty} THEN 0 ELSE ts_rank({{vector}}, {query}) END",
        [*query_params, *query_params],
        FloatField(),
    )
    is_empty = _ConstantSql(empty, query_params, BooleanField())
    return (
        queryset.filter(matches)
        .annotate(**{SEARCH_EXACT_SKU: exact_sku, SEARCH_RANK: rank, SEARCH_IS_EMPTY: is_empty})
        .order_by(*_SEARCH_ORDER)
    )


def search_is_ranked(queryset: QuerySet) -> bool:
    """Whether `queryset` is a PostgreSQL search still in search order (no `ordering` replaced it):
    read its pages with `search_ranked_page`."""
    return tuple(queryset.query.order_by) == _SEARCH_ORDER


def search_ranked_page(queryset: QuerySet, *, offset: int, limit: int) -> tuple[list[int], int] | None:
    """The ids of one page of a ranked search (`search_is_ranked`), in search order, and how many
    products the search finds in all (0 with no page: past the end, or no match); None when the
    search has nothing to search for, which filters and orders nothing: page it as the list.

    One query. Ranking reads every match's vector from the heap before any page is known, and a
    COUNT apart read every match a second time; here the count is a window over the rows ranked
    anyway. The matches are a derived table holding only what the order needs (OFFSET 0 keeps
    PostgreSQL from merging it into the outer query): the window keeps every match it counts, and
    with the vectors in them it spilled to disk on a large search. The gate is a constant that
    PostgreSQL checks before reading anything, so an empty search never ranks the whole catalog
    (the list's own count and newest-first page are cheap). The page's rows are read apart."""
    query = queryset.query
    gate_sql, gate_params = query.get_compiler(using=queryset.db).compile(query.annotations[SEARCH_IS_EMPTY])
    matches = queryset.order_by().values_list("id", SEARCH_EXACT_SKU, SEARCH_RANK, "created_at")
    sql, params = matches.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        # The SQL is Django's own compilation of the queryset (values bound as params) and our names.
        cursor.execute(
            f"SELECT page.id, page.total, gate.is_empty FROM (SELECT {gate_sql} AS is_empty) AS gate "  # noqa: S608
            "LEFT JOIN LATERAL ("
            f"SELECT id, COUNT(*) OVER () AS total FROM ({sql} OFFSET 0) AS matches WHERE NOT gate.is_empty "
            f"ORDER BY {SEARCH_EXACT_SKU} DESC, {SEARCH_RANK} DESC, created_at DESC, id DESC LIMIT %s OFFSET %s"
            ") AS page ON TRUE",
            [*gate_params, *params, limit, offset],
        )
        rows = cursor.fetchall()
    if rows[0][2]:
        return None
    ids = [row[0] for row in rows if row[0] is not None]
    return ids, (rows[0][1] if ids else 0)


# --- SQLite (and any other database) -------------------------------------------------------------


def _fallback_term(term: SearchTerm) -> Q:
    text = term.text
    variant_sku = Exists(ProductVariant.objects.filter(product_id=OuterRef("pk"), sku__icontains=text))
    found = Q(name__icontains=text) | Q(description__icontains=text) | Q(sku__icontains=text) | Q(variant_sku)
    return ~found if term.is_negated else found


def _fallback_search(queryset: QuerySet, groups: list[list[SearchTerm]]) -> QuerySet:
    """LIKE for each term; a term with no letter or digit is left out (as PostgreSQL's parser
    finds nothing in it), and a search with nothing left filters nothing."""
    alternatives = []
    for group in groups:
        terms = [_fallback_term(term) for term in group if any(ch.isalnum() for ch in term.text)]
        if terms:
            condition = terms[0]
            for term in terms[1:]:
                condition &= term
            alternatives.append(condition)
    if not alternatives:
        return queryset
    condition = alternatives[0]
    for alternative in alternatives[1:]:
        condition |= alternative
    return queryset.filter(condition)
