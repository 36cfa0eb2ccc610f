"""``make run``: the whole portal on http://localhost:3000, each service its own process, restarted if it dies.

Ctrl-C destroys the interviews still alive (so no IDE outlives the portal; set PREQUEL_DEV_KEEP_INTERVIEWS=1 to
keep them), then stops everything it started. State (NATS, Redis, Terraform) is kept in .run/ between runs.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import REPO, Stack

RUN_DIR = REPO / ".run"


def dev_tokens() -> str:
    """PREQUEL_API_TOKENS, or one development token kept in .run/dev-token across runs."""
    configured = os.environ.get("PREQUEL_API_TOKENS")
    if configured:
        return configured
    token_file = RUN_DIR / "dev-token"
    if not token_file.exists():
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        token_file.write_text(secrets.token_urlsafe(24))
        token_file.chmod(0o600)
    return f"dev:{token_file.read_text().strip()}"


def main() -> None:
    tokens = dev_tokens()
    overrides = {k: v for k, v in os.environ.items() if k.startswith("PREQUEL_")}
    overrides.setdefault("PREQUEL_ENV", "development")
    overrides["PREQUEL_API_TOKENS"] = tokens
    stack = Stack(
        data_dir=RUN_DIR,
        tokens=tokens,
        front_port=int(os.environ.get("PORT", "3000")),
        env_overrides=overrides,
        provisioners=int(os.environ.get("PREQUEL_PROVISIONER_REPLICAS", "1")),
        gateways=int(os.environ.get("PREQUEL_GATEWAY_REPLICAS", "1")),
    )
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        if stopping:  # a second Ctrl-C: stop at once
            stack.stop()
            sys.exit(1)
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print("Starting NATS, Redis, api, events-gateway, provisioner, scheduler ...", flush=True)
    try:
        stack.start()
        token = tokens.split(",")[0].split(":", 1)[1]
        print(
            f"""
Prequel Portal is up: {stack.url}   (logs in {stack.logs})
API token (user '{tokens.split(":", 1)[0]}'): {token}

  curl -H 'Authorization: Bearer {token}' {stack.url}/api/challenges
  curl -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\
       -d '{{"candidateName": "Jane Smith", "challenge": "python", "autoDestroyMinutes": 30}}' \\
       {stack.url}/api/interviews/create
  curl -N '{stack.url}/api/events?access_token={token}'

Ctrl-C stops everything (and destroys the interviews still alive).
""",
            flush=True,
        )
        stack.supervise(lambda message: print(f"[supervisor] {message}", flush=True))
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        if stack.procs and os.environ.get("PREQUEL_DEV_KEEP_INTERVIEWS") != "1":
            print("\nDestroying the interviews still alive (Ctrl-C again to skip) ...", flush=True)
            try:
                left = stack.destroy_all(timeout_s=120)
                if left:
                    print(f"not destroyed in time: {', '.join(left)}", flush=True)
            except Exception as exc:
                print(f"could not destroy interviews: {exc!r}", flush=True)
        stack.stop()
        print("Stopped.", flush=True)


if __name__ == "__main__":
    main()
