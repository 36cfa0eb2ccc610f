"""A free TCP port on 127.0.0.1: for a local IDE (the provisioner) and for the services of the dev stack.

Chosen below the kernel's ephemeral range (where outgoing connections take their local ports), so that between
choosing a port and its server binding it no outgoing connection of this machine can take it.
"""

from __future__ import annotations

import os
import random
import socket
from collections import deque

#: below Linux's default ephemeral range (32768-60999), above the well-known and most registered services
PORT_RANGE = range(20000, 32000)


def _ports() -> range:
    """``PREQUEL_FREE_PORTS=low-high`` narrows the range (test runs in parallel give each runner a slice of its own)."""
    configured = os.environ.get("PREQUEL_FREE_PORTS")
    if not configured:
        return PORT_RANGE
    low, high = (int(part) for part in configured.split("-", 1))
    return range(low, high)


#: ports this process handed out lately: free now, but maybe not bound yet by the server they are for
_handed_out: deque[int] = deque(maxlen=512)


def free_port(attempts: int = 200) -> int:
    ports = _ports()
    for port in random.sample(ports, min(attempts, len(ports))):
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            _handed_out.append(port)
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 in {ports.start}-{ports.stop - 1}")
