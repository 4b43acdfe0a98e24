"""Real threads for the PostgreSQL concurrency tests: one harness instead of a copy per file."""

import threading
import time

from django.db import connection


def run_concurrently(*callables, timeout: float = 60) -> tuple[list, list[BaseException]]:
    """Runs each callable in its own thread, all released together by a barrier, and waits for them.

    Returns (what the callables that returned gave back, what the others raised), each in the
    order the callables were given. Every thread closes its own database connection, so none is
    left open when the test database is dropped. A thread still running after `timeout` seconds
    fails the test rather than hanging it.
    """
    barrier = threading.Barrier(len(callables))
    outcomes: list = [None] * len(callables)
    raised = [False] * len(callables)

    def run(index, work):
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = work()
        except BaseException as exc:  # handed back to the test, which asserts on it
            outcomes[index], raised[index] = exc, True
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, work)) for i, work in enumerate(callables)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(0, deadline - time.monotonic()))
    stuck = [i for i, thread in enumerate(threads) if thread.is_alive()]
    assert not stuck, f"threads {stuck} still running after {timeout}s"
    results = [outcome for outcome, failed in zip(outcomes, raised, strict=True) if not failed]
    errors = [outcome for outcome, failed in zip(outcomes, raised, strict=True) if failed]
    return results, errors
