"""The guard every browser test relies on can fail: a console error, an uncaught error and a request to
another origin are each caught, and the foreign request never leaves the machine."""

from tests.browser.conftest import PageGuard


def test_guard_catches_console_errors_page_errors_and_other_origins(browser, live_server):
    guard = PageGuard(origin=live_server.url)
    context = browser.new_context(base_url=live_server.url)
    guard.attach(context)
    page = context.new_page()
    page.goto("/api/health/")
    foreign = []
    page.on("requestfailed", lambda request: foreign.append(request.failure))

    page.evaluate("console.error('boom')")
    page.evaluate("setTimeout(() => { throw new Error('uncaught boom') })")
    page.evaluate(
        "new Promise(done => {"
        " const img = new Image(); img.onerror = done; img.src = 'https://cdn.example.com/x.png' })"
    )
    page.wait_for_timeout(100)
    context.close()

    problems = guard.new_problems()
    assert any(p.startswith("console error: boom") for p in problems), problems
    assert any(p.startswith("uncaught error: ") and "uncaught boom" in p for p in problems), problems
    assert "request to another origin: GET https://cdn.example.com/x.png" in problems
    assert foreign == ["net::ERR_FAILED"]  # aborted by the route: nothing was fetched
    assert guard.new_problems() == []  # each problem is reported once
    assert guard.is_same_origin(f"{live_server.url}/static/x.js")
    assert guard.is_same_origin("data:image/png;base64,AAAA")
    assert not guard.is_same_origin(live_server.url.replace("localhost", "127.0.0.1") + "/")
