"""Command handlers: a typed command in, Terraform runs and state transitions out.

Each handler ends its operation in a final state itself (completed, failed or cancelled) and returns normally;
only a failure of our own infrastructure (Redis, NATS) escapes, and the worker then lets the command be retried.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path

import structlog
from prequel_common import intake
from prequel_common.bus import CommandPublisher
from prequel_common.challenges_s3 import ChallengeSourceUnavailable
from prequel_common.clock import iso, utcnow
from prequel_common.commands import CreateInterview, DestroyInterview
from prequel_common.lifecycle import DestroyRequested, request_destroy
from prequel_common.models import Interview, Operation, OperationResult
from prequel_common.ports import free_port
from prequel_common.recorder import Recorder
from prequel_common.status import OPERATION_ACTIVE, InterviewStatus, OperationStatus

from prequel_provisioner.adapters.challenge_source import ChallengeSource
from prequel_provisioner.adapters.readiness import NotReady, wait_until_ready
from prequel_provisioner.adapters.terraform import OnLine, RunResult, StopCheck, Terraform
from prequel_provisioner.adapters.tf_ui import UiLine
from prequel_provisioner.adapters.workdir import VAR_FILE, Workdirs, WorkspaceVars
from prequel_provisioner.oplog import OperationLog
from prequel_provisioner.settings import ProvisionerSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Context:
    settings: ProvisionerSettings
    recorder: Recorder
    commands: CommandPublisher
    terraform: Terraform
    workdirs: Workdirs
    challenges: ChallengeSource


#: where a create whose worker died may be resumed by another worker
_RESUMABLE = frozenset({InterviewStatus.INITIALIZING, InterviewStatus.CONFIGURING, InterviewStatus.ACTIVE})


class _Failed(Exception):
    """A step failed; the message is for the operation's log."""


class _Cancelled(Exception):
    pass


@dataclass(frozen=True)
class _Begun:
    operation: Operation
    #: the operation was already running: its worker died (this worker holds the lease it let expire)
    resumed: bool


async def _begin(ctx: Context, operation_id: str) -> _Begun | None:
    """Move the operation to running; None when it is already finished (duplicate or late command)."""
    now = utcnow()
    moved = await ctx.recorder.operation_to(operation_id, OperationStatus.RUNNING, started_at=now, heartbeat_at=now)
    if moved.record is None:
        log.warning("command for an unknown operation", operation_id=operation_id)
        return None
    if not (moved.changed or moved.already):
        log.info("operation already finished; command ignored", status=moved.record.status)
        return None
    if moved.already:
        await ctx.recorder.log(moved.record, "Resuming after worker loss: the run's previous worker stopped")
        cleared = await asyncio.to_thread(
            ctx.workdirs.clear_stale_lock, moved.record.interview_id, ctx.settings.ack_wait_s
        )
        if cleared:
            await ctx.recorder.log(moved.record, "Cleared the state lock the lost worker left behind")
    return _Begun(moved.record, resumed=moved.already)


async def _finish(ctx: Context, operation: Operation, status: OperationStatus, result: OperationResult) -> None:
    await ctx.recorder.operation_to(operation.id, status, completed_at=utcnow(), result=result)


def _stage(oplog: OperationLog, name: str) -> None:
    oplog.write(f"▶ {name}")


def _line_writer(oplog: OperationLog) -> OnLine:
    async def on_line(line: UiLine) -> None:
        for message in line.messages:
            oplog.write(f"{line.level.upper()}: {message}" if line.level in ("warn", "error") else message)

    return on_line


async def _accept_request(ctx: Context, command: CreateInterview) -> bool:
    """A create published with its request by another service: validate it as the api does and write the records.
    True when the creation should run now (False: rejected, or scheduled for later, or known already)."""
    request = command.request
    if request is None:
        return True
    known = await ctx.recorder.store.interviews.get(command.interview_id)
    if known is not None:  # a redelivery: go on unless the scheduler owns the start
        return known.create_operation_id == command.operation_id and known.status != InterviewStatus.SCHEDULED
    now = utcnow()
    try:
        intake.check(request, ctx.settings.limits, now)
        if not await ctx.challenges.exists(request.challenge):
            raise intake.RequestRejected(f"Unknown challenge '{request.challenge}'")
    except intake.RequestRejected as exc:
        log.warning("create command rejected", reason=str(exc), requested_by=command.requested_by)
        return False
    interview, operation = intake.new_records(
        request,
        now=now,
        created_by=command.requested_by or "nats",
        interview_id=command.interview_id,
        operation_id=command.operation_id,
    )
    await ctx.recorder.store.create_interview(interview, operation)
    await ctx.recorder.announce_interview(interview)
    await ctx.recorder.announce_operation(operation)
    await ctx.recorder.log(operation, f"Interview requested over NATS by {interview.created_by}")
    return interview.status != InterviewStatus.SCHEDULED


