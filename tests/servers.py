"""Real server processes on loopback for tests: `oxigraph serve`, Virtuoso, and a server that always fails."""

from __future__ import annotations

import http.server
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def eventually(condition, what: str, timeout: float = 30.0):
    """Wait for CONDITION() to be true (a liveness bound, not a speed check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout:g} s: {what}")


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


class OxigraphProcess:
    """`oxigraph serve` on a fixed loopback port and folder, which a test may kill and start again.

    The port and the folder stay the same across restarts, so a client configured with
    `query_url` reaches the same data after `start()` as before `kill()`. The process runs in a
    group of its own and gets SIGTERM if the test process dies (no server outlives a test run).
    """

    def __init__(self, location: Path, port: int | None = None):
        self.location = Path(location)
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.query_url, self.update_url = f"{self.base}/query", f"{self.base}/update"
        self.process: subprocess.Popen | None = None

    def start(self) -> "OxigraphProcess":
        self.process = subprocess.Popen(
            [oxigraph_binary(), "serve", "--bind", f"127.0.0.1:{self.port}", "--union-default-graph",
             "--location", str(self.location)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_own_group_dying_with_parent,
        )
        wait_for(f"{self.base}/query?query=ASK%7B%7D", self.process)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: the server dies at once, mid-request or mid-write, with no clean shutdown."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None:
            _stop_group(self.process)
            self.process = None


@contextmanager
def oxigraph_process(location: Path, port: int | None = None):
    """An OxigraphProcess started on LOCATION; stopped at the end whatever the test did to it."""
    server = OxigraphProcess(location, port).start()
    try:
        yield server
    finally:
        server.stop()


# -- Virtuoso Open Source (Debian package virtuoso-opensource, 7.2) ----------------------------

VIRTUOSO_BINARY = "/usr/bin/virtuoso-t"
SESSION_VIRTUOSO_MAX_ROWS = 500  # the row cap of the test session's Virtuoso (tests/conftest.py)
ISQL_BINARY = "/usr/bin/isql-vt"
VIRTUOSO_SYSTEM_GRAPHS = (  # made at database creation; hidden from SPARQL below
    "http://www.openlinksw.com/schemas/virtrdf#",
    "http://www.w3.org/ns/ldp#",
    "http://localuriqaserver/sparql",
)
VIRTUOSO_INI = """\
; Generated for one test session: every listener on 127.0.0.1, every file in {folder}.
[Database]
DatabaseFile       = {folder}/virtuoso.db
ErrorLogFile       = {folder}/virtuoso.log
LockFile           = {folder}/virtuoso.lck
TransactionFile    = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = {folder}/virtuoso-temp.db
TransactionFile    = {folder}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort           = 127.0.0.1:{sql_port}
DisableUnixSocket    = 1
DisableTcpSocket     = 0
MaxClientConnections = 10
CheckpointInterval   = 60
O_DIRECT             = 0
CaseMode             = 2
AllowOSCalls         = 0
DirsAllowed          = {folder}
ThreadsPerQuery      = 2
AsyncQueueMaxThreads = 4
MaxQueryMem          = 256M
; 8 kB pages: 80 MB of buffers (the package default), a fifth of them dirty at most
NumberOfBuffers      = {buffers}
MaxDirtyBuffers      = {dirty_buffers}
MaxSortedTopRows     = {max_sorted_rows}

[HTTPServer]
ServerPort           = 127.0.0.1:{http_port}
ServerRoot           = {folder}/www
MaxClientConnections = 8
ServerThreads        = 8
MaxKeepAlives        = 8
KeepAliveTimeout     = 10
EnabledDavVSP        = 0
HTTPProxyEnabled     = 0
Charset              = UTF-8

[SPARQL]
ResultSetMaxRows           = {max_rows}
MaxQueryCostEstimationTime = {cost_seconds}
MaxQueryExecutionTime      = {max_seconds}
"""

# Run once on the new database, as dba. The writer is a user of its own with SPARQL_UPDATE
# (not dba, and not the anonymous SPARQL account: /sparql stays read-only); it signs in to
# /sparql-auth with HTTP digest. Virtuoso's own graphs are made private so that the default
# graph of /sparql is the union of the data's graphs only.
VIRTUOSO_SETUP = """\
DB.DBA.USER_CREATE ('{user}', '{password}');
GRANT SPARQL_UPDATE TO "{user}";
DB.DBA.RDF_GRAPH_GROUP_CREATE ('http://www.openlinksw.com/schemas/virtrdf#PrivateGraphs', 1);
{private}
DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 0, 1);
DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 1, 0);
DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('{user}', 3, 0);
USER_SET_PASSWORD ('dba', '{dba_password}');
"""


@dataclass
class Virtuoso:
    """A running Virtuoso: its endpoints, the writer's credentials and its folder."""

    base: str
    sql_port: int
    folder: Path
    user: str
    password: str
    dba_password: str
    process: subprocess.Popen
    startup: float  # seconds from start to the first answer of /sparql, setup included

    @property
    def query_url(self) -> str:
        return f"{self.base}/sparql"

    @property
    def update_url(self) -> str:
        return f"{self.base}/sparql-auth"

    def isql(self, sql: str, timeout: float = 60) -> str:
        """Run SQL statements as dba; raise if any fails."""
        return run_isql(self.sql_port, "dba", self.dba_password, sql, self.folder, timeout)

    def store(self, **options):
        """A RemoteStore on this server, writing as the writer user."""
        from kg.store import RemoteStore

        return RemoteStore(self.query_url, self.update_url, user=self.user, password=self.password, **options)

    def clear(self) -> None:
        """Drop every graph of the data (Virtuoso's own graphs stay)."""
        keep = ", ".join(f"iri_to_id ('{g}')" for g in VIRTUOSO_SYSTEM_GRAPHS)
        self.isql(f"DELETE FROM DB.DBA.RDF_QUAD WHERE G NOT IN ({keep});")


