"""What the provisioning tests share: a whole stack on a test module, and ways to look at what it runs."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from stack import REPO, Stack, free_port, running_stack

TOKEN = "runs-token-0123456789abcdef"
FIXTURES = REPO / "tests" / "fixtures" / "modules"
BODY = {"candidateName": "Under Pressure", "challenge": "python", "autoDestroyMinutes": 30}
SIGINT_LINE = "Cancel: sent SIGINT to terraform"


class LeftRunning(AssertionError):
    """Processes of an interview still run after its operation ended."""


def make_stack(tmp: Path, module: str | None = None, provisioners: int = 1, **env: str) -> Stack:
    overrides = {
        "PREQUEL_ENV": "development",
        "PREQUEL_CANCEL_GRACE_S": "5",
        "PREQUEL_ACK_WAIT_S": "6",
        "PREQUEL_RATE_LIMIT_CREATES_PER_MINUTE": "1000",
        "PREQUEL_RATE_LIMIT_QUERIES_PER_MINUTE": "100000",
        **env,
    }
    if module:
        overrides["PREQUEL_TF_MODULE"] = str(FIXTURES / module)
    return Stack(
        data_dir=tmp, tokens=f"runs:{TOKEN}", front_port=free_port(), env_overrides=overrides, provisioners=provisioners
    )


@contextlib.contextmanager
def serving(stack: Stack) -> Iterator[Stack]:
    try:
        with running_stack(stack):
            yield stack
    finally:
        kill_leftovers(stack.data_dir)  # last resort, after a failed test: nothing of ours outlives the run


def get_operation(http: httpx.Client, operation_id: str) -> dict[str, object]:
    reply = http.get(f"/api/operations/{operation_id}")
    assert reply.status_code == 200
    return reply.json()  # type: ignore[no-any-return]


def get_interview(http: httpx.Client, interview_id: str) -> dict[str, object]:
    return next(i for i in http.get("/api/interviews").json()["interviews"] if i["id"] == interview_id)


def create(http: httpx.Client, candidate: str = "Under Pressure") -> dict[str, str]:
    reply = http.post("/api/interviews/create", json={**BODY, "candidateName": candidate})
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def log_of(http: httpx.Client, operation_id: str) -> list[str]:
    return http.get(f"/api/operations/{operation_id}/logs").json()["logs"]  # type: ignore[no-any-return]


def messages_of(logs: list[str]) -> list[str]:
    """The log lines without their ``[timestamp] `` prefix."""
    return [line.split("] ", 1)[1] if line.startswith("[") else line for line in logs]


def first_line(messages: list[str], needle: str) -> int:
    """Index of the first message containing ``needle``; fails naming it when there is none."""
    found = next((n for n, message in enumerate(messages) if needle in message), None)
    assert found is not None, f"no log line with {needle!r} in:\n" + "\n".join(messages)
    return found


def wait_until(check, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def has_line(http: httpx.Client, operation_id: str, needle: str) -> bool:
    return any(needle in line for line in log_of(http, operation_id))


def in_slow_step(http: httpx.Client, operation_id: str) -> bool:
    return has_line(http, operation_id, "slow step")


def workdir_of(stack: Stack, interview_id: str) -> Path:
    return stack.data_dir / "provisioner" / "terraform" / interview_id


def workspace_of(stack: Stack, interview_id: str) -> Path:
    return stack.data_dir / "provisioner" / "workspaces" / interview_id


def holder_of(stack: Stack, operation_id: str) -> str:
    """The provisioner whose log names the operation (the one running it, before any redelivery)."""
    return next(
        name
        for name in stack.provisioner_names
        if operation_id in (stack.logs / f"{name}.log").read_text(errors="replace")
    )


def ide_processes(data_dir: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(data_dir) in cmdline and "jupyterlab" in cmdline:
                found.append(proc.name)
    return found


def processes_under(*folders: Path) -> dict[int, str]:
    """Live processes working in one of ``folders`` (their working directory, even deleted since, or their command
    line is there): pid -> "<state> <command line>". Terraform and whatever it starts run in the interview's
    Terraform folder; its IDE runs in its workspace."""
    roots = [str(folder) for folder in folders]
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc / "cwd").removesuffix(" (deleted)")
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue  # gone, or a zombie (no cwd): not running
        if any(cwd == root or cwd.startswith(root + "/") or root in cmdline for root in roots):
            found[int(proc.name)] = f"{state} {cmdline}"
    return found


def interview_processes(stack: Stack, interview_id: str) -> dict[int, str]:
    return processes_under(workdir_of(stack, interview_id), workspace_of(stack, interview_id))


def assert_nothing_running(stack: Stack, interview_id: str) -> None:
    # the IDE and terraform are signalled by the time the operation ends; give them a moment to be reaped
    deadline = time.monotonic() + 3
    while (left := interview_processes(stack, interview_id)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        raise LeftRunning(f"still running for {interview_id}: {left}")


def kill_leftovers(data_dir: Path) -> dict[int, str]:
    """Kill, by pid, whatever still runs in this stack's Terraform folders and workspaces."""
    left = processes_under(data_dir / "provisioner" / "terraform", data_dir / "provisioner" / "workspaces")
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left