async def handle_create(ctx: Context, command: CreateInterview) -> None:
    if not await _accept_request(ctx, command):
        return
    begun = await _begin(ctx, command.operation_id)
    interview = await ctx.recorder.store.interviews.get(command.interview_id)
    if begun is None or interview is None:
        return
    operation, recorder = begun.operation, ctx.recorder
    if begun.resumed and interview.status in _RESUMABLE:
        # the worker running this create died past its start: this run takes it over from where it was
        if interview.status == InterviewStatus.ACTIVE:  # it died between the IDE answering and the final write
            result = OperationResult(success=True, access_url=interview.access_url, password=interview.password)
            await _finish(ctx, operation, OperationStatus.COMPLETED, result)
            return
    else:
        moved = await recorder.interview_to(interview.id, InterviewStatus.INITIALIZING)
        if not (moved.changed or moved.already):
            await recorder.log(operation, f"Interview is {moved.previous}: nothing to create")
            failure = OperationResult(success=False, error="interview gone")
            await _finish(ctx, operation, OperationStatus.CANCELLED, failure)
            return

    run_deadline = asyncio.get_running_loop().time() + ctx.settings.run_timeout_s

    def timed_out() -> bool:
        return asyncio.get_running_loop().time() >= run_deadline

    async def cancel_reason() -> str | None:
        return await recorder.store.operations.cancel_reason(operation.id)

    async def should_stop() -> bool:
        return timed_out() or await cancel_reason() is not None

    async with OperationLog(recorder, operation, [interview.password]) as oplog:
        try:
            url, timings = await _provision(ctx, interview, oplog, should_stop)
            _stage(oplog, "Waiting for the IDE")
            await recorder.interview_to(interview.id, InterviewStatus.CONFIGURING)
            await oplog.say(f"Waiting for the IDE to answer at {url}")
            waited = await wait_until_ready(url, ctx.settings.ready_timeout_s, should_stop)
            if await should_stop():
                raise _Cancelled
            active = await recorder.interview_to(interview.id, InterviewStatus.ACTIVE, access_url=url)
            if not active.changed:
                raise _Cancelled
            await oplog.say(f"IDE answered after {waited:.1f}s")
            await oplog.say(f"✅ Interview created successfully! {url}")
            result = OperationResult(success=True, access_url=url, password=interview.password, timings=timings or None)
            await _finish(ctx, operation, OperationStatus.COMPLETED, result)
        except (_Cancelled, NotReady) as exc:
            reason = await cancel_reason()
            if reason is not None:
                await _cancel_create(ctx, interview, operation, oplog, reason)
            elif timed_out():  # a run longer than PREQUEL_RUN_TIMEOUT_S: stopped, and a failure
                limit = f"{ctx.settings.run_timeout_s:.0f}s"
                await _fail_create(
                    ctx, interview, operation, oplog, f"Run timed out after {limit} (PREQUEL_RUN_TIMEOUT_S)"
                )
            else:  # readiness timeout: a failure, not a cancel
                await _fail_create(ctx, interview, operation, oplog, str(exc))
        except _Failed as exc:
            await _fail_create(ctx, interview, operation, oplog, str(exc))


async def _provision(
    ctx: Context, interview: Interview, oplog: OperationLog, should_stop: StopCheck
) -> tuple[str, dict[str, float]]:
    _stage(oplog, "Setting up")
    try:
        source = await ctx.challenges.materialize(interview.id, interview.challenge)
    except ChallengeSourceUnavailable as exc:
        raise _Failed(f"Challenge files unavailable: {exc}. {exc.hint}") from exc
    if source is None:
        raise _Failed(f"Challenge '{interview.challenge}' not found")
    try:
        return await _apply(ctx, interview, source, oplog, should_stop)
    finally:
        ctx.challenges.release(interview.id)


async def _apply(
    ctx: Context, interview: Interview, source: Path, oplog: OperationLog, should_stop: StopCheck
) -> tuple[str, dict[str, float]]:
    variables = WorkspaceVars(
        interview_id=interview.id,
        candidate_name=interview.candidate_name,
        challenge=interview.challenge,
        challenge_source=str(source),
        password=interview.password,
        auto_destroy_at=iso(interview.auto_destroy_at),
        port=ctx.workdirs.recorded_port(interview.id) or free_port(),
        workspace_root=str(ctx.settings.data_dir / "workspaces"),
        ide=ctx.settings.ide,
    )
    workdir = ctx.workdirs.write(variables)
    on_line = _line_writer(oplog)
    _check(await ctx.terraform.init(workdir, on_line, should_stop), "terraform init")
    _stage(oplog, "Planning")
    _check(await ctx.terraform.plan(workdir, VAR_FILE, on_line, should_stop), "terraform plan")
    _stage(oplog, "Creating workspace")
    result = await ctx.terraform.apply(workdir, on_line, should_stop)
    await oplog.flush()  # Terraform's lines are in the log before the status moves on
    _check(result, "terraform apply")
    url = result.outputs.get("access_url")
    if not url:
        raise _Failed("terraform apply gave no access_url output")
    return url, result.timings


