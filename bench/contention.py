"""Checkout contention: many buyers race for the last units of one product, at the same instant.

Each buyer has the product in their own cart and their own token. Every thread opens its TCP
connection first, then all wait on one barrier and send their POST /api/orders/create/ together.
Expected with stock S and N buyers: S answers 201, N - S answers 409 (`out_of_stock`), nothing else;
bench/prepare.py then checks the database (stock 0, S units sold, nothing oversold or lost).
Standard library only, so it runs in the orchestrating process without Django.
"""

import http.client
import json
import threading
import time
from collections import Counter


def race(*, host: str, port: int, requests: list[dict], timeout: float = 120.0) -> dict:
    barrier = threading.Barrier(len(requests) + 1)
    results: list[tuple[int, str] | None] = [None] * len(requests)
    finished_at: list[float] = [0.0] * len(requests)

    def buyer(i: int, spec: dict) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.connect()
            body = json.dumps(spec["body"])
            headers = {
                "Authorization": f"Bearer {spec['token']}",
                "Content-Type": "application/json",
                "Idempotency-Key": spec["idempotency_key"],
            }
            barrier.wait()
            conn.request("POST", "/api/orders/create/", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read().decode(errors="replace")
            results[i] = (response.status, payload)
        except threading.BrokenBarrierError:
            results[i] = (0, "barrier broken")
        except OSError as exc:
            barrier.abort()
            results[i] = (0, f"{type(exc).__name__}: {exc}")
        finally:
            finished_at[i] = time.perf_counter()
            conn.close()

    threads = [threading.Thread(target=buyer, args=(i, spec), daemon=True) for i, spec in enumerate(requests)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout + 5)
    duration = max(finished_at) - started if any(finished_at) else 0.0

    statuses = Counter(status for status, _body in (r or (0, "no answer") for r in results))
    codes = Counter()
    for status, body in (r for r in results if r):
        if status == 409:
            try:
                codes.update(error["code"] for error in json.loads(body).get("errors", []))
            except (ValueError, AttributeError, TypeError):
                codes.update(["unparseable"])
    sample_other = next(
        (f"{status} {body[:300]}" for status, body in (r for r in results if r) if status not in (201, 409)), ""
    )
    return {
        "buyers": len(requests),
        "duration_s": duration,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "created": statuses.get(201, 0),
        "conflicts": statuses.get(409, 0),
        "conflict_codes": dict(codes),
        "other": sum(v for k, v in statuses.items() if k not in (201, 409)),
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "sample_other": sample_other,
    }
