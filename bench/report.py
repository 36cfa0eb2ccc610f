"""``make bench``: run every benchmark, then write ``bench/results.md`` (their tables, with the machine's core count
and the date) and one PNG chart per benchmark in ``bench/charts/``.

    .venv/bin/python bench/report.py [--only sse scheduler ...] [--quick]

Each benchmark is its own script, run as a child process one after the other (they must not share the cores), and
hands its rows back through ``PREQUEL_BENCH_OUT`` (see results_file.py); they are kept in ``bench/results/`` so
that ``--only`` re-runs some and keeps the others' last figures. ``--quick`` runs small sizes to check the pipeline,
and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

BENCH = Path(__file__).resolve().parent
CHARTS = BENCH / "charts"
#: each benchmark's last rows (committed): a run of some benchmarks re-renders the page with the others' last rows
RECORDS = BENCH / "results"

Rows = list[dict[str, Any]]

#: benchmark (bench/<name>.py) -> (full arguments, quick arguments)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "overhead": (["--runs", "5"], ["--runs", "1"]),
    "api": (["--seconds", "10", "--concurrency", "16"], ["--seconds", "2", "--concurrency", "4"]),
    "scheduler": (["--pending", "10000", "100000"], ["--pending", "1000", "--due", "20", "--window", "3"]),
    "sse": (["--clients", "1000", "5000", "10000"], ["--clients", "100", "--events", "3"]),
    "crowd": (["--creates", "50"], ["--creates", "3"]),
}
SCRIPTS = {
    "overhead": "overhead.py",
    "api": "api.py",
    "scheduler": "scheduler.py",
    "sse": "sse.py",
    "crowd": "crowd.py",
}


def _bars(ax: Any, labels: list[str], series: dict[str, list[float]]) -> None:
    width = 0.8 / max(1, len(series))
    for n, (name, values) in enumerate(series.items()):
        ax.bar([i + n * width for i in range(len(labels))], values, width, label=name)
    ax.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(labels))], labels)
    if len(series) > 1:
        ax.legend()


def chart_overhead(rows: Rows, ax: Any) -> None:
    _bars(ax, [r["what"].split(" (")[0].replace(", ", ",\n") for r in rows], {"seconds": [r["seconds"] for r in rows]})
    ax.set_ylabel("median seconds")
    ax.tick_params(axis="x", labelsize=7)


def chart_api(rows: Rows, ax: Any) -> None:
    _bars(ax, [r["endpoint"].split(":")[0] for r in rows], {"requests per second": [r["rps"] for r in rows]})
    ax.set_ylabel("requests per second")


def chart_scheduler(rows: Rows, ax: Any) -> None:
    labels = [f"{r['pending']:,} pending" for r in rows]
    _bars(ax, labels, {k: [r[k] for r in rows] for k in ("p50", "p99", "max")})
    ax.axhline(1000, color="red", linestyle="--", linewidth=1, label="target p99")
    ax.legend()
    ax.set_ylabel("lateness, ms")


def chart_sse(rows: Rows, ax: Any) -> None:
    labels = [f"{r['clients']:,} clients" for r in rows]
    _bars(ax, labels, {k: [r[k] for r in rows] for k in ("p50_ms", "p99_ms") if k in rows[0]})
    ax.axhline(200, color="red", linestyle="--", linewidth=1, label="target p99")
    ax.legend()
    ax.set_ylabel("broadcast delivery latency, ms")


def chart_crowd(rows: Rows, ax: Any) -> None:
    keys = ("first_s", "p50_s", "p90_s", "last_s")
    _bars(ax, [r["what"] for r in rows], {k.removesuffix("_s"): [r[k] for r in rows] for k in keys})
    ax.set_ylabel("seconds after the creates were posted")


CHARTERS: dict[str, Callable[[Rows, Any], None]] = {
    "overhead": chart_overhead,
    "api": chart_api,
    "scheduler": chart_scheduler,
    "sse": chart_sse,
    "crowd": chart_crowd,
}


def run(name: str, quick: bool, out: Path) -> dict[str, Any] | None:
    full, small = BENCHMARKS[name]
    command = [sys.executable, str(BENCH / f"{name}.py"), *(small if quick else full)]
    print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    done = subprocess.run(command, env={**os.environ, "PREQUEL_BENCH_OUT": str(out)}, check=False)
    result = out / f"{name}.json"
    if done.returncode != 0 or not result.exists():
        print(f"=== {name} failed (exit code {done.returncode})", flush=True)
        return None
    record: dict[str, Any] = json.loads(result.read_text())
    record["elapsed_s"] = time.monotonic() - started
    record["date"] = f", {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores"
    return record


def chart(record: dict[str, Any]) -> Path:
    CHARTS.mkdir(exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    CHARTERS[record["name"]](record["rows"], ax)
    ax.set_title(record["title"], fontsize=9)
    fig.tight_layout()
    path = CHARTS / f"{record['name']}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def render(records: list[dict[str, Any]], failed: list[str]) -> str:
    parts = [
        "# Benchmark results\n\n",
        f"Written by `make bench` (`bench/report.py`) on {time.strftime('%Y-%m-%d')}: {os.cpu_count()} cores, "
        f"{_memory_gib()} GiB. The load generators run on the same cores as the system under test, so the figures "
        "are conservative. Each section names the command that reproduces it, the run's length, date and cores; "
        "`bench/report.py --only NAME` re-runs one benchmark and keeps the others' last figures.\n",
    ]
    for record in records:
        took = f"{record['elapsed_s']:.0f} s{record.get('date', '')}"
        parts.append(f"\n## {record['title']}\n\n`.venv/bin/python {record['command']}` ({took})\n")
        parts.append(f"\n{record['table']}\n")
        if record["notes"]:
            parts.append(f"\n{record['notes']}\n")
        parts.append(f"\n![{record['name']}](charts/{record['name']}.png)\n")
    if failed:
        parts.append(f"\n## Not measured in this run\n\n{', '.join(failed)}: the benchmark failed; see its output.\n")
    return "".join(parts)


def _memory_gib() -> int:
    with open("/proc/meminfo") as meminfo:
        return round(int(meminfo.readline().split()[1]) / 1024 / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--render", action="store_true", help="run nothing: write results.md from the kept rows")
    parser.add_argument("--output", type=Path, default=BENCH / "results.md")
    args = parser.parse_args()
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-results-") as out:
        for name in [] if args.render else args.only:
            record = run(name, args.quick, Path(out))
            if record is None:
                failed.append(name)
                continue
            if not args.quick:
                RECORDS.mkdir(exist_ok=True)
                (RECORDS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
                print(f"chart: {chart(record)}", flush=True)
    if args.quick:
        print("quick run: results.md, charts and records left as they were")
        return
    records = [
        json.loads((RECORDS / f"{name}.json").read_text()) for name in BENCHMARKS if (RECORDS / f"{name}.json").exists()
    ]
    args.output.write_text(render(records, failed))
    print(f"\nwrote {args.output}")
    if failed:
        raise SystemExit(f"benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
