"""Faults, with real processes: the service recovers and nothing is lost (issue 8, point 5).

- An app worker of `gunicorn app:app` killed with SIGKILL while queries run: the master starts
  another, every request begun after the death succeeds, the dead worker's query workers exit,
  and the store's export is unchanged.
- A query worker (`python -m kg.query_worker`) killed with SIGKILL mid-query: that request gets
  a 503 with a plain message, the runner starts another worker, the next requests succeed.
- The SPARQL server behind the app (`oxigraph serve`, KG_SPARQL_QUERY) killed mid-request: a 503
  with a plain message and no traceback, 503s while it is down, and answers again once it is
  started again on the same port and data, without restarting the app.
- The SPARQL server killed during a bulk load into it (`kg load`'s loader, several requests):
  after a restart every graph is wholly the old or wholly the new version, with the provenance
  of that version; `kg load` itself exits with a message, not a traceback.
- The server doing an update and then hanging up before answering (a proxy that drops the
  answer): `kg load` says the write may or may not have been applied (it was), not "nothing was
  changed", and loading again settles it.

/sparql, like every page, answers 503 when the store fails (StoreError.status).

The loader killed during a load of the embedded store is tests/test_crash.py (21 trials).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.bulk import BulkLoader
from kg.cli import main
from kg.load import graph_iri_for
from kg.store import EmbeddedStore, RemoteStore, StoreError
from kg.validate import Validator

from conftest import DATA, ROOT, TEST_DATA
from servers import (
    _own_group_dying_with_parent, _stop_group, dropping_proxy, eventually, free_port, oxigraph_process, wait_for,
)
from test_crash import FILES, triples_of, write_version

GUNICORN = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
PREFIX = "PREFIX kg: <https://w3id.org/detention-kg/def/>\n"
COUNT = PREFIX + "SELECT (COUNT(?u) AS ?n) WHERE { ?u a kg:Update }"
# Runs far longer than any test waits (a cross product of every triple with itself, twice),
# in constant memory: the request that is in flight when a process is killed.
ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
UPDATE = "https://w3id.org/detention-kg/id/update/2020-07-01-testland"


# -- processes -------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """Live child processes of PID (from /proc: the gthread workers start theirs from any thread)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return sorted(found)


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def query_workers(app_worker: int) -> list[int]:
    return [p for p in children(app_worker) if "kg.query_worker" in command_line(p)]


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def busy_one(pids: list[int], timeout: float = 30.0, ticks: int = 30) -> int:
    """The process of PIDS that is running something: it has used TICKS (0.3 s) of CPU since asked."""
    start = {pid: cpu_ticks(pid) for pid in pids}
    return eventually(lambda: next((p for p in pids if cpu_ticks(p) - start[p] >= ticks), None),
                      f"one of {pids} to start working", timeout)


