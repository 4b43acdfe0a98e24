"""NovaCart load benchmark: `python -m bench [--quick] [--products N] ...` (see bench/README.md).

One run, side by side on the same machine: prepare the databases, start the app under gunicorn with
production settings, drive bounded load with wrk from a second process over loopback, measure the
floor reference in the same run, race 100 buyers for 10 units, and write a table, JSON and a chart.
Everything this process starts (gunicorn, wrk, Django helpers) runs in its own process group and is
stopped in a `finally`, also on Ctrl-C, SIGTERM or an error.
"""

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import contention, report

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "bench"
RESULTS = BENCH_DIR / "results"
LUA = BENCH_DIR / "lua" / "requests.lua"
CATALOG_MISMATCH = 3
PG_MARK = "novacart-bench: created by bench/run.py, safe to drop"
KEEP_RUN_DIRS = 5

# Compared pairs run interleaved (floor first); the rest one after the other.
PAIRS = (("floor_list", "product_list"), ("floor_detail", "product_detail"))
SINGLE_SCENARIOS = (
    ("search", "cycle"),
    ("product_detail_variants", "cycle"),
    ("category_tree", "cycle"),
    ("cart_read", "cycle"),
    ("cart_add", "cycle"),
    ("cart_add_variant", "cycle"),
    ("order_list", "cycle"),
    ("checkout_preview", "cycle"),
    # last: they empty carts, move stock and use the voucher
    ("order_create", "once"),
    ("order_create_priced", "once"),
)
WARM_UP = ("floor_list", "product_list", "floor_detail", "product_detail", "search", "category_tree", "cart_read")
CACHED_PAIRS = {"product_list": "floor_list", "product_detail": "floor_detail", "search": "floor_list"}
SIZE_SCENARIOS = ("product_list", "search", "search_words")
ORDER = [
    "product_list",
    "product_detail",
    "floor_list",
    "floor_detail",
    "product_detail_variants",
    "search",
    "category_tree",
    "cart_read",
    "cart_add",
    "cart_add_variant",
    "order_create",
    "order_create_priced",
    "checkout_preview",
    "order_list",
]
FLOOR_OF = {"product_list": "floor_list", "product_detail": "floor_detail"}


class BenchError(Exception):
    pass


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def size_label(n: int) -> str:
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


# --- Processes ---------------------------------------------------------------------------------------


class Processes:
    """Every child the bench starts, each the leader of its own process group, stopped on exit."""

    def __init__(self):
        self.children: list[subprocess.Popen] = []

    def start(self, cmd, **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
        self.children.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 10.0) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        if proc in self.children:
            self.children.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.children)):
            self.stop(proc)


# --- Databases ---------------------------------------------------------------------------------------


