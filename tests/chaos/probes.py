"""What the chaos scenarios watch: a browser-like SSE client that resumes by Last-Event-ID, a deadline watchdog, and
looks at the machine itself (IDE processes, Terraform states) rather than at what the services say."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import connect_sse
from prequel_common import bus
from prequel_common.subjects import EVENTS_STREAM

#: events the gateway makes per client, without an id of the events stream
_UNNUMBERED = frozenset({"connection", "heartbeat", "operation_status", "resync", "reconnect"})


class ResumingSseClient:
    """Reads /api/events like a browser's EventSource: on any disconnect it reconnects after a short wait and sends
    the id of the last event it saw (``Last-Event-ID``). Keeps every event with an id, in arrival order."""

    def __init__(self, base_url: str, token: str, after: int) -> None:
        self._url = f"{base_url}/api/events"
        self._token = token
        self.last_id = after
        self.ids: list[int] = []
        self.log: list[tuple[int, str, str]] = []
        self.types: dict[int, str] = {}
        self.reconnects = 0
        self.resyncs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ResumingSseClient:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with (
                    httpx.Client(timeout=httpx.Timeout(10.0, read=15.0)) as client,
                    connect_sse(
                        client,
                        "GET",
                        self._url,
                        params={"access_token": self._token},
                        headers={"Last-Event-ID": str(self.last_id)},
                    ) as source,
                ):
                    if source.response.status_code != 200:
                        raise ConnectionError(f"status {source.response.status_code}")
                    for event in source.iter_sse():
                        if self._stop.is_set():
                            return
                        data = json.loads(event.data) if event.data else {}
                        if data.get("type") == "resync":
                            self.resyncs += 1
                        # the decoder carries the last id over to events sent without one (the spec's
                        # lastEventId): count only the stream's own events
                        if event.id and data and data.get("type") not in _UNNUMBERED:
                            seq = int(event.id)
                            self.log.append((seq, data.get("type", ""), event.data[:300]))
                            self.ids.append(seq)
                            self.types[seq] = data.get("type", "")
                            self.last_id = seq
            except Exception:
                pass  # the gateway went away, or the front door answered 502: reconnect like a browser
            if not self._stop.is_set():
                self.reconnects += 1
                time.sleep(0.5)

    def wait_until_seen(self, seq: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.last_id < seq:
            time.sleep(0.1)
        assert self.last_id >= seq, f"the client saw events up to {self.last_id}, the stream has {seq}"


async def _stream_last_seq(nats_url: str) -> int:
    nc = await bus.connect(nats_url, "chaos-inspector")
    try:
        info = await nc.jetstream().stream_info(EVENTS_STREAM)
        return int(info.state.last_seq)
    finally:
        await bus.close(nc)


def stream_last_seq(nats_url: str) -> int:
    return asyncio.run(_stream_last_seq(nats_url))


def assert_lossless(client: ResumingSseClient, since: int, until: int) -> None:
    """Every event of the stream with ``since < seq <= until`` reached the client exactly once, in order."""
    seen = [seq for seq in client.ids if since < seq <= until]
    expected = list(range(since + 1, until + 1))
    assert client.resyncs == 0, "the client had to reload instead of resuming"
    assert seen == expected, (
        f"{[entry for entry in client.log if client.ids.count(entry[0]) > 1]} "
        f"missing {sorted(set(expected) - set(seen))[:20]}, "
        f"duplicated {[s for s in set(seen) if seen.count(s) > 1][:20]}, reconnects {client.reconnects}"
    )


@dataclass
class DeadlineWatchdog:
    """Polls the interviews once a second: records any that is not destroyed 2 minutes after its auto-destroy time,
    and any IDE process still serving a workspace past that point."""

    base_url: str
    token: str
    workspaces: Path
    margin: timedelta = timedelta(minutes=2)
    violations: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> DeadlineWatchdog:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.token}"}) as http:
            while not self._stop.wait(1.0):
                try:
                    interviews = http.get("/api/interviews", timeout=5).json()["interviews"]
                except Exception:
                    continue  # a service is down right now: that is what the scenarios do
                now = datetime.now(UTC)
                alive = ide_processes(self.workspaces)
                for interview in interviews:
                    due = datetime.fromisoformat(interview["autoDestroyAt"].replace("Z", "+00:00")) + self.margin
                    if now <= due:
                        continue
                    if interview["status"] != "destroyed":
                        self.violations.append(f"{interview['id']} is {interview['status']} past its deadline")
                    if interview["id"] in alive:
                        self.violations.append(f"{interview['id']} still has an IDE process past its deadline")


def ide_sessions(workspaces: Path) -> dict[str, set[int]]:
    """The IDEs serving a workspace, by interview id: each IDE runs in a session of its own, with its helpers (a
    JupyterLab runs ``npm`` now and then), so one IDE is one session id however many processes it has."""
    sessions: dict[str, set[int]] = {}
    for interview_id, pids in ide_processes(workspaces).items():
        for pid in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            sessions.setdefault(interview_id, set()).add(int(stat.rsplit(")", 1)[1].split()[3]))
    return sessions


def ide_processes(workspaces: Path) -> dict[str, list[int]]:
    """Live processes serving a workspace under ``workspaces``, by interview id (read from /proc, not pid files)."""
    root = str(workspaces.resolve())
    found: dict[str, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace").replace("\0", " ")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        for text in (cwd, cmdline):
            if root + "/" in text:
                interview_id = text.split(root + "/", 1)[1].split("/", 1)[0].split(" ", 1)[0]
                found.setdefault(interview_id, []).append(int(entry.name))
                break
    return found


def states_with_resources(terraform_root: Path) -> list[str]:
    """Interview ids whose local Terraform state still holds resources."""
    left = []
    for state in terraform_root.glob("*/terraform.tfstate"):
        try:
            resources: list[Any] = json.loads(state.read_text()).get("resources", [])
        except (OSError, ValueError):
            continue
        if resources:
            left.append(state.parent.name)
    return left
