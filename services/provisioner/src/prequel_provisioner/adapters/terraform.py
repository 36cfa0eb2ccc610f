"""Running the terraform binary: JSON UI lines streamed out, graceful-then-hard cancel."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from prequel_provisioner.adapters.tf_ui import UiLine, parse_line
from prequel_provisioner.metrics import TERRAFORM_DURATION

#: a run resumed after its worker died waits for the dying terraform to release the state lock
LOCK_WAIT = "-lock-timeout=120s"

OnLine = Callable[[UiLine], Awaitable[None]]
StopCheck = Callable[[], Awaitable[bool]]


@dataclass
class RunResult:
    returncode: int
    cancelled: bool = False
    outputs: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.cancelled


def _interrupt_with_parent() -> None:
    """Terraform gets SIGINT if the provisioner dies (kill -9): it stops gracefully and releases the state lock,
    so the worker that resumes the operation can take the state over (it waits for the lock)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG


class Terraform:
    def __init__(self, binary: str, data_dir: Path, cancel_grace_s: float, poll_s: float = 0.5) -> None:
        self._binary = binary
        self._grace = cancel_grace_s
        self._poll = poll_s
        cache = data_dir / "plugin-cache"
        cache.mkdir(parents=True, exist_ok=True)
        self._cache_lock_fd = os.open(data_dir / "plugin-cache.lock", os.O_CREAT | os.O_RDWR, 0o600)
        self._init_lock = asyncio.Lock()
        self._cli_config = data_dir / "terraformrc"
        self._cli_config.write_text(
            f'plugin_cache_dir = "{cache}"\nplugin_cache_may_break_dependency_lock_file = true\n'
        )
        self._env = self._environment()

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREQUEL_", "TF_VAR_"))}
        # local-exec scripts run with this Python first on PATH (it has the IDE installed)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env.update(TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1", TF_CLI_CONFIG_FILE=str(self._cli_config))
        return env

    async def init(self, workdir: Path, on_line: OnLine, should_stop: StopCheck) -> RunResult:
        # Terraform's plugin cache is not safe for concurrent installs: one init at a time per cache, across
        # every worker process sharing the data folder
        async with self._cache_lock():
            return await self.run(workdir, ["init", "-input=false", "-no-color", "-json"], on_line, should_stop)

    @contextlib.asynccontextmanager
    async def _cache_lock(self) -> AsyncIterator[None]:
        async with self._init_lock:
            while True:
                try:
                    fcntl.flock(self._cache_lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(self._cache_lock_fd, fcntl.LOCK_UN)

    async def plan(self, workdir: Path, var_file: str, on_line: OnLine, should_stop: StopCheck) -> RunResult:
        args = ["plan", "-input=false", "-no-color", "-json", LOCK_WAIT, f"-var-file={var_file}", "-out=tfplan"]
        return await self.run(workdir, args, on_line, should_stop)

    async def apply(self, workdir: Path, on_line: OnLine, should_stop: StopCheck) -> RunResult:
        """Apply the plan saved by :meth:`plan`."""
        args = ["apply", "-input=false", "-no-color", "-json", LOCK_WAIT, "tfplan"]
        return await self.run(workdir, args, on_line, should_stop)

    async def destroy(self, workdir: Path, var_file: str, on_line: OnLine, should_stop: StopCheck) -> RunResult:
        args = ["destroy", "-input=false", "-no-color", "-json", LOCK_WAIT, "-auto-approve", f"-var-file={var_file}"]
        return await self.run(workdir, args, on_line, should_stop)

    async def run(self, workdir: Path, args: list[str], on_line: OnLine, should_stop: StopCheck) -> RunResult:
        started = time.monotonic()
        result = await self._run(workdir, args, on_line, should_stop)
        outcome = "cancelled" if result.cancelled else "ok" if result.returncode == 0 else "failed"
        TERRAFORM_DURATION.labels(command=args[0], outcome=outcome).observe(time.monotonic() - started)
        return result

    async def _run(self, workdir: Path, args: list[str], on_line: OnLine, should_stop: StopCheck) -> RunResult:
        proc = await asyncio.create_subprocess_exec(
            self._binary,
            *args,
            cwd=workdir,
            env=self._env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # signals are ours to send, not the terminal's
            preexec_fn=_interrupt_with_parent,
            limit=1024 * 1024,
        )
        result = RunResult(returncode=-1)
        watcher = asyncio.create_task(self._watch(proc, should_stop, result, on_line))
        try:
            assert proc.stdout is not None
            async for raw in proc.stdout:
                line = parse_line(raw.decode(errors="replace"))
                result.outputs.update(line.outputs)
                result.timings.update(line.timings)
                await on_line(line)
            result.returncode = await proc.wait()
        except BaseException:
            await self._stop(proc)
            raise
        finally:
            if not result.cancelled:
                watcher.cancel()
            # a watcher that is stopping terraform finishes its steps (and their log lines) first
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        return result

    async def _watch(
        self, proc: asyncio.subprocess.Process, should_stop: StopCheck, result: RunResult, on_line: OnLine
    ) -> None:
        while proc.returncode is None:
            await asyncio.sleep(self._poll)
            if proc.returncode is None and await should_stop():
                result.cancelled = True
                await self._stop(proc, on_line)
                return

    async def _stop(self, proc: asyncio.subprocess.Process, on_line: OnLine | None = None) -> None:
        """One SIGINT (Terraform stops gracefully and saves its state), then SIGKILL after the grace period."""
        if proc.returncode is not None:
            return

        async def note(level: str, message: str) -> None:
            if on_line is not None:
                await on_line(UiLine(level, [message]))

        await note("warn", f"Cancel: sent SIGINT to terraform (pid {proc.pid}); waiting up to {self._grace:.0f}s")
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), self._grace)
            await note("info", "terraform stopped gracefully; its state is saved")
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            await note("warn", f"terraform did not stop within {self._grace:.0f}s: killed (SIGKILL)")
        # Terraform stops the step it was running, but not what that step started (a `sh -c` script's commands
        # stay in its process group): nothing of a stopped run may go on. The IDE runs in a session of its own.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
