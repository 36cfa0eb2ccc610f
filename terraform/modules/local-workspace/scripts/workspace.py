"""Lifecycle of one local candidate workspace, run by the module's local-exec provisioners.

    python3 workspace.py prepare|start|stop|remove

Inputs come only from environment variables set by Terraform (never from a shell command line):
WORKSPACE_DIR, CHALLENGE_SOURCE, CANDIDATE_NAME, AUTO_DESTROY_AT (prepare); IDE_PORT, IDE_KIND, IDE_PASSWORD (start).

Layout of WORKSPACE_DIR: ``work/`` the candidate's files, ``home/`` the IDE's HOME and settings,
``ide.pid`` and ``ide.log`` of the running IDE.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

STOP_GRACE_S = 10.0
START_CHECK_S = 1.5


def _workspace() -> Path:
    raw = os.environ.get("WORKSPACE_DIR", "")
    path = Path(raw)
    # refuse anything that is not clearly one interview's folder
    if not path.is_absolute() or not path.name.startswith("int-") or len(path.parts) < 3:
        sys.exit(f"refusing WORKSPACE_DIR={raw!r}: expected an absolute path ending in an interview id")
    return path


def prepare() -> None:
    workspace = _workspace()
    source = Path(os.environ["CHALLENGE_SOURCE"])
    if not source.is_dir():
        sys.exit(f"challenge folder {source} not found")
    work = workspace / "work"
    if work.exists():
        shutil.rmtree(work)
    (workspace / "home").mkdir(parents=True, exist_ok=True)
    workspace.chmod(0o700)
    shutil.copytree(source, work, ignore=shutil.ignore_patterns(".*"))
    count = sum(1 for p in work.rglob("*") if p.is_file())
    print(f"Copied {count} challenge files from {source.name} into {work}")
    print(f"Workspace for {os.environ.get('CANDIDATE_NAME', '?')}, destroyed at {os.environ.get('AUTO_DESTROY_AT')}")


def _ide_command(kind: str, port: int, work: Path) -> tuple[str, list[str]]:
    code_server = shutil.which("code-server")
    if kind == "code-server" or (kind == "auto" and code_server):
        if not code_server:
            sys.exit("IDE code-server requested but not found on PATH")
        args = [code_server, "--bind-addr", f"127.0.0.1:{port}", "--auth", "password",
                "--disable-telemetry", "--disable-update-check", str(work)]
        return "code-server", args
    if importlib.util.find_spec("jupyterlab") is None:
        sys.exit("JupyterLab is not installed for this Python (pip install jupyterlab) and code-server is not on PATH")
    args = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip", "127.0.0.1",
            "--port", str(port), "--port-retries", "0", f"--ServerApp.root_dir={work}"]
    return "jupyterlab", args


def _ide_env(workspace: Path, kind: str, password: str) -> dict[str, str]:
    """A minimal environment: the IDE (and its terminals) see none of the provisioner's settings or secrets."""
    home = workspace / "home"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_RUNTIME_DIR": str(home / ".jupyter" / "runtime"),
        "JUPYTER_DATA_DIR": str(home / ".jupyter" / "data"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
    }
    env["PASSWORD" if kind == "code-server" else "JUPYTER_TOKEN"] = password
    return env


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start() -> None:
    workspace = _workspace()
    port = int(os.environ["IDE_PORT"])
    password = os.environ.get("IDE_PASSWORD", "")
    if len(password) < 8:
        sys.exit("IDE_PASSWORD must be at least 8 characters")
    if _read_pid(workspace) is not None:
        stop()
    if not _port_free(port):
        sys.exit(f"port {port} on 127.0.0.1 is already in use")
    kind, args = _ide_command(os.environ.get("IDE_KIND", "auto"), port, workspace / "work")
    log_path = workspace / "ide.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            args,
            cwd=workspace / "work",
            env=_ide_env(workspace, kind, password),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives Terraform; stop() signals the whole group
        )
    (workspace / "ide.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + START_CHECK_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            sys.exit(f"{kind} exited at once with code {proc.returncode}:\n" + "\n".join(tail))
        time.sleep(0.1)
    print(f"Started {kind} (pid {proc.pid}) on 127.0.0.1:{port}")


def _read_pid(workspace: Path) -> int | None:
    try:
        pid = int((workspace / "ide.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    # guard against a recycled pid: the process must be serving this workspace
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return pid
    return pid if str(workspace) in cmdline else None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop() -> None:
    workspace = _workspace()
    pid = _read_pid(workspace)
    if pid is None:
        print("IDE is not running")
    else:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + STOP_GRACE_S
        while _group_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _group_alive(pid):
            os.killpg(pid, signal.SIGKILL)
            print(f"IDE (pid {pid}) did not stop within {STOP_GRACE_S:.0f}s: killed")
        else:
            print(f"IDE (pid {pid}) stopped")
    (workspace / "ide.pid").unlink(missing_ok=True)


def remove() -> None:
    workspace = _workspace()
    if _read_pid(workspace) is not None:
        stop()
    if workspace.exists():
        shutil.rmtree(workspace)
        print(f"Removed {workspace}")
    else:
        print(f"{workspace} already gone")


if __name__ == "__main__":
    actions = {"prepare": prepare, "start": start, "stop": stop, "remove": remove}
    if len(sys.argv) != 2 or sys.argv[1] not in actions:
        sys.exit(f"usage: workspace.py {'|'.join(actions)}")
    actions[sys.argv[1]]()
