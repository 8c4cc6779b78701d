"""Ports for the servers the tests start.

A port the kernel hands out for `bind(("127.0.0.1", 0))` lies in the ephemeral range, the
range it also draws the local ports of outgoing connections from. A server that is killed
and started again on such a port can find it taken in between by an outgoing connection
(the load's clients, the delivery worker's connections to its receivers): Linux refuses
to bind a listener to a port an established connection uses, SO_REUSEADDR or not. The
restart then fails (the SQLite kill test once saw `patron run` exit 3 so). So the tests
take their ports below the ephemeral range, where no outgoing connection gets a port.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_LOW = 20000


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on, outside the ephemeral range."""
    high = _ephemeral_floor()
    low = _LOW if high > _LOW + 1000 else 1024
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(low, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between {low} and {high}")
