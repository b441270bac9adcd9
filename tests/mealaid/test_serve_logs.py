"""`mealaid serve` as it runs in production: its access log names each request's path but
never its query string, where an elder search carries phone digits or a name, and a rider's
link carries the key that opens the route."""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.browser import free_port
from tests.mealaid.processes import wait_until_serving

MEALAID = Path(sys.executable).parent / "mealaid"


def test_the_access_log_keeps_paths_and_drops_query_strings(tmp_path):
    port = free_port()
    environment = {**os.environ, "MEALAID_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db"}
    server = subprocess.Popen(
        [MEALAID, "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            wait_until_serving(http, server)
            http.get("/elders", params={"q": "13812345678"})
            http.get("/rider/routes/1", params={"key": "route-key-0f3a9c"})
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert '"GET /elders HTTP/1.1" 401' in output
    assert '"GET /rider/routes/1 HTTP/1.1"' in output
    assert "13812345678" not in output
    assert "route-key-0f3a9c" not in output
