"""Orchestration overhead: the same environment made by hand with terraform, and through the whole system.

    .venv/bin/python bench/overhead.py [--runs 5]

Raw: the provisioner's own root module and variables, then `terraform init`, `plan -out`, `apply` of the plan, and
polling the IDE until it answers — exactly the work the system must do before it may call an interview `active`.
System: POST /api/interviews/create at the front door -> `active` seen on GET /api/interviews (api, NATS, the
provisioner, Redis, events). Prints medians and the difference (target: <= 0.3 s).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from prequel_common.ports import free_port as ide_port
from prequel_provisioner.adapters.workdir import VAR_FILE, Workdirs, WorkspaceVars
from results_file import emit, markdown_table
from stack import REPO, Stack, free_port, running_stack

TOKEN = "bench-token-0123456789abcdef"
MODULE = REPO / "terraform" / "modules" / "local-workspace"


def _tf(workdir: Path, *args: str) -> None:
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": "/dev/null"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    subprocess.run(["terraform", *args], cwd=workdir, env=env, check=True, capture_output=True)


def _wait_http(url: str) -> None:
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)


def raw_run(root: Path, n: int) -> tuple[float, float]:
    """Seconds for init+plan+apply, and for that plus the IDE answering; destroys afterwards."""
    workdirs = Workdirs(root, MODULE)
    variables = WorkspaceVars(
        interview_id=f"int-raw{n:04d}",
        candidate_name="Raw",
        challenge="python",
        challenge_source=str(REPO / "challenges" / "python"),
        password="rawpassword1",
        auto_destroy_at="2030-01-01T00:00:00Z",
        port=ide_port(),
        workspace_root=str(root / "workspaces"),
        ide="auto",
    )
    started = time.monotonic()
    workdir = workdirs.write(variables)
    _tf(workdir, "init", "-input=false")
    _tf(workdir, "plan", "-input=false", f"-var-file={VAR_FILE}", "-out=tfplan")
    _tf(workdir, "apply", "-input=false", "tfplan")
    applied = time.monotonic() - started
    _wait_http(f"http://127.0.0.1:{variables.port}/")
    ready = time.monotonic() - started
    _tf(workdir, "destroy", "-input=false", "-auto-approve", f"-var-file={VAR_FILE}")
    shutil.rmtree(workdir)
    return applied, ready


def system_run(http: httpx.Client) -> float:
    started = time.monotonic()
    created = http.post(
        "/api/interviews/create", json={"candidateName": "Bench", "challenge": "python", "autoDestroyMinutes": 30}
    ).json()
    while True:
        found = [i for i in http.get("/api/interviews").json()["interviews"] if i["id"] == created["interviewId"]]
        if found and found[0]["status"] == "active":
            elapsed = time.monotonic() - started
            break
        if found and found[0]["status"] == "error":
            raise RuntimeError("create failed")
        time.sleep(0.02)
    http.post(f"/api/interviews/{created['interviewId']}/destroy")
    while True:
        found = [i for i in http.get("/api/interviews").json()["interviews"] if i["id"] == created["interviewId"]]
        if found[0]["status"] == "destroyed":
            return elapsed
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    raw = [raw_run(root / "raw", n) for n in range(args.runs)]
    overrides = {
        "PREQUEL_LOG_LEVEL": "WARNING",
        "PREQUEL_RATE_LIMIT_CREATES_PER_MINUTE": "1000",
        "PREQUEL_RATE_LIMIT_QUERIES_PER_MINUTE": "1000000",
    }
    stack = Stack(data_dir=root / "stack", tokens=f"bench:{TOKEN}", front_port=free_port(), env_overrides=overrides)
    with running_stack(stack), stack.client() as http:
        system = [system_run(http) for _ in range(args.runs)]
    applied = statistics.median(a for a, _ in raw)
    ready = statistics.median(r for _, r in raw)
    through = statistics.median(system)
    rows = [
        {"what": "raw terraform init + plan + apply (local module)", "seconds": applied},
        {"what": "raw, plus waiting for the IDE to answer", "seconds": ready},
        {"what": "POST create -> active, whole system", "seconds": through},
        {"what": "overhead (system - raw with IDE wait)", "seconds": through - ready},
    ]
    table = markdown_table(["what", "median s"], ["l", "r"], [[r["what"], f"{r['seconds']:.2f}"] for r in rows])
    emit(
        "overhead",
        title=f"Orchestration overhead, median of {args.runs} runs",
        command=f"bench/overhead.py --runs {args.runs}",
        table=table,
        rows=rows,
        notes=(
            "Raw: the provisioner's own root module and variables, `terraform init`, `plan -out`, `apply` of the "
            "plan, then polling the IDE until it answers (the work the system must do before it may say `active`). "
            "System: POST create at the front door until `active` on GET /api/interviews. Target: overhead <= 0.3 s. "
            "JupyterLab's start time varies by about half a second from run to run, which bounds what one run shows."
        ),
    )


if __name__ == "__main__":
    main()
