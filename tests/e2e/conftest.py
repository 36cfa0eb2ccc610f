"""The whole stack as `make run` starts it (dev/stack.py), on free ports and a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from stack import Stack, free_port, running_stack

TOKEN = "e2e-token-0123456789abcdef"
#: a second user, for the per-user stream limit
LIMITED_TOKEN = "limited-token-0123456789abcdef"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("stack")
    overrides = {
        "PREQUEL_ENV": "development",
        "PREQUEL_AUTO_DESTROY_MIN_MINUTES": "1",
        "PREQUEL_HEARTBEAT_S": "2",
        "PREQUEL_STATUS_INTERVAL_S": "1",
        "PREQUEL_READY_TIMEOUT_S": "60",
        "PREQUEL_SWEEP_INTERVAL_S": "2",
        # the limits have tests of their own; the suite creates more than 10 interviews a minute
        "PREQUEL_RATE_LIMIT_CREATES_PER_MINUTE": "1000",
        "PREQUEL_RATE_LIMIT_QUERIES_PER_MINUTE": "100000",
    }
    with running_stack(
        Stack(
            data_dir=data_dir,
            tokens=f"e2e:{TOKEN},limited:{LIMITED_TOKEN}",
            front_port=free_port(),
            env_overrides=overrides,
        )
    ) as running:
        yield running
        not_destroyed = running.destroy_all(timeout_s=90)
    # running_stack killed any IDE still running; a pid file left means one had not been destroyed cleanly
    pid_files = list((data_dir / "provisioner" / "workspaces").glob("*/ide.pid"))
    assert not not_destroyed and not pid_files, f"left behind: {not_destroyed} {pid_files}"


@pytest.fixture
def http(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client() as client:
        yield client
