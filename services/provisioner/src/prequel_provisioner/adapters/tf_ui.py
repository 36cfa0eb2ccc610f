"""Terraform's machine-readable UI (``-json``), one line at a time, into human log lines.

See https://developer.hashicorp.com/terraform/internals/machine-readable-ui. Lines that are not JSON are kept as
they are; diagnostics are expanded into readable lines; the access URL is picked from the ``outputs`` message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# messages that say nothing to a person following a run
_QUIET_TYPES = {"version"}
_QUIET_MESSAGES = ("(output suppressed due to sensitive value in config)",)


@dataclass
class UiLine:
    level: str
    messages: list[str]
    outputs: dict[str, str] = field(default_factory=dict)
    #: resource address -> seconds, from ``apply_complete`` hooks
    timings: dict[str, float] = field(default_factory=dict)


def parse_line(raw: str) -> UiLine:
    raw = raw.rstrip("\n")
    try:
        data = json.loads(raw)
    except ValueError:
        return UiLine("info", [raw] if raw.strip() else [])
    if not isinstance(data, dict):
        return UiLine("info", [raw])
    level = str(data.get("@level", "info"))
    kind = data.get("type")
    if kind in _QUIET_TYPES:
        return UiLine(level, [])
    if kind == "diagnostic":
        return UiLine(level, _diagnostic(data.get("diagnostic") or {}))
    outputs: dict[str, str] = {}
    if kind == "outputs":
        for name, out in (data.get("outputs") or {}).items():
            if isinstance(out, dict) and not out.get("sensitive") and isinstance(out.get("value"), str):
                outputs[name] = out["value"]
    timings: dict[str, float] = {}
    hook = data.get("hook")
    if kind == "apply_complete" and isinstance(hook, dict) and isinstance(hook.get("resource"), dict):
        timings[str(hook["resource"].get("addr"))] = float(hook.get("elapsed_seconds") or 0)
    message = str(data.get("@message", "")).strip()
    if message.endswith(_QUIET_MESSAGES):
        return UiLine(level, [], outputs, timings)
    return UiLine(level, [message] if message else [], outputs, timings)


def _diagnostic(diag: dict[str, object]) -> list[str]:
    severity = str(diag.get("severity", "error")).capitalize()
    lines = [f"{severity}: {diag.get('summary', '')}".rstrip()]
    detail = str(diag.get("detail") or "").strip()
    lines += [f"  {line}" for line in detail.splitlines() if line.strip()]
    rng = diag.get("range")
    if isinstance(rng, dict) and rng.get("filename"):
        start = rng.get("start") if isinstance(rng.get("start"), dict) else {}
        lines.append(f"  at {rng['filename']}:{start.get('line', '?') if isinstance(start, dict) else '?'}")
    return lines
