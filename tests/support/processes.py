"""Ending a child process a test started (a server, a worker): ask, wait, then kill."""

from __future__ import annotations

import signal
import subprocess


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30,
         kill_timeout: float = 10) -> None:
    """Send `sig` unless the process has ended, wait up to `timeout` s, then kill it if it has not."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(kill_timeout)
