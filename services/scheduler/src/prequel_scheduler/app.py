"""Composition root of the scheduler: fire due timers until stopped.

Timers live in a Redis sorted set written atomically with the interview (see docs/architecture.md for why not NATS
message schedules). Several replicas may run: each due timer leads to commands and events with ids derived from it,
so JetStream's dedupe window keeps exactly one, and the timer is removed only after they were published.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import timedelta

import structlog
from prequel_common import bus
from prequel_common.clock import utcnow
from prequel_common.ops import Readiness, serve_ops
from prequel_common.recorder import Recorder
from prequel_common.store import Store
from prequel_common.tfstate import LocalStates, S3States, States

from prequel_scheduler.handlers import fire
from prequel_scheduler.settings import SchedulerSettings
from prequel_scheduler.sweeps import JetStreamQueue, Sweeper, SweepRules

log = structlog.get_logger(__name__)


async def tick(recorder: Recorder, commands: bus.CommandPublisher) -> int:
    fired = 0
    for timer in await recorder.store.timers.due(utcnow()):
        try:
            await fire(recorder, commands, timer)
            fired += 1
        except Exception:
            log.exception("timer failed; retrying on the next tick", timer=timer.member)
    return fired


async def _sweep_forever(sweeper: Sweeper, interval_s: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await sweeper.run_once(lease_s=max(1, int(interval_s) - 1))
        except Exception:
            log.exception("sweep failed; retrying next round")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)


def _states(settings: SchedulerSettings) -> States | None:
    """Where the orphan and drift sweeps read the Terraform states: S3 when the provisioner keeps them there, else
    the provisioner's data folder (same machine); neither: those two sweeps are off."""
    if settings.tf_state:
        return S3States(settings.tf_state, region=settings.tf_state_region, endpoint_url=settings.s3_endpoint_url)
    if settings.data_dir:
        return LocalStates(settings.data_dir)
    return None


async def run(settings: SchedulerSettings) -> None:
    store = Store.from_url(settings.redis_url, settings.redis_prefix)
    nc = await bus.connect(settings.nats_url, "prequel-scheduler")
    js = nc.jetstream()
    await bus.ensure_streams(js)
    recorder = Recorder(store, bus.EventPublisher(js))
    commands = bus.CommandPublisher(js)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    rules = SweepRules(
        overdue_grace=timedelta(seconds=settings.overdue_grace_s),
        hung_after=timedelta(seconds=settings.hung_after_s),
        retry_backoff=timedelta(seconds=settings.destroy_retry_s),
        retry_backoff_max=timedelta(seconds=settings.destroy_retry_max_s),
    )
    sweeper = Sweeper(recorder, commands, rules, _states(settings), JetStreamQueue(js))
    async with serve_ops(settings.host, settings.port, lambda: Readiness(nc, store.redis)):
        sweeping = asyncio.create_task(_sweep_forever(sweeper, settings.sweep_interval_s, stop))
        log.info("scheduler running", tick_s=settings.tick_s, sweep_interval_s=settings.sweep_interval_s)
        while not stop.is_set():
            try:
                await tick(recorder, commands)
            except Exception:
                log.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.tick_s)
        await sweeping
    await bus.close(nc)
    await store.redis.aclose()
