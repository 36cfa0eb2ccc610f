"""A free TCP port on 127.0.0.1: for a local IDE (the provisioner) and for the services of the dev stack.

Chosen below the kernel's ephemeral range (where outgoing connections take their local ports), so that between
choosing a port and its server binding it no outgoing connection of this machine can take it.
"""

from __future__ import annotations

import random
import socket

#: below Linux's default ephemeral range (32768-60999), above the well-known and most registered services
PORT_RANGE = range(20000, 32000)


def free_port(attempts: int = 200) -> int:
    for port in random.sample(PORT_RANGE, attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")
