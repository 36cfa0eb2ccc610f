"""An operation's log as the provisioner writes it: stamped, scrubbed of the password, sent in small batches.

Lines reach the store and the events stream within ``flush_s`` of being written, in order.
"""

from __future__ import annotations

import asyncio
import contextlib

from prequel_common.models import Operation
from prequel_common.recorder import Recorder, log_line

MAX_LINES = 10_000


class OperationLog:
    def __init__(self, recorder: Recorder, operation: Operation, secrets: list[str], flush_s: float = 0.25) -> None:
        self._recorder = recorder
        self._operation = operation
        self._secrets = [s for s in secrets if s]
        self._flush_s = flush_s
        self._pending: list[str] = []
        self._written = 0
        self._truncated = False
        self._lock = asyncio.Lock()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> OperationLog:
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        # the pump is told to stop, never cancelled: a cancel landing inside a write could lose its batch or,
        # swallowed by the Redis client, leave the pump running forever
        self._closing.set()
        if self._task is not None:
            await self._task
        await self.flush()

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "********")
        return text

    def write(self, message: str) -> None:
        if self._truncated:
            return
        if self._written + len(self._pending) >= MAX_LINES - 1:
            self._pending.append(log_line(f"… log truncated at {MAX_LINES} lines"))
            self._truncated = True
            return
        self._pending.append(log_line(self.scrub(message)))

    async def say(self, message: str) -> None:
        """Write a line and flush at once (for the steps a person waits on)."""
        self.write(message)
        await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            lines, self._pending = self._pending, []
            if lines:
                await self._recorder.log_lines(self._operation, lines)
                self._written += len(lines)

    async def _pump(self) -> None:
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self._flush_s)
            await self.flush()
