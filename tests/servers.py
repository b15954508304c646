"""Real server processes on loopback for tests: `oxigraph serve`, and a server that always fails."""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except Exception:  # not up yet
            time.sleep(0.1)
    raise TimeoutError(f"nothing answered at {url} within {timeout} s")


def oxigraph_binary() -> str:
    found = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    if not Path(found).exists():
        raise RuntimeError("the `oxigraph` server is not installed: pip install -e '.[test]' installs it")
    return found


@contextmanager
def oxigraph_serve(location: Path | None = None):
    """`oxigraph serve` on 127.0.0.1:<free port>, union default graph; yields its base URL."""
    port = free_port()
    command = [oxigraph_binary(), "serve", "--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    if location is not None:
        command += ["--location", str(location)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/query?query=ASK%7B%7D", process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def failing_server(status: int = 500):
    """An HTTP server on loopback that answers every request with STATUS."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _fail(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"internal error")

        do_GET = do_POST = _fail

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
