"""A real Chromium (Debian's /usr/bin/chromium, driven by Playwright) against pytest-django's live server.

Run by `make test-browser`, which sets NOVACART_BROWSER_TESTS=1; skipped otherwise, so `make test`
needs no browser. Never downloads a browser: Playwright drives the installed one (NOVACART_CHROMIUM).

A step is a short test function built from these fixtures:
- `admin_page_as(role)`: a fresh browser page logged into /admin/ through the login form, as a new
  staff user in that group (`staff_in`), or as a superuser with `admin_page_as(SUPERUSER)`;
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
from playwright.sync_api import sync_playwright

from tests.factories import DEFAULT_PASSWORD, StaffFactory

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
TIMEOUT_MS = 10_000
SUPERUSER = "superuser"
# Schemes that never leave the page (inline images, generated downloads).
LOCAL_SCHEMES = {"data", "blob", "about"}

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    if os.environ.get("NOVACART_BROWSER_TESTS") == "1":
        return
    skip = pytest.mark.skip(
        reason="drives a real Chromium; run `make test-browser` (sets NOVACART_BROWSER_TESTS=1) to run it"
    )
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def _playwright():
    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are plain
    # synchronous code between browser calls, which Django's async-safety check cannot tell apart.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        yield playwright


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
    console_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def watch(self, page):
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        page.on("request", self._on_request)

    def is_same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES:
            return True
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def _on_console(self, message):
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def _on_request(self, request):
        if not self.is_same_origin(request.url):
            self.foreign_requests.append(f"{request.method} {request.url}")

    def problems(self) -> list[str]:
        return [f"console error: {text}" for text in self.console_errors] + [
            f"request to another origin: {text}" for text in self.foreign_requests
        ]


@pytest.fixture
def guard(live_server):
    return PageGuard(origin=live_server.url)


@pytest.fixture
def browser_context(browser, live_server, guard):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    # Nothing leaves the machine: a request to another origin is recorded (by the guard) and aborted.
    context.route(
        "**/*", lambda route: route.continue_() if guard.is_same_origin(route.request.url) else route.abort()
    )
    context.on("page", guard.watch)
    yield context
    context.close()
    problems = guard.problems()
    if problems:
        pytest.fail("The pages broke the browser rules:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()


def _file_name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_")


@pytest.fixture
def shot(request, guard):
    """shot(page, name): screenshot the step, then fail here if the page so far broke the guard's rules."""
    folder = SCREENSHOTS / _file_name(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    steps = iter(range(1, 1000))

    def take(page, name: str) -> Path:
        path = folder / f"{next(steps):02d}-{_file_name(name)}.png"
        page.screenshot(path=path, full_page=True)
        assert not guard.problems(), f"step {name!r}: " + "; ".join(guard.problems())
        return path

    return take


@pytest.fixture
def staff_in(transactional_db):
    """staff_in("Order managers"): a new staff user in that group (the roles of API.md "Staff roles")."""

    def make(role_name: str):
        group = Group.objects.filter(name=role_name).first()
        assert group is not None, f"no group {role_name!r}: the staff roles come from a data migration"
        user = StaffFactory(email=f"{_file_name(role_name.lower())}@example.com")
        user.groups.add(group)
        return user

    return make


def admin_login(page, user, shot=None):
    """Logs `user` in through the admin's own login form and checks the admin index answered."""
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    if shot:
        shot(page, "login-form")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    assert page.get_by_role("heading", name="Site administration").is_visible()


@pytest.fixture
def admin_page_as(page, staff_in):
    """admin_page_as(role): the page, logged into the admin through the form as a new staff user of
    `role` (or a superuser for SUPERUSER); the user is `page.user`."""

    def login(role: str):
        user = StaffFactory(email="owner@example.com", is_superuser=True) if role == SUPERUSER else staff_in(role)
        admin_login(page, user)
        page.user = user
        return page

    return login