def _check(result: RunResult, step: str) -> None:
    if result.cancelled:
        raise _Cancelled
    if result.returncode != 0:
        raise _Failed(f"{step} failed (exit code {result.returncode})")


async def _fail_create(
    ctx: Context, interview: Interview, operation: Operation, oplog: OperationLog, reason: str
) -> None:
    await oplog.say(f"❌ {reason}")
    await oplog.say("Cleaning up the partial environment")
    await _terraform_destroy(ctx, interview.id, oplog)
    await ctx.recorder.interview_to(interview.id, InterviewStatus.ERROR)
    await _finish(ctx, operation, OperationStatus.FAILED, OperationResult(success=False, error=reason))


async def _cancel_create(
    ctx: Context, interview: Interview, operation: Operation, oplog: OperationLog, reason: str
) -> None:
    await oplog.say(f"Run stopped: {reason}")
    current = await ctx.recorder.store.interviews.get(interview.id)
    if current is not None and current.status not in (InterviewStatus.DESTROYING, InterviewStatus.DESTROYED):
        # a user's cancel: this run removes what it created; a destroy request does that itself
        await ctx.recorder.interview_to(interview.id, InterviewStatus.DESTROYING)
        await oplog.say("Destroying what was partly created")
        if await _terraform_destroy(ctx, interview.id, oplog):
            await ctx.recorder.interview_to(interview.id, InterviewStatus.DESTROYED)
            await ctx.recorder.store.timers.remove_all(interview.id)
        else:
            await ctx.recorder.interview_to(interview.id, InterviewStatus.ERROR)
    await _finish(ctx, operation, OperationStatus.CANCELLED, OperationResult(success=False, error=reason))


async def _terraform_destroy(ctx: Context, interview_id: str, oplog: OperationLog) -> bool:
    """Destroy the interview's infrastructure and delete its working folder. True when nothing is left."""
    if not ctx.workdirs.exists(interview_id) and not await _recreate_workdir(ctx, interview_id, oplog):
        oplog.write("No infrastructure to destroy")
        return True

    async def never() -> bool:
        return False  # a destroy is never cancelled: no environment may outlive its deadline

    workdir = ctx.workdirs.path(interview_id)
    on_line = _line_writer(oplog)
    has_resources = await asyncio.to_thread(ctx.workdirs.has_resources, interview_id)
    _stage(oplog, "Destroying" if has_resources else "Cleaning up")
    if not (await ctx.terraform.init(workdir, on_line, never)).ok:
        oplog.write("terraform init failed before destroy")
        return False
    result = await ctx.terraform.destroy(workdir, VAR_FILE, on_line, never)
    if not result.ok or await asyncio.to_thread(ctx.workdirs.has_resources, interview_id):
        await oplog.say(f"terraform destroy failed (exit code {result.returncode}); the state is kept for a retry")
        return False
    ctx.workdirs.remove(interview_id)
    await oplog.flush()  # Terraform's lines are in the log before the status says destroyed
    return True


async def _recreate_workdir(ctx: Context, interview_id: str, oplog: OperationLog) -> bool:
    """No working folder here, but maybe a state in S3 made by another worker: write the folder again from the
    interview's record (or placeholders for an orphan), for the destroy. True when there is something to destroy."""
    interview = await ctx.recorder.store.interviews.get(interview_id)
    variables = WorkspaceVars(
        interview_id=interview_id,
        candidate_name=interview.candidate_name if interview else "orphan",
        challenge=interview.challenge if interview else "unknown",
        challenge_source="",
        password=interview.password if interview else secrets.token_urlsafe(12),
        auto_destroy_at=iso(interview.auto_destroy_at) if interview else iso(utcnow()),
        port=1,
        workspace_root=str(ctx.settings.data_dir / "workspaces"),
        ide=ctx.settings.ide,
    )
    if not await asyncio.to_thread(ctx.workdirs.recreate_for_destroy, variables):
        return False
    oplog.write("Working folder recreated here from the state in S3 (the create ran on another worker)")
    return True


