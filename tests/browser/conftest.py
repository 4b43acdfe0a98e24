"""A real Chromium (Debian's /usr/bin/chromium, driven by Playwright) against pytest-django's live server.

Run by `make test-browser`, which sets NOVACART_BROWSER_TESTS=1; skipped otherwise, so `make test`
needs no browser. Never downloads a browser: Playwright drives the installed one (NOVACART_CHROMIUM).

A step is a short test function built from these fixtures:
- `admin_page_as(role)`: a fresh browser page logged into /admin/ through the login form, as a new
  staff user in exactly that group (`staff_in(role)`; the groups come from the roles migration);
- `page`: a fresh page, not logged in;
- `shot(page, name)`: a screenshot in browser-screenshots/<test>/<NN>-<name>.png, which also fails the
  step right there if the page so far logged a console error or asked another origin for anything.
Every page is guarded: the test fails at teardown on any console error, uncaught page error or request
to a host other than the live server's (such requests are also aborted, so the pages run offline).
"""

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect, sync_playwright

from tests import factories

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "browser-screenshots"
CHROMIUM = os.environ.get("NOVACART_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous for a loaded CI machine (Swagger UI renders the whole schema); a passing step never waits it out.
TIMEOUT_MS = 15_000
# Schemes that never leave the page (inline images, generated downloads).
LOCAL_SCHEMES = {"data", "blob", "about"}

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test here: skipped unless NOVACART_BROWSER_TESTS=1; then on a committed database (the live
    server answers from another thread) that keeps the staff groups the migrations made through each
    test's flush (serialized_rollback)."""
    enabled = os.environ.get("NOVACART_BROWSER_TESTS") == "1"
    if enabled:
        mark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
    else:
        mark = pytest.mark.skip(reason="drives a real Chromium: `make test-browser` (NOVACART_BROWSER_TESTS=1) runs it")
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(mark)


@pytest.fixture(scope="session")
def _playwright():
    # Playwright's sync API runs its event loop on this thread, so Django takes the test's own ORM calls
    # (plain synchronous code between browser calls) for calls from async code and refuses them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            yield playwright
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture(scope="session")
def browser(_playwright):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"No Chromium at {CHROMIUM}: `make test-browser` installs Debian's (apt-get install -y chromium).")
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    yield browser
    browser.close()


@dataclass
class PageGuard:
    """What a page did that a shop's page must never do: console errors, uncaught errors, other origins."""

    origin: str
    problems: list[str] = field(default_factory=list)
    reported: int = 0

    def attach(self, context):
        """Watch every page of `context`; a request to another origin is recorded and aborted, so
        nothing leaves the machine and the pages run as they would offline."""
        context.route(
            "**/*", lambda route: route.continue_() if self.is_same_origin(route.request.url) else route.abort()
        )
        context.on("page", self._watch)

    def _watch(self, page):
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught error: {error}"))
        page.on("request", self._on_request)

    def is_same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in LOCAL_SCHEMES or f"{parts.scheme}://{parts.netloc}" == self.origin

    def _on_console(self, message):
        if message.type == "error":
            self.problems.append(f"console error: {message.text} ({message.location.get('url', '')})")

    def _on_request(self, request):
        if not self.is_same_origin(request.url):
            self.problems.append(f"request to another origin: {request.method} {request.url}")

    def new_problems(self) -> list[str]:
        """Problems since the last call (a step reports its own; teardown reports what is left)."""
        new, self.reported = self.problems[self.reported :], len(self.problems)
        return new


@pytest.fixture
def guard(live_server):
    return PageGuard(origin=live_server.url)


@pytest.fixture
def browser_context(browser, live_server, guard):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)  # expect() has its own default (5 s)
    guard.attach(context)
    yield context
    context.close()
    problems = guard.new_problems()
    # An AssertionError like a step's own (shot), so an xfail(raises=AssertionError) covers both.
    assert not problems, "after the last step the pages broke the browser rules:\n  " + "\n  ".join(problems)


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()


def _file_name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_")


@pytest.fixture
def shot(request, guard):
    """shot(page, name): screenshot the step, then fail here if the page so far broke the guard's rules.
    `full_page=False` keeps to the window (ReDoc's whole page is tens of thousands of pixels tall)."""
    folder = SCREENSHOTS / _file_name(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    steps = iter(range(1, 1000))

    def take(page, name: str, *, full_page: bool = True) -> Path:
        path = folder / f"{next(steps):02d}-{_file_name(name)}.png"
        page.screenshot(path=path, full_page=full_page)
        problems = guard.new_problems()
        assert not problems, f"step {name!r} broke the browser rules: " + "; ".join(problems)
        return path

    return take


@pytest.fixture
def staff_in(transactional_db):
    """staff_in("Order managers"): a new staff user in exactly that group (API.md "Staff roles")."""

    def make(role_name: str):
        # A misspelt role would make a staff user without permissions and a negative step pass.
        assert Group.objects.filter(name=role_name).exists(), f"no group {role_name!r}"
        return factories.staff_in(role_name, email=f"{_file_name(role_name.lower())}@example.com")

    return make


@pytest.fixture
def admin_page_as(page, staff_in, shot):
    """admin_page_as(role): the page, logged into the admin through its own login form as a new staff
    user of `role` (who is `page.user`), on the admin index."""

    def login(role: str):
        user = staff_in(role)
        page.goto("/admin/login/?next=/admin/")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(factories.DEFAULT_PASSWORD)
        shot(page, "login-form")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/admin/")
        assert page.get_by_role("heading", name="Site administration").is_visible()
        page.user = user
        return page

    return login
