"""The module structure the code relies on (CONTRIBUTING.md): no import cycles among our modules,
and no imports hidden inside functions in the domains where they used to paper over cycles."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("novacart", "users", "products", "cart", "orders", "payments", "addresses")
# Where an import inside a function needs a comment saying why it must be there.
NO_FUNCTION_IMPORTS = ("payments", "orders", "users")


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _is_package(module: str) -> bool:
    return MODULES.get(module, Path()).name == "__init__.py"


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """Our modules an import statement loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            package = module.split(".") if _is_package(module) else module.split(".")[:-1]
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        # `from pkg import name` loads pkg, and pkg.name when that is a module.
        names = [base] + [f"{base}.{alias.name}" for alias in node.names]
    return {name for name in names if name in MODULES}


def _module_level_imports(tree: ast.Module):
    """Imports that run when the module is imported: top level, also inside top-level if/try blocks."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for field in ("body", "orelse", "finalbody", "handlers"):
                pending.extend(getattr(node, field, []))
        elif isinstance(node, ast.ExceptHandler):
            pending.extend(node.body)


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[module] = set().union(*(_targets(module, n) for n in _module_level_imports(tree))) - {module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_the_modules_and_their_imports():
    graph = _graph()
    assert {"payments.services", "payments.webhooks", "orders.services", "users.services"} <= set(graph)
    assert "payments.services" in graph["payments.webhooks"]
    assert "orders.services" in graph["payments.services"]


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_among_our_modules():
    assert _cycles(_graph()) == []


def _function_imports(path: Path):
    lines = path.read_text().splitlines()
    tree = ast.parse("\n".join(lines), filename=str(path))
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import | ast.ImportFrom):
                line = lines[node.lineno - 1]
                above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
                yield node.lineno, line.strip(), "#" in line or above.startswith("#")


@pytest.mark.parametrize("package", NO_FUNCTION_IMPORTS)
def test_imports_inside_functions_say_why(package):
    unexplained = [
        f"{path.relative_to(ROOT)}:{lineno}: {line}"
        for module, path in MODULES.items()
        if module.split(".")[0] == package
        for lineno, line, explained in _function_imports(path)
        if not explained
    ]
    assert unexplained == []


def test_rows_are_locked_only_in_lock_objects_modules():
    """The lock order is kept in one place per app (CONTRIBUTING.md, "Lock order")."""
    elsewhere = [
        f"{path.relative_to(ROOT)}:{number}"
        for module, path in MODULES.items()
        if path.name != "lock_objects.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "select_for_update(" in line
    ]
    assert elsewhere == []


# Each provider's SDK is imported by its one module, which turns its data into our types.
PROVIDER_SDKS = {"stripe": "payments.stripe_client", "razorpay": "payments.razorpay_client"}


@pytest.mark.parametrize("sdk", sorted(PROVIDER_SDKS))
def test_only_the_providers_module_imports_its_sdk(sdk):
    importers = set()
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if any(name == sdk or name.startswith(f"{sdk}.") for name in names):
                importers.add(module)
    assert importers == {PROVIDER_SDKS[sdk]}
