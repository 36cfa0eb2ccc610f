"""Fuzzing the running stack: schemathesis's command line against the front door (api and gateway, real NATS and
Redis, real HTTP) with a valid token, every operation of /openapi.json, every check: no server error anywhere.

No provisioner runs in this stack: generated creates stay pending instead of starting hundreds of IDEs (the
provisioner is fuzzed on its own NATS interface in test_nats_interface.py). The in-process suite in tests/fuzz
goes deeper on the schema (stateful links, a seeded store); this one proves the deployed shape answers the same.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from stack import Stack, free_port

pytestmark = pytest.mark.e2e

TOKEN = "fuzz-token-0123456789abcdef"


@pytest.fixture(scope="module")
def bare_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    overrides = {
        "PREQUEL_ENV": "production",  # what a stranger would reach: no details in errors
        "PREQUEL_RATE_LIMIT_CREATES_PER_MINUTE": "100000",
        "PREQUEL_RATE_LIMIT_QUERIES_PER_MINUTE": "1000000",
    }
    stack = Stack(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        tokens=f"fuzz:{TOKEN}",
        front_port=free_port(),
        env_overrides=overrides,
        provisioners=0,
    )
    stack.start()  # not running_stack: with no provisioner there is nothing to destroy, and nothing would
    try:
        yield stack
    finally:
        stack.stop()


def test_no_operation_of_the_running_stack_answers_a_server_error(bare_stack: Stack, tmp_path: Path) -> None:
    report = tmp_path / "schemathesis.json"
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{bare_stack.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--checks",
            "all",
            # a schema-valid request may still break a rule that depends on state (extend past the maximum lifetime
            # of that interview): refusing it with 400 is right, so that one check is left out
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            "15",
            "--seed",
            "20261203",
            "--generation-deterministic",
            "--request-timeout",
            "30",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,  # schemathesis keeps a folder of its own where it runs
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    events = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    assert len(events) > 20, "schemathesis reported what it ran"
    # every api log line is JSON and none is an unhandled exception
    api_log = (bare_stack.logs / "api.log").read_text(errors="replace")
    assert "Traceback" not in api_log and "Exception in ASGI application" not in api_log
