"""The command loop: pull from the shared durable consumer, run a bounded number at once, heartbeat, ack.

A command stays on the work queue until its run ends: the worker heartbeats it (``in_progress``) while Terraform
runs. A worker that dies stops heartbeating, and JetStream redelivers the command to another worker, which resumes
the operation (a running operation may be entered again; Terraform picks up from its state).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from prequel_common.commands import CreateInterview, DestroyInterview, parse_command
from prequel_common.subjects import COMMANDS_STREAM, PROVISION_SUBJECTS, PROVISIONER_DURABLE
from pydantic import ValidationError

from prequel_provisioner.lease import Leases
from prequel_provisioner.metrics import RUNNING

log = structlog.get_logger(__name__)

Handler = Callable[[CreateInterview | DestroyInterview], Awaitable[None]]
OnHeartbeat = Callable[[CreateInterview | DestroyInterview], Awaitable[None]]
IsFinished = Callable[[CreateInterview | DestroyInterview], Awaitable[bool]]
OnGiveUp = Callable[[CreateInterview | DestroyInterview, int, str], Awaitable[None]]


class Worker:
    def __init__(
        self,
        js: JetStreamContext,
        handle: Handler,
        *,
        concurrency: int,
        ack_wait_s: float,
        max_deliver: int,
        on_heartbeat: OnHeartbeat | None = None,
        on_give_up: OnGiveUp | None = None,
        leases: Leases | None = None,
        is_finished: IsFinished | None = None,
    ) -> None:
        self._js = js
        self._handle = handle
        self._on_heartbeat = on_heartbeat
        self._on_give_up = on_give_up
        self._leases = leases
        self._is_finished = is_finished
        self._slots = asyncio.Semaphore(concurrency)
        self._ack_wait_s = ack_wait_s
        self._max_deliver = max_deliver
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        config = ConsumerConfig(
            durable_name=PROVISIONER_DURABLE,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait_s,
            max_deliver=self._max_deliver,
            filter_subject=PROVISION_SUBJECTS,
        )
        sub = await self._js.pull_subscribe(
            PROVISION_SUBJECTS, durable=PROVISIONER_DURABLE, stream=COMMANDS_STREAM, config=config
        )
        log.info("provisioner waiting for commands")
        while not self._stopping.is_set():
            await self._slots.acquire()
            try:
                msgs = await sub.fetch(1, timeout=2)
            except TimeoutError:
                self._slots.release()
                continue
            except Exception as exc:  # NATS reconnecting: back off, keep going
                self._slots.release()
                log.warning("fetch failed", error=repr(exc))
                await asyncio.sleep(1)
                continue
            for msg in msgs:
                task = asyncio.create_task(self._process(msg))
                self._tasks.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def stop(self, grace_s: float) -> None:
        """Stop fetching; give running commands ``grace_s`` to end, then leave them to be redelivered."""
        self._stopping.set()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _process(self, msg: Msg) -> None:
        try:
            command = parse_command(msg.data)
        except ValidationError as exc:
            log.error("malformed command dropped", subject=msg.subject, error=str(exc))
            await msg.term()
            return
        structlog.contextvars.bind_contextvars(operation_id=command.operation_id, interview_id=command.interview_id)
        deliveries = msg.metadata.num_delivered
        if self._leases is not None and not await self._leases.acquire(command.operation_id):
            # redelivered while the worker running it is alive (its heartbeat was late): leave it to that worker;
            # if it dies, its lease expires and this command comes back
            holder = await self._leases.holder(command.operation_id)
            log.info("operation held by a live worker; command put back", holder=holder, delivery=deliveries)
            with contextlib.suppress(Exception):
                await msg.nak(delay=self._ack_wait_s)
            return
        log.info("command received", type=command.type, delivery=deliveries)
        run = asyncio.current_task()
        heartbeat = asyncio.create_task(self._heartbeat(msg, command, run))
        try:
            with RUNNING.track_inprogress():
                await self._handle(command)
        except Exception as exc:
            if deliveries >= self._max_deliver:
                log.exception("command failed on its last delivery; giving up", delivery=deliveries)
                if self._on_give_up is not None:
                    with contextlib.suppress(Exception):
                        await self._on_give_up(command, deliveries, repr(exc))
                with contextlib.suppress(Exception):
                    await msg.term()
                return
            log.exception("command failed; it will be retried", delivery=deliveries)
            with contextlib.suppress(Exception):
                await msg.nak(delay=min(30, 2**deliveries))
            return
        finally:
            heartbeat.cancel()
            if self._leases is not None:
                with contextlib.suppress(Exception):
                    await self._leases.release(command.operation_id)
        try:
            await msg.ack()
        except Exception as exc:  # NATS away: the command comes back, finds its operation finished, and is acked
            log.warning("ack failed; the redelivery will find the operation finished", error=repr(exc))
            return
        log.info("command done", type=command.type)

    async def _still_ours(self, command: CreateInterview | DestroyInterview) -> bool:
        """Renew the lease. Once it was lost (this worker was frozen or cut off longer than its time to live), the
        run may go on only if nobody took the operation over and it was not ended meanwhile (the hung sweep fails
        an operation whose worker went silent)."""
        assert self._leases is not None
        try:
            if await self._leases.renew(command.operation_id):
                return True
            if not await self._leases.acquire(command.operation_id):
                log.error("lease taken over by another worker; stopping this run")
                return False
            if self._is_finished is not None and await self._is_finished(command):
                log.error("operation ended by someone else while this worker was away; stopping this run")
                await self._leases.release(command.operation_id)
                return False
            log.warning("lease lost and taken back; the run goes on")
        except Exception as exc:  # Redis away: keep running, the next heartbeat tries again
            log.warning("lease not renewed", error=repr(exc))
        return True

    async def _heartbeat(
        self, msg: Msg, command: CreateInterview | DestroyInterview, run: asyncio.Task[object] | None
    ) -> None:
        while True:
            await asyncio.sleep(self._ack_wait_s / 3)
            with contextlib.suppress(Exception):
                await msg.in_progress()
            if self._leases is not None and not await self._still_ours(command):
                if run is not None:
                    run.cancel()  # terraform gets its SIGINT; the command is left to whoever owns it now
                return
            if self._on_heartbeat is not None:
                with contextlib.suppress(Exception):
                    await self._on_heartbeat(command)