class Database:
    """One database of the bench: PostgreSQL (a name derived from DATABASE_URL) or a SQLite file under
    bench/results/. The bench drops and recreates only databases it created itself."""

    def __init__(self, base_url: str | None, label: str):
        self.label = label
        if base_url and base_url.startswith(("postgres://", "postgresql://")):
            parts = urlsplit(base_url)
            base = parts.path.lstrip("/") or "nc_bench"
            self.name = f"{base}_{label}"
            self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
            self.admin_url = urlunsplit(parts._replace(path="/postgres"))
            self.vendor = "postgresql"
        else:
            if base_url:
                log(f"DATABASE_URL is not PostgreSQL ({base_url.split(':')[0]}); using SQLite under bench/results/")
            self.path = RESULTS / f"db-{label}.sqlite3"
            self.name = self.path.name
            self.url = f"sqlite:///{self.path}"
            self.vendor = "sqlite"

    def _admin(self):
        import psycopg

        return psycopg.connect(self.admin_url, autocommit=True)

    def ensure(self, *, fresh: bool) -> None:
        if self.vendor == "sqlite":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if fresh and self.path.exists():
                self.path.unlink()
            return
        with self._admin() as conn:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [self.name]
            ).fetchone()
            if row is None:
                self._create(conn)
                return
            if row[0] != PG_MARK:
                if not self._is_empty():
                    raise BenchError(
                        f"database {self.name} exists, holds tables and was not created by the bench; "
                        "drop it yourself or point DATABASE_URL at another base name"
                    )
                conn.execute(f'COMMENT ON DATABASE "{self.name}" IS {_literal(PG_MARK)}')
                log(f"empty database {self.name} taken over by the bench")
            if fresh:
                self.recreate()

    def _is_empty(self) -> bool:
        import psycopg

        with psycopg.connect(self.url) as conn:
            (count,) = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone()
        return count == 0

    def _create(self, conn) -> None:
        conn.execute(f'CREATE DATABASE "{self.name}"')
        conn.execute(f'COMMENT ON DATABASE "{self.name}" IS {_literal(PG_MARK)}')
        log(f"created database {self.name}")

    def recreate(self) -> None:
        if self.vendor == "sqlite":
            if self.path.exists():
                self.path.unlink()
            return
        with self._admin() as conn:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [self.name]
            ).fetchone()
            if row is not None:
                if row[0] != PG_MARK:
                    raise BenchError(f"refusing to drop {self.name}: the bench did not create it")
                conn.execute(f'DROP DATABASE "{self.name}" WITH (FORCE)')
                log(f"dropped database {self.name} (bench-owned) to rebuild it")
            self._create(conn)

    def describe(self) -> str:
        if self.vendor == "sqlite":
            import sqlite3

            return f"SQLite {sqlite3.sqlite_version}"
        import psycopg

        with psycopg.connect(self.url) as conn:
            (version,) = conn.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {version.split()[0]}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- The run -----------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        self.procs = Processes()
        self.stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run_dir = RESULTS / f"run-{self.stamp}"
        self.secret_key = secrets.token_urlsafe(50)
        self.notes: list[str] = []
        self.started_at = dt.datetime.now(dt.UTC)
        self.load_at_start = os.getloadavg()[0]

    # environment shared by the Django helper processes and gunicorn, so counts match the server
    def env(self, db: Database, *, cache_seconds: int = 0) -> dict:
        env = dict(os.environ)
        for name in ("NOVACART_DEV", "DEBUG"):
            env.pop(name, None)
        rate = "1000000/s"
        env.update(
            DJANGO_SETTINGS_MODULE=self.args.settings,
            DATABASE_URL=db.url,
            SECRET_KEY=self.secret_key,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="0",
            THROTTLE_ANON_RATE=rate,
            THROTTLE_USER_RATE=rate,
            THROTTLE_AUTH_RATE=rate,
            THROTTLE_PASSWORD_RESET_RATE=rate,
            CATALOG_CACHE_SECONDS=str(cache_seconds),
            # Tokens minted by the bench must outlive the run.
            ACCESS_TOKEN_LIFETIME_MINUTES="600",
            # Local-memory cache and eager Celery: the bench needs nothing but the database.
            REDIS_URL=self.args.redis_url or "",
            CELERY_BROKER_URL="",
            CELERY_TASK_ALWAYS_EAGER="1",
            EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
            # Production refuses to start on localhost origins (novacart.checks); the bench sends no links.
            FRONTEND_URL="https://shop.bench.invalid",
            CORS_ALLOWED_ORIGINS="",
            CSRF_TRUSTED_ORIGINS="",
            FRONTEND_ALLOWED_ORIGINS="https://shop.bench.invalid",
            # One local instance and no uploads: the product images stay on this disk, which the
            # production settings accept only when served (system check products.E001, run by migrate).
            SERVE_MEDIA="1",
            PAYMENT_GATEWAY="",
            STRIPE_SECRET_KEY="",
            LOG_LEVEL=self.args.log_level,
            PYTHONDONTWRITEBYTECODE="1",
        )
        return env

    def prepare(self, db: Database, command: str, products: int, out: Path) -> dict:
        """Runs bench/prepare.py against `db`; rebuilds a bench-owned database that holds another catalog."""
        cmd = [sys.executable, "-m", "bench.prepare", command, "--products", str(products), "--out", str(out)]
        cmd += ["--buyers", str(self.args.buyers), "--run-id", self.stamp]
        for attempt in (1, 2):
            proc = self.procs.start(cmd, cwd=REPO, env=self.env(db))
            code = proc.wait()
            self.procs.children.remove(proc)
            if code == 0:
                return json.loads((out / "plan.json").read_text())
            if code == CATALOG_MISMATCH and attempt == 1:
                db.recreate()
                continue
            raise BenchError(f"bench.prepare {command} failed on {db.name} (exit {code})")
        raise AssertionError("unreachable")

    def verify_contention(self, db: Database, out: Path) -> dict:
        cmd = [sys.executable, "-m", "bench.prepare", "verify-contention", "--out", str(out)]
        proc = self.procs.start(cmd, cwd=REPO, env=self.env(db), stdout=subprocess.PIPE)
        stdout, _ = proc.communicate()
        self.procs.children.remove(proc)
        if proc.returncode != 0:
            raise BenchError("contention verification failed")
        return json.loads(stdout)

    # gunicorn ---------------------------------------------------------------------------------------
    def start_server(self, db: Database, *, cache_seconds: int, tag: str) -> tuple[subprocess.Popen, str]:
        port = _free_port()
        log_path = self.run_dir / f"gunicorn-{tag}.log"
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "novacart.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(self.args.workers),
            "--worker-class",
            self.args.worker_class,
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ]
        # gunicorn.conf.py (production) recycles workers after ~1,000 requests; inside a 12 s window
        # a recycle is a stall of a worker restarting, not a property of the code under test.
        cmd += ["--max-requests", str(self.args.max_requests)]
        if self.args.worker_class == "gthread":
            cmd += ["--threads", str(self.args.threads)]
        cmd += self.args.gunicorn_arg
        logfile = open(log_path, "ab")  # noqa: SIM115 - closed in stop_server
        proc = self.procs.start(
            cmd, cwd=REPO, env=self.env(db, cache_seconds=cache_seconds), stdout=logfile, stderr=subprocess.STDOUT
        )
        proc.logfile = logfile
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise BenchError(f"gunicorn exited with {proc.returncode}; see {log_path}:\n{_tail(log_path)}")
            try:
                with urllib.request.urlopen(f"{base}/api/health/", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"gunicorn did not answer /api/health/ within 60 s; see {log_path}")
            time.sleep(0.2)
        log(f"gunicorn up on {base} ({self.args.workers} {self.args.worker_class} workers, {tag})")
        self.server_pid[base] = proc.pid
        return proc, base

    def stop_server(self, proc: subprocess.Popen) -> None:
        self.procs.stop(proc)
        proc.logfile.close()

    # wrk ---------------------------------------------------------------------------------------------
    def wrk(self, base: str, requests_file: str, *, duration: float, mode: str, tag: str) -> dict:
        out = self.run_dir / f"wrk-{tag}.json"
        out.unlink(missing_ok=True)
        env = dict(
            os.environ,
            BENCH_REQUESTS=requests_file,
            BENCH_MODE=mode,
            BENCH_CONNECTIONS=str(self.args.connections),
            BENCH_OUT=str(out),
        )
        cmd = [
            self.wrk_path,
            "-t1",
            f"-c{self.args.connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            base,
        ]
        cpu_before = _workers_cpu_seconds(self.server_pid.get(base))
        proc = self.procs.start(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            stdout, _ = proc.communicate(timeout=duration + 60)
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"wrk {tag} did not finish") from exc
        finally:
            self.procs.stop(proc)
        if proc.returncode != 0 or not out.exists():
            raise BenchError(f"wrk {tag} failed (exit {proc.returncode}):\n{stdout.decode(errors='replace')}")
        raw = json.loads(out.read_text())
        cpu_after = _workers_cpu_seconds(self.server_pid.get(base))
        raw["server_cpu_s"] = _cpu_delta(cpu_before, cpu_after)
        return raw

    def scenario(self, base: str, plan: dict, name: str, mode: str, *, label: str | None = None) -> dict:
        """One scenario on its own: one wrk run of the full duration."""
        label = label or name
        raw = self.wrk(base, plan["requests"][name], duration=self.args.duration, mode=mode, tag=label)
        return self._row(label, plan, name, [raw])

    def interleaved(self, entries: list[tuple[str, str, dict, str]]) -> list[dict]:
        """Scenarios that are compared with each other, measured in alternating slices.

        `entries` are (label, base_url, plan, scenario). Each gets `rounds` slices of duration/rounds
        seconds, in the order A B, B A, A B, ... so that a drift of the shared machine (another
        process waking up, CPU frequency) hits both sides alike instead of whichever ran second.
        """
        rounds = self.args.rounds
        slice_s = max(1, round(self.args.duration / rounds))
        raws: dict[str, list[dict]] = {label: [] for label, *_ in entries}
        for r in range(rounds):
            order = entries if r % 2 == 0 else list(reversed(entries))
            for label, base, plan, name in order:
                raws[label].append(
                    self.wrk(base, plan["requests"][name], duration=slice_s, mode="cycle", tag=f"{label}-{r}")
                )
        rows = [self._row(label, plan, name, raws[label]) for label, _base, plan, name in entries]
        if len(entries) == 2:
            # The ratio of each round, then the median: robust to a slow round on a shared machine.
            a, b = (raws[label] for label, *_ in entries)
            ratios = sorted(_rps(y) / _rps(x) for x, y in zip(a, b, strict=True) if _rps(x))
            if ratios:
                self.pair_ratio[rows[1]["name"]] = round(_median(ratios), 3)
                self.details[rows[1]["name"]]["round_ratios"] = [round(x, 3) for x in ratios]
        return rows

    def _row(self, label: str, plan: dict, name: str, raws: list[dict]) -> dict:
        """Sums requests and time over the slices; the latency percentiles are the median over slices."""
        requests = sum(raw["requests"] for raw in raws)
        seconds = sum(raw["duration_us"] for raw in raws) / 1e6
        counted = plan["query_counts"].get(name, {})
        row = {
            "name": label,
            "rps": round(requests / seconds, 1) if seconds else 0.0,
            "p50_ms": round(_median([raw["p50_us"] for raw in raws]) / 1000, 2),
            "p95_ms": round(_median([raw["p95_us"] for raw in raws]) / 1000, 2),
            "p99_ms": round(_median([raw["p99_us"] for raw in raws]) / 1000, 2),
            "errors": int(sum(raw["non2xx"] + raw["socket_errors"] for raw in raws)),
            "queries_per_request": counted.get("queries"),
            "ratio_to_floor": None,
        }
        cpu = [raw.get("server_cpu_s") for raw in raws]
        cpu_ms = round(sum(cpu) * 1000 / requests, 2) if requests and None not in cpu else None
        statuses = ",".join(raw["statuses"] for raw in raws if raw["statuses"])
        first_error = next((raw["first_error"] for raw in raws if raw["first_error"]), "")
        detail = {
            "requests": requests,
            "duration_s": round(seconds, 2),
            "slices": len(raws),
            "rps_per_slice": [round(_rps(raw), 1) for raw in raws],
            "statuses": statuses,
            "socket_errors": {
                key: sum(raw["socket_detail"][key] for raw in raws) for key in ("connect", "read", "write", "timeout")
            },
            "query_count_status": counted.get("status"),
            # CPU time the gunicorn workers spent per request (user + system, from /proc): far steadier than
            # req/s on a shared machine, because it does not depend on how much CPU others left us.
            "server_cpu_ms_per_request": cpu_ms,
        }
        if first_error:
            detail["first_error"] = first_error
        if any(raw.get("exhausted") for raw in raws):
            note = (
                f"{label}: the prepared requests ran out after {requests} requests before the {seconds:.0f} s were "
                "up, so its req/s is understated; run with more --buyers"
            )
            detail["exhausted"] = True
            self.notes.append(note)
            log(f"warning: {note}")
        self.details[label] = detail
        errors = f", {row['errors']} errors ({statuses or 'socket'})" if row["errors"] else ""
        log(
            f"{label:<22} {row['rps']:>8.1f} req/s  p50 {row['p50_ms']:.1f} ms  p99 {row['p99_ms']:.1f} ms"
            f"  q/req {row['queries_per_request']}  cpu/req {cpu_ms} ms{errors}"
        )
        if first_error:
            log(f"    first error: {first_error[:200]}")
        return row

    def warm_up(self, base: str, plan: dict, names) -> None:
        """A short unrecorded pass over the read scenarios: imports, URL resolver, connection, caches."""
        lines = []
        for name in names:
            path = plan["requests"].get(name)
            if path:
                lines += Path(path).read_text().splitlines()[:25]
        warm = self.run_dir / f"warmup-{len(lines)}.tsv"
        warm.write_text("\n".join(lines) + "\n")
        self.wrk(base, str(warm), duration=self.args.warmup, mode="cycle", tag="warmup")

    # ------------------------------------------------------------------------------------------------
    def run(self) -> dict:
        self.details: dict[str, dict] = {}
        self.pair_ratio: dict[str, float] = {}
        self.server_pid: dict[str, int] = {}
        args = self.args
        self.wrk_path = shutil.which("wrk")
        if not self.wrk_path:
            raise BenchError(
                "wrk is not installed. On Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y wrk"
            )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _prune_run_dirs()
        base_url = os.environ.get("DATABASE_URL", "").strip() or None
        main_db = Database(base_url, size_label(args.products))
        main_db.ensure(fresh=args.fresh)
        started = time.monotonic()
        log(f"preparing {main_db.name} ({args.products:,} products)")
        plan = self.prepare(main_db, "main", args.products, self.run_dir / "main")

        scenarios: list[dict] = []
        cached: list[dict] = []
        contention_result = None
        wanted = (lambda name: name in args.only) if args.only else (lambda name: True)
        server, base = self.start_server(main_db, cache_seconds=0, tag="main")
        try:
            self.warm_up(base, plan, WARM_UP)
            for floor, api in PAIRS:
                if wanted(floor) or wanted(api):
                    scenarios += self.interleaved([(floor, base, plan, floor), (api, base, plan, api)])
            for name, mode in SINGLE_SCENARIOS:
                if wanted(name):
                    scenarios.append(self.scenario(base, plan, name, mode))
            if wanted("contention"):
                host, port = urlsplit(base).hostname, urlsplit(base).port
                race = contention.race(host=host, port=port, requests=plan["contention"]["requests"])
                race["db"] = self.verify_contention(main_db, self.run_dir / "main")
                race["initial_stock"] = plan["contention"]["initial_stock"]
                contention_result = race
                scenarios.append(_contention_row(race))
                log(
                    f"contention: {race['created']} created, {race['conflicts']} conflicts, {race['other']} other,"
                    f" {race['duration_s']:.2f}s; stock after {race['db']['stock_after']},"
                    f" oversold {race['db']['oversold_units']}"
                )
        finally:
            self.stop_server(server)

        if args.cached and not args.only:
            # The floor is measured again on this server (its views are never cached), interleaved.
            server, base = self.start_server(main_db, cache_seconds=args.cached_seconds, tag="cached")
            try:
                self.warm_up(base, plan, [*CACHED_PAIRS, "floor_list", "floor_detail"])
                for api, floor in CACHED_PAIRS.items():
                    rows = self.interleaved(
                        [(f"{floor}_for_{api}_cached", base, plan, floor), (f"{api}_cached", base, plan, api)]
                    )
                    cached.append(rows[1])
            finally:
                self.stop_server(server)

        sizes = []
        if len(args.sizes) >= 2 and not args.only:
            servers = []
            try:
                entries = []
                for products in args.sizes:
                    label = size_label(products)
                    db = Database(base_url, label)
                    db.ensure(fresh=args.fresh)
                    log(f"preparing {db.name} ({products:,} products, catalog only)")
                    size_plan = self.prepare(db, "size", products, self.run_dir / f"size-{label}")
                    entries.append((label, size_plan, db))
                # Both servers up at once (an idle one costs no CPU), so the sizes alternate slice by slice.
                for label, size_plan, db in entries:
                    server, base = self.start_server(db, cache_seconds=0, tag=f"size-{label}")
                    servers.append(server)
                    self.warm_up(base, size_plan, SIZE_SCENARIOS)
                    entries[entries.index((label, size_plan, db))] = (label, size_plan, base)
                for name in SIZE_SCENARIOS:
                    scenarios += self.interleaved(
                        [(f"{name}_{label}", base, size_plan, name) for label, size_plan, base in entries]
                    )
                sizes = list(args.sizes)
            finally:
                for server in servers:
                    self.stop_server(server)

        by_name = {row["name"]: row for row in scenarios}
        for row in [*scenarios, *cached]:
            base_name = row["name"].removesuffix("_cached")
            floor = FLOOR_OF.get(base_name)
            if row["name"] in self.pair_ratio and floor:
                row["ratio_to_floor"] = self.pair_ratio[row["name"]]
            elif floor and by_name.get(floor) and by_name[floor]["rps"]:
                row["ratio_to_floor"] = round(row["rps"] / by_name[floor]["rps"], 3)
        for floor in FLOOR_OF.values():
            if floor in by_name:
                by_name[floor]["ratio_to_floor"] = 1.0
        # The same comparison in server CPU per request (floor CPU / API CPU): less noisy than req/s.
        for api, floor in FLOOR_OF.items():
            a, f = self.details.get(api, {}), self.details.get(floor, {})
            if a.get("server_cpu_ms_per_request") and f.get("server_cpu_ms_per_request"):
                a["cpu_ratio_to_floor"] = round(f["server_cpu_ms_per_request"] / a["server_cpu_ms_per_request"], 3)
        scenarios.sort(key=_canonical_position)

        result = {
            "meta": self.meta(main_db, plan),
            "scenarios": scenarios,
            "cached_scenarios": cached,
            "contention": contention_result,
            "size_comparison": _size_comparison(by_name, sizes),
            "details": self.details,
            "query_counts": plan["query_counts"],
            "notes": self.notes,
        }
        result["targets"] = _targets(by_name, result)
        result["meta"]["elapsed_s"] = round(time.monotonic() - started, 1)
        # Other processes on the machine take CPU from the server; the figures are as steady as this was.
        result["meta"]["machine"]["load_average_end"] = round(os.getloadavg()[0], 2)
        result["meta"]["machine"]["summary"] += f", {result['meta']['machine']['load_average_end']:.2f} at the end"
        return result

    def meta(self, db: Database, plan: dict) -> dict:
        args = self.args
        cpu = _cpu_model()
        wrk_version = subprocess.run([self.wrk_path, "-v"], capture_output=True, text=True).stdout.split("\n")[0]
        gunicorn_conf = (REPO / "gunicorn.conf.py").exists()
        return {
            "date": self.started_at.isoformat(timespec="seconds"),
            "machine": {
                "summary": f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
                f"Python {platform.python_version()}, load average {self.load_at_start:.2f} at start",
                "cpu": cpu,
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "load_average_start": round(self.load_at_start, 2),
            },
            "database": db.describe(),
            "database_name": db.name,
            "products": args.products,
            "workers": args.workers,
            "server": {
                "summary": f"{args.workers} {args.worker_class} workers"
                + (f" x {args.threads} threads" if args.worker_class == "gthread" else "")
                + f", {args.settings} (prod + floor views), catalog cache off"
                + (", gunicorn.conf.py loaded" if gunicorn_conf else ""),
                "worker_class": args.worker_class,
                "threads": args.threads if args.worker_class == "gthread" else 1,
                "settings": args.settings,
                "catalog_cache_seconds": 0,
                "cached_run_seconds": args.cached_seconds if args.cached else None,
                "gunicorn_conf_py": gunicorn_conf,
                "max_requests": args.max_requests,
                "extra_args": args.gunicorn_arg,
            },
            "tool": {
                "summary": f"{wrk_version.split(' Copyright')[0]}, 1 thread, {args.connections} connections, "
                f"{args.duration:g} s per scenario",
                "name": "wrk",
                "version": wrk_version,
                "threads": 1,
                "connections": args.connections,
                "duration_s": args.duration,
            },
            "mode": "quick" if args.quick else "full",
            "queries_per_request": "counted in-process (django.test.Client + CaptureQueriesContext), same DB and "
            "settings as the server, second call of each scenario's first request",
            "request_pools": plan["sizes"],
            "floor_matches_api": plan.get("floor_matches_api", {}),
        }


