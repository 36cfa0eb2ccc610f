"""A test SSE client: reads /api/events in a thread and keeps every event it saw."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import connect_sse


@dataclass
class Seen:
    id: str
    data: dict[str, Any]


class SseClient:
    def __init__(self, base_url: str, token: str, path: str = "/api/events", last_event_id: str | None = None) -> None:
        self.events: list[Seen] = []
        self.retry: int | None = None
        self.error: BaseException | None = None
        # the path's own query travels in params (httpx would replace it), with the token
        url = httpx.URL(f"{base_url}{path}")
        self._url = str(url.copy_with(query=None))
        self._params = {**dict(url.params), "access_token": token}
        self._headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.response_headers: dict[str, str] = {}

    def __enter__(self) -> SseClient:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as client,
                connect_sse(client, "GET", self._url, params=self._params, headers=self._headers) as source,
            ):
                self.response_headers = dict(source.response.headers)
                for event in source.iter_sse():
                    if event.retry is not None:
                        self.retry = event.retry
                    if event.data:
                        with self._lock:
                            self.events.append(Seen(event.id, json.loads(event.data)))
                    if self._stop.is_set():
                        return
        except BaseException as exc:  # surfaced by wait_for
            if not self._stop.is_set():
                self.error = exc

    def snapshot(self) -> list[Seen]:
        with self._lock:
            return list(self.events)

    def wait_for(self, predicate: Callable[[Seen], bool], timeout_s: float = 60.0) -> Seen:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for seen in self.snapshot():
                if predicate(seen):
                    return seen
            if self.error is not None:
                raise AssertionError(f"SSE stream failed: {self.error!r}")
            time.sleep(0.05)
        types = [s.data.get("type") for s in self.snapshot()]
        raise AssertionError(f"no matching SSE event within {timeout_s}s; saw {types}")

    def interview_statuses(self, interview_id: str) -> list[str]:
        return [
            s.data["interview"]["status"]
            for s in self.snapshot()
            if s.data.get("type") == "interview_update" and s.data["interview"]["id"] == interview_id
        ]

    def operation_statuses(self, operation_id: str) -> list[str]:
        return [
            s.data["operation"]["status"]
            for s in self.snapshot()
            if s.data.get("type") == "operation_update" and s.data["operation"]["id"] == operation_id
        ]
