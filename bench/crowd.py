"""Many interviews at once: N creates posted together through the whole system, each to `active`, then all
destroyed together.

    .venv/bin/python bench/crowd.py [--creates 50] [--provisioners 2]

The stack runs as `make run` runs it, with the real local module (a JupyterLab per interview). Prints, for the
creates and for the destroys, the time until the first, the median, the p90 and the last interview got there, and
the peak of operations running at once.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results_file import emit, markdown_table
from stack import Stack, free_port, running_stack

TOKEN = "bench-token-0123456789abcdef"


def _until(http, ids: list[str], status: str, timeout_s: float) -> tuple[dict[str, float], int]:  # type: ignore[no-untyped-def]
    """Seconds until each interview reached ``status``, and the peak of running operations seen meanwhile."""
    started, reached, peak = time.monotonic(), {}, 0
    while len(reached) < len(ids) and time.monotonic() - started < timeout_s:
        now = time.monotonic() - started
        for interview in http.get("/api/interviews").json()["interviews"]:
            if interview["id"] in ids and interview["id"] not in reached and interview["status"] in (status, "error"):
                reached[interview["id"]] = now if interview["status"] == status else float("nan")
        running = [o for o in http.get("/api/operations").json()["operations"] if o["status"] == "running"]
        peak = max(peak, len(running))
        time.sleep(0.25)
    return reached, peak


def _summary(what: str, reached: dict[str, float], total: int, peak: int) -> dict[str, object]:
    times = sorted(t for t in reached.values() if t == t)  # NaN: ended in error
    return {
        "what": what,
        "ok": len(times),
        "total": total,
        "first_s": times[0] if times else float("nan"),
        "p50_s": statistics.median(times) if times else float("nan"),
        "p90_s": times[max(0, int(len(times) * 0.9) - 1)] if times else float("nan"),
        "last_s": times[-1] if times else float("nan"),
        "peak_running": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=50)
    parser.add_argument("--provisioners", type=int, default=2)
    args = parser.parse_args()
    overrides = {
        "PREQUEL_LOG_LEVEL": "WARNING",
        "PREQUEL_RATE_LIMIT_CREATES_PER_MINUTE": "100000",
        "PREQUEL_RATE_LIMIT_QUERIES_PER_MINUTE": "100000000",
        "PREQUEL_READY_TIMEOUT_S": "600",
    }
    stack = Stack(
        data_dir=Path(tempfile.mkdtemp(prefix="bench-concurrent-")),
        tokens=f"bench:{TOKEN}",
        front_port=free_port(),
        env_overrides=overrides,
        provisioners=args.provisioners,
    )
    body = {"candidateName": "Crowd", "challenge": "python", "autoDestroyMinutes": 30}
    with running_stack(stack), stack.client() as http:
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.creates) as pool:

            def post(_: int) -> str:
                with stack.client() as own:
                    return str(own.post("/api/interviews/create", json=body).json()["interviewId"])

            def destroy(interview_id: str) -> int:
                with stack.client() as own:
                    return own.post(f"/api/interviews/{interview_id}/destroy").status_code

            ids = list(pool.map(post, range(args.creates)))
        created, created_peak = _until(http, ids, "active", timeout_s=900)
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.creates) as pool:
            list(pool.map(destroy, ids))
        destroyed, destroyed_peak = _until(http, ids, "destroyed", timeout_s=900)
    rows = [
        _summary("create -> active", created, args.creates, created_peak),
        _summary("destroy -> destroyed", destroyed, args.creates, destroyed_peak),
    ]
    table = markdown_table(
        ["what", "reached", "first s", "p50 s", "p90 s", "last s", "peak running"],
        ["l"] + ["r"] * 6,
        [
            [
                str(r["what"]),
                f"{r['ok']}/{r['total']}",
                *(f"{r[k]:.1f}" for k in ("first_s", "p50_s", "p90_s", "last_s")),
                str(r["peak_running"]),
            ]
            for r in rows
        ],
    )
    emit(
        "crowd",
        title=f"{args.creates} concurrent creates, {args.provisioners} provisioners x 4 runs each",
        command=f"bench/crowd.py --creates {args.creates} --provisioners {args.provisioners}",
        table=table,
        rows=rows,
        notes=(
            "Times from the moment the last request of the phase (all creates, then all destroys) was answered. "
            "Each interview is a real JupyterLab process."
        ),
    )


if __name__ == "__main__":
    main()