def run_isql(port: int, user: str, password: str, sql: str, folder: Path, timeout: float = 60) -> str:
    script = folder / f"isql-{secrets.token_hex(4)}.sql"
    script.write_text(sql)
    try:
        done = subprocess.run(
            [ISQL_BINARY, f"127.0.0.1:{port}", user, password, str(script)],
            capture_output=True, text=True, timeout=timeout,
        )
    finally:
        script.unlink()
    if done.returncode != 0 or "*** Error" in done.stdout or "*** Error" in done.stderr:
        raise RuntimeError(f"isql failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextmanager
def virtuoso_serve(*, max_rows: int = 10000, max_seconds: int = 60, max_sorted_rows: int = 10000,
                   cost_seconds: int = 400, buffers: int = 10000, folder: Path | None = None):
    """Virtuoso with a generated virtuoso.ini in a temporary folder, listening on 127.0.0.1 only.

    Yields a `Virtuoso`. MAX_ROWS is the [SPARQL] ResultSetMaxRows cap, MAX_SECONDS its
    MaxQueryExecutionTime. The process runs in a group of its own, stopped at the end (and when this
    process dies) and the folder removed.
    """
    if not Path(VIRTUOSO_BINARY).exists():
        raise RuntimeError("Virtuoso is not installed: apt-get install virtuoso-opensource (make install-test does)")
    own_folder = folder is None
    folder = Path(tempfile.mkdtemp(prefix="kg-virtuoso-")) if folder is None else folder
    (folder / "www").mkdir(parents=True, exist_ok=True)
    sql_port, http_port = free_port(), free_port()
    while http_port == sql_port:
        http_port = free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(VIRTUOSO_INI.format(
        folder=folder, sql_port=sql_port, http_port=http_port, max_rows=max_rows, max_seconds=max_seconds,
        max_sorted_rows=max_sorted_rows, cost_seconds=cost_seconds, buffers=buffers, dirty_buffers=buffers * 3 // 4,
    ))
    started = time.monotonic()
    log = open(folder / "stdout.log", "wb")
    process = subprocess.Popen(
        [VIRTUOSO_BINARY, "+foreground", "+configfile", str(ini)],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_own_group_dying_with_parent,
    )
    base = f"http://127.0.0.1:{http_port}"
    try:
        wait_for(f"{base}/sparql?query=ASK%7B%7D", process, timeout=120)
        user, password, dba_password = "kg_writer", secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        private = "\n".join(
            f"DB.DBA.RDF_GRAPH_GROUP_INS ('http://www.openlinksw.com/schemas/virtrdf#PrivateGraphs', '{g}');"
            for g in VIRTUOSO_SYSTEM_GRAPHS
        )
        run_isql(sql_port, "dba", "dba", VIRTUOSO_SETUP.format(
            user=user, password=password, dba_password=dba_password, private=private), folder)
        yield Virtuoso(base, sql_port, folder, user, password, dba_password, process, time.monotonic() - started)
    finally:
        _stop_group(process)
        log.close()
        if own_folder:
            shutil.rmtree(folder, ignore_errors=True)


def _own_group_dying_with_parent() -> None:
    """In the child, before exec: a process group of its own (stopped as a whole at the end), and
    SIGTERM when the parent dies, so that a test run killed without teardown leaves no server."""
    os.setsid()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop_group(process: subprocess.Popen) -> None:
    """Stop a process started with start_new_session=True, and everything in its group."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


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


@contextmanager
def dropping_proxy(target: str, drop):
    """A loopback HTTP proxy to TARGET (a base URL) that hangs up on some requests.

    Every request is forwarded and answered as TARGET answers, except that for a request where
    DROP(method, path) is true the answer is thrown away and the connection closed without a
    word: what a client sees when the server dies after doing the work but before answering.
    Yields the proxy's base URL.
    """
    import http.client
    import urllib.parse

    parsed = urllib.parse.urlsplit(target)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            upstream = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
            finally:
                upstream.close()
            self.close_connection = True
            if drop(self.command, self.path):
                return  # hang up: no status line, no body
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _forward

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