def _contention_row(race: dict) -> dict:
    return {
        "name": "contention",
        "rps": round(race["buyers"] / race["duration_s"], 1) if race["duration_s"] else 0.0,
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": round(race["duration_s"] * 1000, 1),
        "errors": race["other"] + (abs(race["created"] - race["initial_stock"])) + race["db"]["oversold_units"],
        "queries_per_request": None,
        "ratio_to_floor": None,
    }


def _size_comparison(by_name: dict, sizes: list[int]) -> list[dict]:
    if len(sizes) < 2:
        return []
    small, large = min(sizes), max(sizes)
    out = []
    for name in SIZE_SCENARIOS:
        a, b = by_name.get(f"{name}_{size_label(small)}"), by_name.get(f"{name}_{size_label(large)}")
        if not a or not b or not a["p50_ms"] or not a["rps"]:
            continue
        out.append(
            {
                "scenario": name,
                "small": small,
                "large": large,
                "p50_small_ms": a["p50_ms"],
                "p50_large_ms": b["p50_ms"],
                "p50_ratio": round(b["p50_ms"] / a["p50_ms"], 3),
                "rps_ratio": round(b["rps"] / a["rps"], 3),
            }
        )
    return out


def _targets(by_name: dict, result: dict) -> list[dict]:
    targets = []

    def ratio_target(name, minimum):
        row = by_name.get(name)
        value = row and row["ratio_to_floor"]
        targets.append(
            {
                "target": f"{name} throughput >= {minimum} of the floor",
                "measured": f"{value:.2f}" if value is not None else "-",
                "met": (value >= minimum) if value is not None else None,
            }
        )

    ratio_target("product_list", 0.8)
    ratio_target("product_detail", 0.85)
    for item in result["size_comparison"]:
        targets.append(
            {
                "target": f"{item['scenario']} p50 at {item['large']:,} <= 1.5 x p50 at {item['small']:,}",
                "measured": f"x{item['p50_ratio']:.2f}",
                "met": item["p50_ratio"] <= 1.5,
            }
        )
    race = result.get("contention")
    if race:
        ok = (
            race["created"] == race["initial_stock"]
            and race["conflicts"] == race["buyers"] - race["initial_stock"]
            and race["other"] == 0
            and race["db"]["oversold_units"] == 0
            and race["db"]["units_lost"] == 0
            and race["db"]["stock_after"] == 0
        )
        targets.append(
            {
                "target": "contention: exactly 10 orders, 90 clean 409s, no 5xx, stock 0, nothing oversold",
                "measured": f"{race['created']} orders, {race['conflicts']} 409s, {race['other']} other, stock "
                f"{race['db']['stock_after']}, oversold {race['db']['oversold_units']}",
                "met": ok,
            }
        )
    return targets


