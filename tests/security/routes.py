"""Every route under /api/, from Django's URL resolver: `enumerate_api_routes()` is the set of
(path, METHOD) pairs the access tests compare their tables with, so a new endpoint fails them until
someone decides who may call it (test_authz_matrix.py, test_authorization_matrix.py)."""

import re

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

# Methods every view answers the same way (OPTIONS metadata, HEAD mirrors GET): not in the tables.
IGNORED_METHODS = {"options", "head"}
# Regex groups of router-generated routes, written like path converters.
_REGEX_CONVERTERS = {r"\d+": "int", r"[-a-zA-Z0-9_]+": "slug", r"[^/.]+": "str"}


def _regex_to_path(regex: str) -> str:
    regex = regex.removeprefix("^").removesuffix("$")

    def converter(match: re.Match) -> str:
        name, pattern = match.group(1), match.group(2)
        return f"<{_REGEX_CONVERTERS.get(pattern, 're')}:{name}>"

    return re.sub(r"\(\?P<(\w+)>([^)]*)\)", converter, regex)


def _walk(patterns, prefix: str):
    for pattern in patterns:
        if isinstance(pattern.pattern, RegexPattern):
            piece = _regex_to_path(str(pattern.pattern))
        else:
            piece = str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + piece)
        elif isinstance(pattern, URLPattern):
            yield prefix + piece, pattern


def _methods(pattern: URLPattern) -> set[str]:
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset: the method -> action map it was built with
        methods = set(actions)
    else:
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        assert view_class is not None, f"function view {pattern} under /api/: give it a class or list it here"
        methods = {m for m in view_class.http_method_names if hasattr(view_class, m)}
    return {m.upper() for m in methods - IGNORED_METHODS}


def enumerate_api_routes() -> set[tuple[str, str]]:
    routes = set()
    for path, pattern in _walk(get_resolver().url_patterns, "/"):
        if not path.startswith("/api/"):
            continue
        if path == "/api/.*":  # the catch-all that answers 404 in the error shape
            continue
        for method in _methods(pattern):
            routes.add((path, method))
    return routes
