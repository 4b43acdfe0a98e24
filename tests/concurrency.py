"""Real threads for the PostgreSQL concurrency tests: one harness instead of a copy per file (many
threads released together, or one thread working behind the locks of the test's own transaction)."""

import threading
import time
from collections.abc import Callable

from django.db import connection, transaction


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


def run_behind_locks(lock_and_change: Callable[[], object], work: Callable[[], object], *, timeout: float = 30):
    """Runs `lock_and_change` in a transaction of the calling thread (take row locks there, change rows
    under them) and `work` in another thread meanwhile. The transaction commits once `work` has
    finished or waits for a lock (PostgreSQL's pg_locks shows an ungranted lock of its backend), so a
    `work` that takes one of those locks sees the change and one that does not finished without it.

    Returns (what `work` returned, what it raised): one of them is None."""
    outcome: dict = {}
    backend: list[int] = []

    def run():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend.append(cursor.fetchone()[0])
            outcome["result"] = work()
        except BaseException as exc:  # handed back to the test, which asserts on it
            outcome["raised"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    with transaction.atomic():
        lock_and_change()
        thread.start()
        deadline = time.monotonic() + timeout
        while thread.is_alive() and not _waits_for_a_lock(backend):
            assert time.monotonic() < deadline, f"work neither finished nor waited for a lock in {timeout}s"
            time.sleep(0.01)
    thread.join(timeout=timeout)
    assert not thread.is_alive(), f"work still running {timeout}s after the locks were released"
    return outcome.get("result"), outcome.get("raised")


def _waits_for_a_lock(backend: list[int]) -> bool:
    if not backend:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)", [backend[0]])
        return cursor.fetchone()[0]
