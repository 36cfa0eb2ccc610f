"""The command loop against a real JetStream: garbage is terminated, failures are retried, then given up loudly."""

from __future__ import annotations

import asyncio
import contextlib

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from prequel_common.bus import CommandPublisher
from prequel_common.commands import CreateInterview, DestroyInterview
from prequel_common.subjects import COMMANDS_STREAM, PROVISIONER_DURABLE, command_subject
from prequel_provisioner.worker import Worker


async def _fresh_consumer(js: JetStreamContext) -> None:
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(COMMANDS_STREAM, PROVISIONER_DURABLE)


async def _ack_pending(js: JetStreamContext) -> tuple[int, int]:
    info = await js.consumer_info(COMMANDS_STREAM, PROVISIONER_DURABLE)
    return info.num_pending, info.num_ack_pending


async def test_a_command_failing_on_every_delivery_is_given_up_once(js: JetStreamContext) -> None:
    await _fresh_consumer(js)
    attempts: list[str] = []
    gave_up: list[tuple[str, int, str]] = []
    handled: list[str] = []

    async def handle(command: CreateInterview | DestroyInterview) -> None:
        if command.operation_id == "op-works0001":
            handled.append(command.operation_id)
            return
        attempts.append(command.operation_id)
        raise ConnectionError("redis is down")

    async def give_up(command: CreateInterview | DestroyInterview, deliveries: int, error: str) -> None:
        gave_up.append((command.operation_id, deliveries, error))

    worker = Worker(js, handle, concurrency=2, ack_wait_s=5, max_deliver=2, on_give_up=give_up)
    runner = asyncio.create_task(worker.run())
    commands = CommandPublisher(js)
    await js.publish(command_subject("create", "int-garbage01"), b"not a command")
    await commands.publish(CreateInterview(operation_id="op-fails0001", interview_id="int-fails0001"))
    await commands.publish(CreateInterview(operation_id="op-works0001", interview_id="int-works0001"))
    for _ in range(100):
        if gave_up and handled:
            break
        await asyncio.sleep(0.1)
    await worker.stop(grace_s=1)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)

    assert handled == ["op-works0001"]
    assert attempts == ["op-fails0001", "op-fails0001"], "retried once, then no more"
    assert gave_up == [("op-fails0001", 2, "ConnectionError('redis is down')")]
    for _ in range(50):  # acks and terms are published without waiting for the server's reply
        if await _ack_pending(js) == (0, 0):
            break
        await asyncio.sleep(0.1)
    assert await _ack_pending(js) == (0, 0), "garbage terminated, the failure terminated, the good one acked"