@contextmanager
def gunicorn(env: dict, workers: int = 1, worker_class: str = "sync", threads: int = 1):
    """`gunicorn app:app` on a free loopback port; yields (base URL, master pid)."""
    port = free_port()
    command = [GUNICORN, "--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads),
               "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "--timeout", "120", "--graceful-timeout", "5",
               "app:app"]
    process = subprocess.Popen(
        command, env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_own_group_dying_with_parent,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/favicon.ico", process, timeout=60)
        yield base, process.pid
    finally:
        _stop_group(process)


def get(url: str, accept: str = "text/html", data: bytes | None = None, timeout: float = 60) -> tuple[int, str, dict]:
    """(status, body, headers) of one request on a new connection; HTTP errors are answers too."""
    headers = {"Accept": accept, "Connection": "close"}
    if data is not None:
        headers["Content-Type"] = "application/sparql-query"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace"), dict(error.headers)


def sparql(base: str, query: str, accept: str = "application/sparql-results+json", timeout: float = 60):
    return get(f"{base}/sparql", accept, data=query.encode(), timeout=timeout)


def assert_plain(body: str, *words: str) -> None:
    """A message a person can read: the words expected, and no sign of a Python traceback."""
    for sign in ("Traceback", 'File "/', "raise ", "Exception"):
        assert sign not in body, f"a traceback leaked into the response: {body[:500]}"
    for word in words:
        assert word in body, f"{word!r} not in the message: {body[:500]}"


def sparql_status_is_503(status: int, body: str) -> None:
    """/sparql must answer 503 when the store fails (the service's fault, not the client's)."""
    assert status == 503, f"/sparql: the store failing is not the client's fault: {status} {body[:300]}"


def export_digest(store_path: Path) -> str:
    """sha256 of `kg export --format nquads`, lines sorted (blank-node order aside, the store's content)."""
    result = CliRunner().invoke(main, ["export", "--store", str(store_path), "--format", "nquads"])
    assert result.exit_code == 0, result.output
    return hashlib.sha256(b"\n".join(sorted(result.stdout_bytes.splitlines()))).hexdigest()


FIXTURES = [ROOT / "ontology", DATA / "reference", TEST_DATA / "load" / "2020-07-01-testland.ttl"]


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "store"
    store = EmbeddedStore(path)
    BulkLoader(store, workers=1).load(FIXTURES)
    store.close()
    return path


# -- (a) an app worker killed -----------------------------------------------------------------------


def test_a_killed_app_worker_is_replaced_and_nothing_is_lost(embedded):
    before = export_digest(embedded)
    env = {"KG_STORE": str(embedded), "KG_QUERY_WORKERS": "1"}
    with gunicorn(env, workers=3) as (base, master):
        eventually(lambda: len(children(master)) == 3, "three app workers")
        workers_before = set(children(master))
        log: list[tuple[float, float, object, str | None]] = []  # (started, ended, status or error, worker)
        stop = threading.Event()
        urls = [(f"{base}/sparql", COUNT), (f"{base}/", None), (f"{base}/id/update/2020-07-01-testland.ttl", None),
                (f"{base}/countries", None)]

        def client(n: int) -> None:
            i = n
            while not stop.is_set():
                url, query = urls[i % len(urls)]
                i += 1
                started = time.monotonic()
                try:
                    if query:
                        status, _, headers = sparql(base, query, timeout=30)
                    else:
                        status, _, headers = get(url, timeout=30)
                    log.append((started, time.monotonic(), status, headers.get("KG-Worker")))
                except OSError as error:  # the connection the killed worker held
                    log.append((started, time.monotonic(), repr(error), None))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        try:
            eventually(lambda: sum(1 for entry in log if entry[2] == 200) >= 20, "20 answers before the kill")
            victim = int(next(entry[3] for entry in reversed(log) if entry[3]))  # a worker that is serving
            orphans = query_workers(victim)
            assert orphans, "the worker that answered has started its query worker"
            killed_at = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            eventually(lambda: not alive(victim), "the killed worker to be gone")
            gone_at = time.monotonic()
            replaced = eventually(
                lambda: (lambda now: now - workers_before if len(now) == 3 and victim not in now else None)(
                    set(children(master))), "the master to start a new worker")
            newcomer = str(next(iter(replaced)))
            eventually(lambda: any(entry[3] == newcomer for entry in log), "the new worker to answer", timeout=60)
            count_at_end = len(log)
            eventually(lambda: len(log) >= count_at_end + 20, "20 more answers")
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        # The query workers of the killed worker see their pipe close and exit: nothing is left behind.
        eventually(lambda: not any(alive(p) for p in orphans), f"the killed worker's query workers {orphans} to exit")

    in_flight = [e for e in log if e[0] < killed_at < e[1]]
    assert in_flight, "the kill must land while requests are being answered"
    later = [e for e in log if e[0] > gone_at]
    assert later and all(e[2] == 200 for e in later), [e for e in later if e[2] != 200]
    assert all(e[2] == 200 or e[0] < gone_at for e in log)
    assert export_digest(embedded) == before, "the store changed"


# -- (b) a query worker killed ------------------------------------------------------------------------


def test_a_killed_query_worker_fails_its_request_cleanly_and_is_replaced(embedded):
    before = export_digest(embedded)
    # No recycling: the test counts the pool's processes, and a slow query (a loaded CI machine)
    # would otherwise bring a spare (tests/test_worker_pool.py covers that).
    env = {"KG_STORE": str(embedded), "KG_QUERY_WORKERS": "2", "KG_QUERY_TIMEOUT": "120", "KG_QUERY_RECYCLE": "0"}
    with gunicorn(env, workers=1, worker_class="gthread", threads=4) as (base, master):
        assert sparql(base, COUNT)[0] == 200  # starts the worker pool
        (app_worker,) = children(master)
        pool = eventually(lambda: (lambda q: q if len(q) == 2 else None)(query_workers(app_worker)), "two query workers")
        answer: dict = {}

        def endless() -> None:
            answer["response"] = sparql(base, ENDLESS, timeout=120)

        thread = threading.Thread(target=endless)
        thread.start()
        busy = busy_one(pool)
        os.kill(busy, signal.SIGKILL)
        thread.join(timeout=60)
        status, body, _ = answer["response"]
        after = eventually(lambda: (lambda q: q if len(q) == 2 and busy not in q else None)(query_workers(app_worker)),
                           "the runner to replace the killed query worker")
        assert set(pool) - {busy} <= set(after), "the other query worker carried on"
        for _ in range(6):  # both workers (the new one included) answer
            status_ok, body_ok, _ = sparql(base, COUNT)
            assert status_ok == 200 and json.loads(body_ok)["results"]["bindings"][0]["n"]["value"] == "1"
        assert get(f"{base}/id/update/2020-07-01-testland")[0] == 200
    assert_plain(body, "query worker")
    assert export_digest(embedded) == before
    sparql_status_is_503(status, body)


# -- (c) the SPARQL server killed mid-request ---------------------------------------------------------


def test_the_app_recovers_when_its_sparql_server_dies_mid_request(tmp_path):
    with oxigraph_process(tmp_path / "oxigraph") as server:
        BulkLoader(RemoteStore(server.query_url, server.update_url), workers=1).load(FIXTURES)
        env = {"KG_SPARQL_QUERY": server.query_url, "KG_SPARQL_UPDATE": server.update_url, "KG_QUERY_TIMEOUT": "120"}
        with gunicorn(env, workers=1, worker_class="gthread", threads=4) as (base, _):
            assert get(f"{base}/")[0] == 200
            answer: dict = {}

            def endless() -> None:
                answer["response"] = sparql(base, ENDLESS, timeout=120)

            thread = threading.Thread(target=endless)
            thread.start()
            busy_one([server.pid])
            server.kill()
            thread.join(timeout=60)
            mid_request = answer["response"]

            down_page = get(f"{base}/")
            down_turtle = get(f"{base}/id/update/2020-07-01-testland", "text/turtle")
            down_sparql = sparql(base, COUNT)

            server.start()  # the same port and folder: the app is not restarted
            assert get(f"{base}/")[0] == 200
            status, body, _ = sparql(base, COUNT)
            assert status == 200 and json.loads(body)["results"]["bindings"][0]["n"]["value"] == "1"
            status, body, _ = get(f"{base}/id/update/2020-07-01-testland", "text/turtle")
            assert status == 200 and "Testland" in body

    for status, body, _ in (down_page, down_turtle):
        assert status == 503, (status, body[:300])
        assert_plain(body, "SPARQL server")
    assert_plain(mid_request[1], "SPARQL server", "stopped answering mid-request")
    assert_plain(down_sparql[1], "SPARQL server", "cannot reach")
    sparql_status_is_503(mid_request[0], mid_request[1])
    sparql_status_is_503(down_sparql[0], down_sparql[1])


# -- (d) the SPARQL server killed during a load ---------------------------------------------------------

DRIVER = """
import sys
from kg.bulk import BulkLoader
from kg.store import RemoteStore
from kg.validate import Validator
store = RemoteStore(sys.argv[1], sys.argv[2])
loader = BulkLoader(store, Validator(known_updates=[]), workers=1, batch_size=5)
loader.load([sys.argv[3]], progress=lambda item: print("wrote", flush=True))
print("done", flush=True)
"""
TRIALS = 4


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Versions A and B of FILES updates; a stopped `oxigraph serve` folder holding A; what each holds."""
    root = tmp_path_factory.mktemp("remote-crash")
    files = {"A": write_version(root / "A", "A"), "B": write_version(root / "B", "B")}
    with oxigraph_process(root / "base") as server:
        BulkLoader(RemoteStore(server.query_url, server.update_url), Validator(known_updates=[]), workers=1).load(
            [root / "A"])
    expected = {
        slug: {v: (triples_of(files[v][slug]), hashlib.sha256(files[v][slug].read_bytes()).hexdigest()) for v in "AB"}
        for slug in files["A"]
    }
    return root, expected


def check_remote(server, expected) -> dict[str, int]:
    """Every graph wholly A or wholly B, with that version's provenance; how many of each."""
    store = RemoteStore(server.query_url, server.update_url)
    seen = {"A": 0, "B": 0}
    for slug, by_version in expected.items():
        graph = graph_iri_for(Path(slug + ".ttl"), [f"https://w3id.org/detention-kg/id/update/{slug}"])
        content = store.graph_triples(graph)
        matches = [v for v, (triples, _) in by_version.items() if content == triples]
        assert len(matches) == 1, f"{graph} is neither version A nor version B ({len(content)} triples)"
        info = store.graph_info(graph)
        assert info is not None and info.sha256 == by_version[matches[0]][1], f"provenance of {graph} disagrees"
        seen[matches[0]] += 1
    assert store.version() == FILES + seen["B"], "the version must count every completed write"
    return seen


def start_driver(server, source: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, server.query_url, server.update_url, str(source)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )


def test_a_sparql_server_dying_mid_load_leaves_every_graph_wholly_old_or_new(versions, tmp_path):
    root, expected = versions
    port = free_port()  # each trial's server: a copy of the base folder, on this port
    calibration = tmp_path / "calibration"
    shutil.copytree(root / "base", calibration)
    with oxigraph_process(calibration, port) as server:
        driver = start_driver(server, root / "B")
        assert driver.stdout.readline().strip() == "wrote"
        started = time.monotonic()
        rest = driver.stdout.read().split()
        driver.wait(timeout=120)
        write_phase = time.monotonic() - started
        assert rest[-1] == "done" and check_remote(server, expected) == {"A": 0, "B": FILES}

    rng = random.Random(20261126)
    outcomes = []
    for trial in range(TRIALS):
        folder = tmp_path / f"trial-{trial}"
        shutil.copytree(root / "base", folder)
        with oxigraph_process(folder, port) as server:
            driver = start_driver(server, root / "B")
            assert driver.stdout.readline().strip() == "wrote"
            time.sleep(rng.uniform(0.0, write_phase))
            server.kill()
            out, err = driver.communicate(timeout=120)
            server.start()
            outcomes.append(check_remote(server, expected))
            if "done" not in out:  # the loader stopped on the error: a StoreError naming the server
                assert "StoreError" in err and "SPARQL server" in err, err[-800:]
        shutil.rmtree(folder)
    assert any(o["A"] and o["B"] for o in outcomes), f"no kill landed mid-load, nothing was tested: {outcomes}"


def test_kg_load_reports_a_sparql_server_that_dies_while_it_runs_without_a_traceback(versions, tmp_path):
    """`kg load` itself (one request for the batch): all or nothing, and a message, not a traceback."""
    root, expected = versions
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

    def kg_load(server) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "kg.cli", "load", "--sparql-query", server.query_url,
             "--sparql-update", server.update_url, str(root / "B")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )

    shutil.copytree(root / "base", tmp_path / "calibration")
    with oxigraph_process(tmp_path / "calibration") as server:
        started = time.monotonic()
        out, err = kg_load(server).communicate(timeout=120)
        duration = time.monotonic() - started
        assert check_remote(server, expected) == {"A": 0, "B": FILES}, out + err

    shutil.copytree(root / "base", tmp_path / "server")
    with oxigraph_process(tmp_path / "server") as server:
        load = kg_load(server)
        time.sleep(duration * 0.8)  # late in the run: after validation, about when it writes
        server.kill()
        out, err = load.communicate(timeout=120)
        server.start()
        seen = check_remote(server, expected)
    assert seen in ({"A": FILES, "B": 0}, {"A": 0, "B": FILES}), seen  # one request: all or nothing
    if load.returncode != 0:
        assert load.returncode == 2, (load.returncode, out, err)
        assert_plain(err, "SPARQL server")


