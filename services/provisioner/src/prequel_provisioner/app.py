"""Composition root of the provisioner: build the clients, wire the handlers, run the worker until stopped."""

from __future__ import annotations

import asyncio
import signal

import structlog
from prequel_common import bus
from prequel_common.challenges_s3 import S3Challenges
from prequel_common.clock import utcnow
from prequel_common.commands import CreateInterview, DestroyInterview
from prequel_common.ops import Readiness, serve_ops
from prequel_common.recorder import Recorder
from prequel_common.status import OPERATION_ACTIVE
from prequel_common.store import Store

from prequel_provisioner.adapters.challenge_source import ChallengeSource
from prequel_provisioner.adapters.terraform import Terraform
from prequel_provisioner.adapters.workdir import S3State, Workdirs
from prequel_provisioner.handlers import Context, give_up, handle_create, handle_destroy
from prequel_provisioner.lease import Leases
from prequel_provisioner.metrics import watch_backlog
from prequel_provisioner.settings import ProvisionerSettings
from prequel_provisioner.worker import Worker

log = structlog.get_logger(__name__)


async def run(settings: ProvisionerSettings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    s3_state = None
    if settings.tf_state:  # checked here, before any command is taken
        s3_state = S3State(settings.tf_state, settings.tf_state_region, settings.s3_endpoint_url)
    store = Store.from_url(settings.redis_url, settings.redis_prefix)
    nc = await bus.connect(settings.nats_url, "prequel-provisioner")
    js = nc.jetstream()
    await bus.ensure_streams(js)
    ctx = Context(
        settings=settings,
        recorder=Recorder(store, bus.EventPublisher(js)),
        commands=bus.CommandPublisher(js),
        terraform=Terraform(settings.terraform_bin, settings.data_dir, settings.cancel_grace_s),
        workdirs=Workdirs(settings.data_dir, settings.tf_module, s3_state),
        challenges=ChallengeSource(
            settings.challenges_dir,
            S3Challenges(settings.challenges, endpoint_url=settings.s3_endpoint_url) if settings.challenges else None,
            settings.data_dir / "challenge-cache",
        ),
    )

    async def handle(command: CreateInterview | DestroyInterview) -> None:
        if isinstance(command, CreateInterview):
            await handle_create(ctx, command)
        else:
            await handle_destroy(ctx, command)

    async def is_finished(command: CreateInterview | DestroyInterview) -> bool:
        operation = await store.operations.get(command.operation_id)
        return operation is None or operation.status not in OPERATION_ACTIVE

    async def heartbeat(command: CreateInterview | DestroyInterview) -> None:
        await store.operations.touch(command.operation_id, utcnow())

    worker = Worker(
        js,
        handle,
        concurrency=settings.concurrency,
        ack_wait_s=settings.ack_wait_s,
        max_deliver=settings.max_deliver,
        on_heartbeat=heartbeat,
        on_give_up=lambda command, attempts, error: give_up(ctx, command, attempts, error),
        leases=Leases(store.redis, settings.redis_prefix, ttl_s=settings.ack_wait_s),
        is_finished=is_finished,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve_ops(settings.host, settings.port, lambda: Readiness(nc, store.redis)):
        runner = asyncio.create_task(worker.run())
        backlog = asyncio.create_task(watch_backlog(js, stop))
        await stop.wait()
        log.info("provisioner stopping")
        await worker.stop(grace_s=settings.cancel_grace_s)
        runner.cancel()
        await asyncio.gather(runner, backlog, return_exceptions=True)
    await bus.close(nc)
    await store.redis.aclose()
