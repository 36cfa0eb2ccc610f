"""How each benchmark hands its results to ``bench/report.py`` (``make bench``): it prints its table as before and,
when ``PREQUEL_BENCH_OUT`` names a folder, also writes ``<name>.json`` there (title, command, table, rows, notes)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


def emit(name: str, *, title: str, command: str, table: str, rows: list[dict[str, Any]], notes: str = "") -> None:
    heading = f"\n{title} — {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}\n"
    print(heading)
    print(table)
    if notes:
        print(f"\n{notes}")
    out = os.environ.get("PREQUEL_BENCH_OUT")
    if out:
        record = {"name": name, "title": title, "command": command, "table": table, "rows": rows, "notes": notes}
        Path(out, f"{name}.json").write_text(json.dumps(record, indent=2))


def markdown_table(header: list[str], align: list[str], body: list[list[str]]) -> str:
    """A markdown table; ``align`` holds ``l`` or ``r`` per column."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)