def test_an_update_whose_answer_is_lost_is_reported_as_maybe_applied(versions, tmp_path):
    """The server does the write, then the connection drops before its answer: `kg load` must not say
    "nothing was changed" (it was), and loading again must settle it."""
    root, expected = versions
    shutil.copytree(root / "base", tmp_path / "server")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with oxigraph_process(tmp_path / "server") as server:
        with dropping_proxy(server.base, lambda method, path: method == "POST" and path.startswith("/update")) as proxy:
            done = subprocess.run(
                [sys.executable, "-m", "kg.cli", "load", "--sparql-query", f"{proxy}/query",
                 "--sparql-update", f"{proxy}/update", str(root / "B")],
                capture_output=True, text=True, env=env, timeout=120,
            )
            assert done.returncode == 2, (done.stdout, done.stderr)
            assert_plain(done.stderr, "SPARQL server", "may or may not have been applied", "load the files again")
            assert "nothing was changed" not in done.stderr
            assert check_remote(server, expected) == {"A": 0, "B": FILES}  # it was applied, wholly

            # A query whose answer is lost: a plain StoreError that says so.
            with dropping_proxy(server.base, lambda method, path: path.startswith("/query")) as mute:
                with pytest.raises(StoreError, match="stopped answering mid-request"):
                    RemoteStore(f"{mute}/query").query("ASK {}")
            assert RemoteStore(f"{proxy}/query").query("ASK { ?s ?p ?o }").boolean is True  # queries pass

        again = subprocess.run(
            [sys.executable, "-m", "kg.cli", "load", "--sparql-query", server.query_url,
             "--sparql-update", server.update_url, str(root / "B")],
            capture_output=True, text=True, env=env, timeout=120,
        )
        assert again.returncode == 0, again.stderr
        assert check_remote(server, expected) == {"A": 0, "B": FILES}
