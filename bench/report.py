"""Turning measurements into the three outputs: a Markdown table, a JSON file, a PNG chart."""

import json
import shutil
from pathlib import Path

SCENARIO_KEYS = ("name", "rps", "p50_ms", "p95_ms", "p99_ms", "errors", "queries_per_request", "ratio_to_floor")


def _fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(result: dict) -> str:
    meta = result["meta"]
    lines = [
        f"NovaCart bench, {meta['date']}: {meta['machine']['summary']}",
        f"Database: {meta['database']}, {meta['products']:,} products; gunicorn {meta['server']['summary']}; "
        f"load: {meta['tool']['summary']}",
        "",
        "| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | queries/req | ratio to floor "
        "| server CPU ms/req | CPU ratio to floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    details = result.get("details", {})
    for row in result["scenarios"]:
        label = row["name"]
        detail = details.get(label, {})
        if row["name"] == "contention":
            label = "contention (race of 100; p99 = whole race)"
        lines.append(
            f"| {label} | {_fmt(row['rps'])} | {_fmt(row['p50_ms'])} | {_fmt(row['p95_ms'])} | {_fmt(row['p99_ms'])} "
            f"| {_fmt(row['errors'])} | {_fmt(row['queries_per_request'])} | {_fmt(row['ratio_to_floor'], 2)} "
            f"| {_fmt(detail.get('server_cpu_ms_per_request'), 2)} | {_fmt(detail.get('cpu_ratio_to_floor'), 2)} |"
        )
    if result.get("cached_scenarios"):
        lines += [
            "",
            f"With the catalog response cache on (CATALOG_CACHE_SECONDS={meta['server']['cached_run_seconds']}, "
            "per-worker local-memory cache), same floor:",
            "",
            "| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | ratio to floor |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for row in result["cached_scenarios"]:
            lines.append(
                f"| {row['name']} | {_fmt(row['rps'])} | {_fmt(row['p50_ms'])} | {_fmt(row['p95_ms'])} "
                f"| {_fmt(row['p99_ms'])} | {_fmt(row['errors'])} | {_fmt(row['ratio_to_floor'], 2)} |"
            )
    contention = result.get("contention")
    if contention:
        lines += [
            "",
            f"Contention: {contention['buyers']} buyers, stock {contention['initial_stock']}: "
            f"{contention['created']} orders (201), {contention['conflicts']} conflicts (409 "
            f"{', '.join(f'{k}={v}' for k, v in contention['conflict_codes'].items()) or '-'}), "
            f"{contention['other']} other, in {contention['duration_s']:.2f} s; database after: stock "
            f"{contention['db'].get('stock_after')}, sold {contention['db'].get('units_sold')}, "
            f"oversold {contention['db'].get('oversold_units')}, lost {contention['db'].get('units_lost')}.",
        ]
    if result.get("size_comparison"):
        lines += ["", "Catalog size (same URLs, same load):", ""]
        for item in result["size_comparison"]:
            lines.append(
                f"- {item['scenario']}: p50 {_fmt(item['p50_small_ms'])} ms at {item['small']:,} products, "
                f"{_fmt(item['p50_large_ms'])} ms at {item['large']:,}: x{_fmt(item['p50_ratio'], 2)}; "
                f"req/s x{_fmt(item['rps_ratio'], 2)}"
            )
    if result.get("targets"):
        lines += ["", "| target | measured | met |", "|---|---|---|"]
        for target in result["targets"]:
            met = {True: "yes", False: "**no**", None: "n/a"}[target["met"]]
            lines.append(f"| {target['target']} | {target['measured']} | {met} |")
    for note in result.get("notes", []):
        lines.append(f"\nNote: {note}")
    return "\n".join(lines)


def write_json(result: dict, results_dir: Path, stamp: str) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"bench-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    shutil.copyfile(path, results_dir / "latest.json")
    return path


def write_chart(result: dict, results_dir: Path, stamp: str) -> Path | None:
    """Two panels side by side: throughput and p99 latency per scenario, floor bars in grey."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    # Each floor bar right under the API bar it is compared with.
    rows = []
    for row in result["scenarios"]:
        if row["name"] == "contention" or row["name"].startswith("floor_"):
            continue
        rows.append(row)
        floor = {"product_list": "floor_list", "product_detail": "floor_detail"}.get(row["name"])
        rows += [r for r in result["scenarios"] if r["name"] == floor]
    rows += [{**r, "name": r["name"]} for r in result.get("cached_scenarios", [])]
    names = [r["name"] for r in rows]
    colours = ["#9e9e9e" if n.startswith("floor") else "#f2a541" if n.endswith("_cached") else "#3b7dd8" for n in names]
    height = max(4.0, 0.38 * len(rows) + 1.5)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, height), sharey=True)
    positions = range(len(rows))
    left.barh(positions, [r["rps"] or 0 for r in rows], color=colours)
    left.set_yticks(list(positions), names)
    left.invert_yaxis()
    left.set_xlabel("requests per second (higher is better)")
    for pos, row in zip(positions, rows, strict=True):
        label = _fmt(row["rps"], 0)
        if row.get("ratio_to_floor") is not None and not row["name"].startswith("floor"):
            label += f"  ({row['ratio_to_floor']:.2f} of floor)"
        left.text(row["rps"] or 0, pos, " " + label, va="center", fontsize=8)
    right.barh(positions, [r["p99_ms"] or 0 for r in rows], color=colours)
    right.set_xlabel("p99 latency, ms (lower is better)")
    for pos, row in zip(positions, rows, strict=True):
        right.text(row["p99_ms"] or 0, pos, " " + _fmt(row["p99_ms"]), va="center", fontsize=8)
    for axis in (left, right):
        axis.margins(x=0.25)
        axis.grid(axis="x", alpha=0.3)
    meta = result["meta"]
    fig.suptitle(
        f"NovaCart bench {meta['date'][:16]} - {meta['database']}, {meta['products']:,} products, "
        f"{meta['workers']} workers - grey: floor, orange: cached",
        fontsize=10,
    )
    fig.tight_layout()
    path = results_dir / f"bench-{stamp}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    shutil.copyfile(path, results_dir / "latest.png")
    return path
