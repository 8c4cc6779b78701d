"""The delivery worker `patron run` keeps beside its API processes: started as a child that
ends when `patron run` ends however it ends, and started again when it dies on its own
(a crash, the OOM killer, an operator's SIGKILL), so webhooks never stop flowing while
the API serves. Its leases lapse (`PATRON_WEBHOOK_LEASE_SECONDS`) and the new worker, or
any other, sends what the dead one held: delivery stays at least once."""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import threading

log = logging.getLogger("patron.run")

# Seconds between a worker's death and its replacement: a worker that dies at start (a bad
# database URL) is restarted at this pace, not in a tight loop.
RESTART_SECONDS = 1.0


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: the forking thread's end ends it


class DeliveryWorker:
    """`patron worker` as a supervised child process.

    Every start happens on the watching thread, which lives until `stop`: the kernel ties
    PR_SET_PDEATHSIG to the thread that forked the child, so no child outlives its parent.
    """

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or [sys.executable, "-m", "patron.cli", "worker"]
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="delivery-worker", daemon=True)

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._thread.start()
        self._started.wait()

    def _spawn(self) -> None:
        """Start the child (the lock held: `signal_stop` sees it, or it is not started)."""
        if not self._stopping.is_set():
            self._process = subprocess.Popen(self.command, preexec_fn=_die_with_parent)

    def _watch(self) -> None:
        with self._lock:
            self._spawn()
        self._started.set()
        while True:
            with self._lock:
                process = self._process
            if process is None:
                return
            code = process.wait()
            if self._stopping.wait(RESTART_SECONDS):
                return
            self.restarts += 1
            log.warning(
                "delivery worker %d exited (%s); starting another (restart %d)",
                process.pid,
                code,
                self.restarts,
            )
            with self._lock:
                self._spawn()

    def signal_stop(self) -> None:
        """Tell the worker to finish what it has in flight and exit; it is not restarted."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float) -> None:
        """Stop the worker and wait for it (SIGKILL past `timeout`: its leases lapse and
        another worker sends what it held)."""
        self.signal_stop()
        with self._lock:
            process = self._process
        if process is not None:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(timeout=RESTART_SECONDS + 1)