def _canonical_position(row: dict) -> tuple:
    name = row["name"]
    if name in ORDER:
        return (0, ORDER.index(name), 0)
    if name == "contention":
        return (3, 0, 0)
    scenario, _, label = name.rpartition("_")
    number = float(label[:-1]) * 1000 if label.endswith("k") else float(label or 0)
    return (1, SIZE_SCENARIOS.index(scenario) if scenario in SIZE_SCENARIOS else 9, number)


def _workers_cpu_seconds(master_pid: int | None) -> dict[int, float] | None:
    """User + system CPU seconds of each child of the gunicorn master (Linux /proc), or None."""
    if master_pid is None:
        return None
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = {}
        for pid in children:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu[int(pid)] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (stat fields 14, 15)
        return cpu
    except (OSError, ValueError, IndexError):
        return None


def _cpu_delta(before: dict | None, after: dict | None) -> float | None:
    """CPU spent by the workers in between; None when a worker was replaced (its CPU time is lost)."""
    if not before or not after or set(before) != set(after):
        return None
    return sum(after[pid] - before[pid] for pid in before)


def _rps(raw: dict) -> float:
    return raw["requests"] / (raw["duration_us"] / 1e6) if raw["duration_us"] else 0.0


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _prune_run_dirs() -> None:
    runs = sorted(RESULTS.glob("run-*"))
    for old in runs[:-KEEP_RUN_DIRS]:
        shutil.rmtree(old, ignore_errors=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="NovaCart load benchmark. DATABASE_URL=postgres://... selects PostgreSQL "
        "(databases <name>_<size> are created), otherwise SQLite files under bench/results/.",
    )
    parser.add_argument("--quick", action="store_true", help="short run (< 3 min): 2,000 products, 1k/20k sizes")
    parser.add_argument("--products", type=int, help="catalog size of the main run (default 10,000; quick 2,000)")
    parser.add_argument(
        "--sizes", help="comma-separated catalog sizes for the size comparison (default 1000,100000; quick 1000,20000)"
    )
    parser.add_argument("--no-sizes", action="store_true", help="skip the size comparison")
    parser.add_argument("--duration", type=float, help="seconds per scenario (default 12; quick 5)")
    parser.add_argument("--rounds", type=int, help="alternating slices for compared scenarios (default 3; quick 2)")
    parser.add_argument("--warmup", type=float, help="seconds of unrecorded warm-up per server (default 3; quick 2)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (default 4 = 2 per worker)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=2, help="threads per worker with --worker-class gthread")
    parser.add_argument(
        "--max-requests", type=int, default=0, help="gunicorn --max-requests (default 0: no recycling during the bench)"
    )
    parser.add_argument("--gunicorn-arg", action="append", default=[], help="extra gunicorn flag (repeatable)")
    parser.add_argument("--buyers", type=int, help="checkout buyers with full carts (default 4,000; quick 1,500)")
    parser.add_argument(
        "--cached",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="extra run with the catalog cache on (default: on, off with --quick)",
    )
    parser.add_argument("--cached-seconds", type=int, default=60)
    parser.add_argument("--redis-url", default="", help="cache on Redis instead of local memory")
    parser.add_argument("--log-level", default="WARNING", help="the app's LOG_LEVEL (default WARNING)")
    parser.add_argument(
        "--settings",
        default="novacart.settings.bench",
        help="Django settings module for the server and the query counts (to try a settings change before "
        "proposing it; it must import novacart.settings.bench, which mounts the floor views)",
    )
    parser.add_argument("--only", nargs="+", help="run only these main scenarios (no cached/size runs)")
    parser.add_argument("--fresh", action="store_true", help="drop and rebuild the bench databases first")
    args = parser.parse_args(argv)
    args.products = args.products or (2_000 if args.quick else 10_000)
    if args.no_sizes:
        args.sizes = []
    else:
        raw = args.sizes or ("1000,20000" if args.quick else "1000,100000")
        args.sizes = sorted({int(x) for x in raw.split(",") if x.strip()})
    args.duration = args.duration or (5.0 if args.quick else 12.0)
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.warmup = args.warmup or (2.0 if args.quick else 3.0)
    args.buyers = args.buyers or (1_500 if args.quick else 4_000)
    if args.cached is None:
        args.cached = not args.quick
    return args


def main(argv=None) -> int:
    args = parse_args(argv)

    def _terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    bench = Bench(args)
    try:
        result = bench.run()
    except BenchError as exc:
        log(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        log("interrupted; everything the bench started has been stopped")
        return 130
    finally:
        bench.procs.stop_all()
    json_path = report.write_json(result, RESULTS, bench.stamp)
    chart = report.write_chart(result, RESULTS, bench.stamp)
    print(report.markdown(result))
    log(f"JSON: {json_path} (and bench/results/latest.json)")
    if chart:
        log(f"chart: {chart} (and bench/results/latest.png)")
    else:
        log("chart skipped: matplotlib is not installed (make install-dev)")
    return 0
