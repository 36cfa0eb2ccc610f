"""SSE fan-out benchmark: N concurrent clients on the events gateway.

    .venv/bin/python bench/sse.py [--clients 1000 5000 10000] [--events 10] [--burst 20] [--pin]
                                  [--gateways 1] [--loadgen 1] [--idle 10] [--profile PREFIX] [--samples PREFIX]

Starts nats-server, redis-server and, for every level, a fresh gateway (one process, or ``--gateways N`` processes
sharing the port with SO_REUSEPORT as they would share a host behind the ALB); opens N raw SSE connections from
``--loadgen`` load-generator processes, publishes events stamped with their send time straight to the events
stream, and prints one table row per level.

**Latency of a broadcast** (``--events`` spaced broadcasts): one event at a time, the next published only after
every client received the previous one (plus 0.3 s), so each number is the time to deliver one broadcast to every
client of an otherwise idle gateway, not the time spent queueing behind earlier broadcasts. Latency = client
receive time - publish time stamped in the event. The receive time is the kernel's receive timestamp on the client
socket (SO_TIMESTAMPNS: when the bytes reached the client, as a browser on its own machine would get them); the time
the load generator got round to reading them, which adds its own queueing on these shared cores, is "read p99".

**Sustained throughput** (``--burst`` events published back to back): frames delivered per second while the
gateway has more to do than it can finish, i.e. its capacity (events waiting for a client go out in one write).
At more than ``broadcasts/s`` events per second for every client a queue builds up, and latency then measures that
queue, not delivery.

Also: the gateway's CPU per delivered frame over the latency phase (with the part spent in the kernel), its CPU
while the clients are connected and no event comes ("idle": heartbeats, status checks, slot refreshes), and its
resident memory per client (RSS growth from the fresh process to N connected clients, summed over its processes).
Targets at 10,000 clients: p99 <= 200 ms, <= 30 KB per client.

The load generator is lean on purpose: non-blocking sockets on one epoll loop per process, no HTTP or SSE library,
the stamp found in the received bytes without parsing the frame, one read per readiness. Everything shares the
machine's cores; ``--pin`` puts gateway i on core i and the load generators on the cores left, so that a client
woken by a write does not preempt the gateway (as clients on other machines would not). ``--profile`` records the
first gateway with py-spy during the latency phase; ``--samples`` writes every sample (client, sent, kernel, read).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import multiprocessing
import os
import resource
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))

from prequel_common import bus
from results_file import emit, markdown_table
from stack import Proc, free_port, nats_server_binary, redis_server_binary, wait_for_port

TOKEN = "bench-token-0123456789abcdef"
MARK = b'"benchSentNs": '
SO_TIMESTAMPNS = 35  # Linux: SO_TIMESTAMPNS_OLD; its control message has the same number
TIMESPEC = struct.Struct("qq")
CMSG_SPACE = socket.CMSG_SPACE(TIMESPEC.size)
WAVE = 250  # connections opened at a time


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_s(pid: int) -> float:
    return sum(cpu_times(pid))


# --- load generator: one process per --loadgen, driven over a pipe ------------------------------------------------


class LoadGenerator:
    """Raw SSE clients on one epoll loop. Each sample: (client, publish time, kernel receive time, read time)."""

    def __init__(self, control: Connection, counter: Any, slot: int) -> None:
        self.control = control
        self.counter = counter  # shared array: samples so far, one slot per load generator
        self.slot = slot
        self.epoll = select.epoll()
        self.socks: dict[int, socket.socket] = {}
        self.index: dict[int, int] = {}
        self.pending: dict[int, bytes] = {}
        self.connected: set[int] = set()
        self.closed = 0
        self.clients, self.sent, self.kernel, self.read = array("i"), array("q"), array("q"), array("q")

    def serve(self) -> None:
        self.epoll.register(self.control.fileno(), select.EPOLLIN)
        while True:
            for fd, _ in self.epoll.poll(1.0):
                if fd == self.control.fileno():
                    if not self.command(*self.control.recv()):
                        return
                else:
                    self.readable(fd)

    def command(self, name: str, *args: Any) -> bool:
        if name == "connect":
            self.connect(*args)
            self.control.send(len(self.connected))
        elif name == "reset":
            self.clients, self.sent, self.kernel, self.read = array("i"), array("q"), array("q"), array("q")
            self.counter[self.slot] = 0
            self.control.send(True)
        elif name == "collect":
            self.control.send((self.clients, self.sent, self.kernel, self.read, self.closed))
        elif name == "close":
            for fd, sock in self.socks.items():
                self.epoll.unregister(fd)
                sock.close()
            self.socks.clear()
            self.index.clear()
            self.pending.clear()
            self.connected.clear()
            self.closed = 0
            self.control.send(True)
        else:
            return False
        return True

    def connect(self, port: int, first: int, count: int) -> None:
        request = f"GET /api/events?access_token={TOKEN} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"
        for start in range(first, first + count, WAVE):
            wave = []
            for i in range(start, min(first + count, start + WAVE)):
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                sock.sendall(request.encode())
                sock.setblocking(False)
                fd = sock.fileno()
                self.socks[fd], self.index[fd], self.pending[fd] = sock, i, b""
                self.epoll.register(fd, select.EPOLLIN)
                wave.append(fd)
            deadline = time.monotonic() + 60
            while not self.connected.issuperset(wave) and time.monotonic() < deadline:
                for fd, _ in self.epoll.poll(1.0):
                    if fd != self.control.fileno():
                        self.readable(fd)

    def readable(self, fd: int) -> None:
        sock = self.socks.get(fd)
        if sock is None:
            return
        try:
            data, ancillary, _flags, _addr = sock.recvmsg(65536, CMSG_SPACE)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return
            data, ancillary = b"", []
        now = time.time_ns()
        if not data:  # the gateway closed the stream
            self.epoll.unregister(fd)
            sock.close()
            del self.socks[fd]
            self.closed += 1
            return
        kernel = now
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = TIMESPEC.unpack(value)
                kernel = sec * 1_000_000_000 + nsec
        buf = self.pending[fd] + data
        if fd not in self.connected and b'"connection"' in buf:
            self.connected.add(fd)
        start, found = 0, 0
        while True:
            at = buf.find(MARK, start)
            if at < 0:
                self.pending[fd] = buf[-len(MARK) :]  # may hold the start of a mark
                break
            end = buf.find(b",", at + len(MARK))
            if end < 0:
                self.pending[fd] = buf[at:]  # the rest comes with the next read
                break
            self.clients.append(self.index[fd])
            self.sent.append(int(buf[at + len(MARK) : end]))
            self.kernel.append(kernel)
            self.read.append(now)
            start, found = end, found + 1
        if found:
            self.counter[self.slot] += found


def run_load_generator(control: Connection, counter: Any, slot: int, cpus: set[int] | None) -> None:
    raise_fd_limit()
    if cpus:
        os.sched_setaffinity(0, cpus)
    LoadGenerator(control, counter, slot).serve()


# --- the benchmark ----------------------------------------------------------------------------------------------


@dataclass
class Fleet:
    """The load-generator processes."""

    controls: list[Connection]
    counter: Any
    procs: list[Any]

    @classmethod
    def start(cls, n: int, cpus: set[int] | None) -> Fleet:
        ctx = multiprocessing.get_context("fork")  # before any event loop or thread exists
        counter = ctx.RawArray("q", n)
        controls, procs = [], []
        for slot in range(n):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=run_load_generator, args=(theirs, counter, slot, cpus), daemon=True)
            proc.start()
            controls.append(ours)
            procs.append(proc)
        return cls(controls, counter, procs)

    async def ask(self, *command: Any) -> list[Any]:
        for control in self.controls:
            control.send(command)
        return [await asyncio.to_thread(control.recv) for control in self.controls]

    async def connect(self, port: int, clients: int) -> int:
        n = len(self.controls)
        shares = [clients // n + (1 if i < clients % n else 0) for i in range(n)]
        firsts = [sum(shares[:i]) for i in range(n)]
        for control, first, share in zip(self.controls, firsts, shares, strict=True):
            control.send(("connect", port, first, share))
        return sum([await asyncio.to_thread(control.recv) for control in self.controls])

    def received(self) -> int:
        return sum(self.counter)

    def cpu_s(self) -> float:
        return sum(cpu_s(p.pid) for p in self.procs)

    def stop(self) -> None:
        for control in self.controls:
            control.send(("exit",))
        for proc in self.procs:
            proc.join(5)


def pct(values: list[float], p: float) -> float:
    return values[max(0, int(len(values) * p) - 1)]


async def publish(js: bus.JetStreamContext, n: int) -> int:
    sent = time.time_ns()
    payload = b'{"type": "scheduler_event", "benchSentNs": %d, "n": %d}' % (sent, n)
    await js.publish("prequel.evt.bench.x", payload)
    return sent


async def wait_for(fleet: Fleet, total: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while fleet.received() < total and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


async def collect(fleet: Fleet) -> tuple[list[tuple[int, int, int, int]], int]:
    samples, closed = [], 0
    for clients, sent, kernel, read, gone in await fleet.ask("collect"):
        samples += list(zip(clients, sent, kernel, read, strict=True))
        closed += gone
    return samples, closed


async def run_level(
    args: argparse.Namespace, env: dict[str, str], root: Path, js: bus.JetStreamContext, fleet: Fleet, clients: int
) -> dict[str, Any]:
    """A fresh gateway (or fleet of gateways) for every level, so memory per client is measured from its start."""
    port = int(env["PREQUEL_PORT"])
    gateways = [
        Proc(f"gateway{i}", [sys.executable, "-m", "prequel_gateway"], env, root / f"gateway{i}-{clients}.log", port)
        for i in range(args.gateways)
    ]
    try:
        for i, proc in enumerate(gateways):
            proc.start()
            if args.pin and proc.popen is not None:
                os.sched_setaffinity(proc.popen.pid, {i % (os.cpu_count() or 1)})
        wait_for_port(port, timeout_s=30, proc=gateways[0].popen)
        time.sleep(3)  # settled; and with SO_REUSEPORT the port answers as soon as the first one listens
        return await measure(args, gateways, port, js, fleet, clients)
    finally:
        for proc in gateways:
            proc.stop()


def start_profiler(args: argparse.Namespace, pid: int, clients: int) -> subprocess.Popen[bytes]:
    """py-spy on the (first) gateway process during the latency phase."""
    out = f"{args.profile}-{clients}.{'txt' if args.profile_format == 'raw' else 'svg'}"
    spy = str(Path(sys.executable).parent / "py-spy")
    command = [spy, "record", "--pid", str(pid), "--output", out, "--format", args.profile_format, "--rate", "250"]
    return subprocess.Popen([*command, "--nonblocking"], stdout=subprocess.DEVNULL)


async def measure(
    args: argparse.Namespace, gateways: list[Proc], port: int, js: bus.JetStreamContext, fleet: Fleet, clients: int
) -> dict[str, Any]:
    events, burst = args.events, args.burst
    pids = [g.popen.pid for g in gateways if g.popen is not None]
    base_kb = sum(rss_kb(pid) for pid in pids)
    connected = await fleet.connect(port, clients)
    print(f"  {connected} of {clients} clients connected", file=sys.stderr, flush=True)
    await asyncio.sleep(2.0)
    connected_kb = sum(rss_kb(pid) for pid in pids)
    # the cost of merely holding the streams (heartbeats, status checks, keepalives, pings), before any event
    idle_cpu = sum(cpu_s(pid) for pid in pids)
    await asyncio.sleep(args.idle)
    idle_pct = (sum(cpu_s(pid) for pid in pids) - idle_cpu) / args.idle * 100
    print(f"  idle: gateway CPU {idle_pct:.0f}% over {args.idle:.0f} s", file=sys.stderr, flush=True)
    profiler = start_profiler(args, pids[0], clients) if args.profile else None

    # latency: spaced broadcasts, each into an idle gateway
    await fleet.ask("reset")
    gw_before, lg_cpu = [cpu_times(pid) for pid in pids], fleet.cpu_s()
    for n in range(events):
        await publish(js, n)
        await wait_for(fleet, clients * (n + 1), timeout_s=30)
        await asyncio.sleep(0.3)
    gw_after, lg_cpu = [cpu_times(pid) for pid in pids], fleet.cpu_s() - lg_cpu
    gw_user = sum(a[0] - b[0] for a, b in zip(gw_after, gw_before, strict=True))
    gw_sys = sum(a[1] - b[1] for a, b in zip(gw_after, gw_before, strict=True))
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(60)
    samples, closed = await collect(fleet)
    if args.samples:
        with open(f"{args.samples}-{clients}.tsv", "w") as out:
            out.writelines(f"{c}\t{s}\t{k}\t{r}\n" for c, s, k, r in samples)
    unique = {(c, s) for c, s, _, _ in samples}
    kernel = sorted((k - s) / 1e6 for _, s, k, _ in samples)
    read = sorted((r - s) / 1e6 for _, s, _, r in samples)
    last_of: dict[int, int] = {}
    for _, s, k, _ in samples:
        last_of[s] = max(last_of.get(s, 0), k)
    # how long a broadcast takes to reach its last client: the median broadcast
    everyone = statistics.median((k - s) / 1e6 for s, k in last_of.items()) if last_of else float("nan")
    row: dict[str, Any] = {
        "clients": clients,
        "connected": connected,
        "delivered": len(unique) / (clients * events) * 100,
        "duplicates": len(samples) - len(unique),
        "closed": closed,
        "p50": statistics.median(kernel) if kernel else float("nan"),
        "p99": pct(kernel, 0.99) if kernel else float("nan"),
        "max": kernel[-1] if kernel else float("nan"),
        "read_p99": pct(read, 0.99) if read else float("nan"),
        "everyone": everyone,
        "idle_pct": idle_pct,
        "rss_mb": connected_kb / 1024,
        "kb_per_client": (connected_kb - base_kb) / clients,
        # CPU over the latency phase (mostly the broadcasts: the gateway is idle in the pauses)
        "gw_us": (gw_user + gw_sys) / max(1, len(samples)) * 1e6,
        "gw_sys_us": gw_sys / max(1, len(samples)) * 1e6,
        "lg_us": lg_cpu / max(1, len(samples)) * 1e6,
    }

    # throughput: a burst published back to back
    await fleet.ask("reset")
    first = time.time_ns()
    for n in range(burst):
        await publish(js, events + n)
    await wait_for(fleet, clients * burst, timeout_s=120)
    samples, _ = await collect(fleet)
    if samples:
        last = max(k for _, _, k, _ in samples)
        row["fps"] = len(samples) / ((last - first) / 1e9)
        row["burst_p99"] = pct(sorted((k - s) / 1e6 for _, s, k, _ in samples), 0.99)
    else:
        row["fps"], row["burst_p99"] = 0.0, float("nan")
    row["bps"] = row["fps"] / clients

    await fleet.ask("close")
    await asyncio.sleep(1)
    return row


async def bench(args: argparse.Namespace, fleet: Fleet) -> list[dict[str, Any]]:
    root = Path(tempfile.mkdtemp(prefix="bench-sse-"))
    nats_port, redis_port, gw_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "PREQUEL_NATS_URL": f"nats://127.0.0.1:{nats_port}",
        "PREQUEL_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "PREQUEL_API_TOKENS": f"bench:{TOKEN}",
        "PREQUEL_PORT": str(gw_port),
        "PREQUEL_RATE_LIMIT_SSE_CONNECTIONS": "1000000",
        "PREQUEL_LOG_LEVEL": "WARNING",
        "PREQUEL_LOG_FORMAT": "json",
        "PREQUEL_REUSE_PORT": "true" if args.gateways > 1 else "false",
    }
    nats_args = [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(nats_port), "-sd", str(root / "js")]
    redis_args = [redis_server_binary(), "--port", str(redis_port), "--save", ""]
    procs = [
        Proc("nats", nats_args, env, root / "nats.log", nats_port),
        Proc("redis", redis_args, env, root / "redis.log", redis_port),
    ]
    try:
        for proc in procs:
            proc.start()
            assert proc.port is not None
            wait_for_port(proc.port, timeout_s=30, proc=proc.popen)
        nc = await bus.connect(env["PREQUEL_NATS_URL"], "bench")
        js = nc.jetstream()
        await bus.ensure_streams(js)
        rows = [await run_level(args, env, root, js, fleet, n) for n in args.clients]
        await bus.close(nc)
    finally:
        for proc in reversed(procs):
            proc.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--events", type=int, default=10, help="spaced broadcasts per level (latency)")
    parser.add_argument("--burst", type=int, default=20, help="events published back to back (throughput)")
    parser.add_argument("--gateways", type=int, default=1, help="gateway processes sharing the port (SO_REUSEPORT)")
    parser.add_argument("--loadgen", type=int, default=1, help="load-generator processes")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="gateway i on core i, load generators on the cores left, if any (clients woken by the gateway's "
        "writes then do not preempt it)",
    )
    parser.add_argument(
        "--profile", metavar="PREFIX", help="py-spy (pip install py-spy) records gateway 0: PREFIX-<clients>.svg"
    )
    parser.add_argument("--idle", type=float, default=10.0, help="seconds connected without events (idle CPU)")
    parser.add_argument("--samples", metavar="PREFIX", help="write the latency samples: PREFIX-<clients>.tsv")
    parser.add_argument("--profile-format", default="flamegraph", choices=["flamegraph", "raw", "speedscope"])
    args = parser.parse_args()
    raise_fd_limit()
    cpus = os.cpu_count() or 1
    left = set(range(args.gateways, cpus)) if args.pin else None
    fleet = Fleet.start(args.loadgen, left or None)  # no core left: the load generators go anywhere
    load_before = os.getloadavg()[0]
    try:
        rows = asyncio.run(bench(args, fleet))
    finally:
        fleet.stop()
    load_after = os.getloadavg()[0]
    gw = "one gateway process" if args.gateways == 1 else f"{args.gateways} gateway processes (SO_REUSEPORT)"
    gw += ", pinned" if args.pin else ""
    header = [
        "clients", "delivered", "p50 ms", "p99 ms", "max ms", "all reached ms", "read p99 ms",
        "gateway CPU µs/frame (kernel)", "idle CPU", "gateway RSS MB", "KB per client", "burst frames/s",
        "broadcasts/s",
    ]  # fmt: skip
    body = [
        [
            f"{r['clients']:,}", f"{r['delivered']:.1f}%", f"{r['p50']:.0f}", f"{r['p99']:.0f}", f"{r['max']:.0f}",
            f"{r['everyone']:.0f}", f"{r['read_p99']:.0f}", f"{r['gw_us']:.0f} ({r['gw_sys_us']:.0f})",
            f"{r['idle_pct']:.0f}%", f"{r['rss_mb']:.0f}", f"{r['kb_per_client']:.1f}", f"{r['fps']:,.0f}",
            f"{r['bps']:.1f}",
        ]
        for r in rows
    ]  # fmt: skip
    command = f"bench/sse.py --clients {' '.join(str(n) for n in args.clients)} --events {args.events}"
    command += f" --gateways {args.gateways}" if args.gateways > 1 else ""
    command += " --pin" if args.pin else ""
    emit(
        "sse",
        title=f"SSE fan-out, {gw}",
        command=command,
        table=markdown_table(header, ["r"] * len(header), [[*row] for row in body]),
        rows=[{**r, "p50_ms": r["p50"], "p99_ms": r["p99"]} for r in rows],
        notes=(
            f"{args.loadgen} load-generator process(es); latency: {args.events} spaced broadcasts per level (each "
            f"published once every client has the previous one), throughput: {args.burst} back to back; load average "
            f"{load_before:.1f} before, {load_after:.1f} after. Targets at 10,000 clients: p99 <= 200 ms, <= 30 KB "
            "per client. What each column measures, and how the gateway gets there: [sse.md](sse.md)."
        ),
    )
    for r in rows:
        if r["duplicates"] or r["closed"] or r["connected"] != r["clients"]:
            print(
                f"  {r['clients']:,}: {r['connected']:,} connected, {r['duplicates']} duplicates, "
                f"{r['closed']} streams closed by the gateway",
                file=sys.stderr,
            )
        print(
            f"  {r['clients']:,}: load generator {r['lg_us']:.1f} µs CPU per frame; "
            f"burst p99 {r['burst_p99']:.0f} ms (queueing)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
