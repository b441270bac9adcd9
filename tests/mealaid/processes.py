"""A `mealaid` command running as its own process in a test, its output collected as it runs
(a worker, the bot): stopped the way an operator stops it, or killed outright."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

MEALAID = str(Path(sys.executable).parent / "mealaid")


class Command:
    def __init__(self, *args: str, environment: dict[str, str], stop_signal: int) -> None:
        self.stop_signal = stop_signal
        self.process = subprocess.Popen(
            [MEALAID, *args],
            env={**os.environ, **environment},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self, timeout: float = 60) -> str:
        """Ask it to stop (as Ctrl-C or a service manager would) and wait; its whole output."""
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()  # never left behind holding locks for the next test
            raise
        self._reader.join(timeout=10)
        return self.output

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no clean-up of any kind
        self.process.wait(timeout=10)


def wait_until_serving(
    http: httpx.Client, process: subprocess.Popen[str], timeout: float = 60
) -> None:
    """Until the server `process` started answers its health check at `http`'s base address.
    One client for all the tries: each new one loads the certificate store (30 ms of CPU)."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the server did not start"
        try:
            if http.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