async def _accept_destroy(ctx: Context, command: DestroyInterview) -> bool:
    """A destroy published by another service, with an operation id we have not seen: reserve the interview's
    destroy exactly as the api does. True when this delivery should run the destroy (a copy of the command that
    the reservation publishes is then dropped by JetStream's dedupe, or finds the operation taken or finished)."""
    if await ctx.recorder.store.operations.get(command.operation_id) is not None:
        return True
    outcome = await request_destroy(
        ctx.recorder,
        ctx.commands,
        command.interview_id,
        operation_id=command.operation_id,
        reason=command.reason,
        created_by=command.requested_by or "nats",
    )
    log.info("destroy command from another service", outcome=type(outcome).__name__)
    return isinstance(outcome, DestroyRequested)


async def handle_destroy(ctx: Context, command: DestroyInterview) -> None:
    if not await _accept_destroy(ctx, command):
        return
    begun = await _begin(ctx, command.operation_id)
    interview = await ctx.recorder.store.interviews.get(command.interview_id)
    if begun is None:
        return
    operation = begun.operation
    if command.reason == "cleanup" and (interview is None or interview.status == InterviewStatus.DESTROYED):
        await _cleanup_orphan(ctx, operation)
        return
    if interview is None:
        await _finish(ctx, operation, OperationStatus.FAILED, OperationResult(success=False, error="no such interview"))
        return
    recorder = ctx.recorder
    async with OperationLog(recorder, operation, [interview.password]) as oplog:
        if interview.status == InterviewStatus.SCHEDULED:
            moved = await recorder.interview_to(interview.id, InterviewStatus.DESTROYED)
            if moved.changed:
                await oplog.say("Interview had not started: no infrastructure to destroy")
                await recorder.store.timers.remove_all(interview.id)
                await _finish(ctx, operation, OperationStatus.COMPLETED, OperationResult(success=True))
                return
        moved = await recorder.interview_to(interview.id, InterviewStatus.DESTROYING)
        if not (moved.changed or moved.already):
            await oplog.say(f"Interview is already {moved.previous}")
            await _finish(ctx, operation, OperationStatus.COMPLETED, OperationResult(success=True))
            return
        await _wait_for_create(ctx, interview, oplog)
        if await _terraform_destroy(ctx, interview.id, oplog):
            await recorder.interview_to(interview.id, InterviewStatus.DESTROYED)
            await recorder.store.timers.remove_all(interview.id)
            await oplog.say("✅ Interview destroyed")
            await _finish(ctx, operation, OperationStatus.COMPLETED, OperationResult(success=True))
        else:
            await recorder.interview_to(interview.id, InterviewStatus.ERROR)
            await oplog.say("❌ Destroy failed: see the lines above; the destroy can be retried")
            await _finish(
                ctx, operation, OperationStatus.FAILED, OperationResult(success=False, error="destroy failed")
            )


async def _cleanup_orphan(ctx: Context, operation: Operation) -> None:
    """Infrastructure with no live interview: destroy it; no interview status to move."""
    async with OperationLog(ctx.recorder, operation, []) as oplog:
        _stage(oplog, "Cleaning up")
        await oplog.say(f"Destroying infrastructure of {operation.interview_id}, which no live interview owns")
        if await _terraform_destroy(ctx, operation.interview_id, oplog):
            await oplog.say("✅ Orphaned infrastructure destroyed")
            await _finish(ctx, operation, OperationStatus.COMPLETED, OperationResult(success=True))
        else:
            await oplog.say("❌ Cleanup failed: the state is kept for a later cleanup")
            await _finish(
                ctx, operation, OperationStatus.FAILED, OperationResult(success=False, error="cleanup failed")
            )


async def _wait_for_create(ctx: Context, interview: Interview, oplog: OperationLog) -> None:
    """A running create of the same interview has been asked to stop; wait until it has (it holds the state)."""
    if not interview.create_operation_id:
        return
    deadline = asyncio.get_running_loop().time() + ctx.settings.destroy_wait_create_s
    announced = False
    while asyncio.get_running_loop().time() < deadline:
        create = await ctx.recorder.store.operations.get(interview.create_operation_id)
        if create is None or create.status not in OPERATION_ACTIVE:
            return
        if not announced:
            await oplog.say("Waiting for the running create to stop")
            announced = True
        await asyncio.sleep(0.5)
    await oplog.say("The create did not stop in time; destroying anyway")


async def give_up(ctx: Context, command: CreateInterview | DestroyInterview, attempts: int, error: str) -> None:
    """The last delivery of a command failed on our own infrastructure: end its operation, never silently."""
    moved = await ctx.recorder.operation_to(
        command.operation_id,
        OperationStatus.FAILED,
        completed_at=utcnow(),
        result=OperationResult(success=False, error=f"gave up after {attempts} attempts"),
    )
    if moved.changed and moved.record is not None:
        await ctx.recorder.log(moved.record, f"❌ Gave up after {attempts} attempts; last error: {error}")
        await ctx.recorder.interview_to(command.interview_id, InterviewStatus.ERROR)
