"""The research queries through our /sparql, `oxigraph serve-read-only` and rdflib-endpoint, in one run.

    .venv/bin/python bench/bench_sparql.py --store /tmp/bench-100k --nquads /tmp/bench-100k-src/all.nq \
        --rdflib-python /tmp/rdfep-venv/bin/python [--runs 5] [--timeout 60] [--rdflib-timeout 180] \
        [--json OUT.json] [--only LABEL ...] [--engines ours,oxigraph,rdflib]

STORE is an Oxigraph store holding the synthetic corpus (one named graph per update, plus the
ontology and reference graphs); NQUADS is the same store dumped as N-Quads
(`oxigraph dump --location STORE --file all.nq`), which rdflib-endpoint loads, so that the three
servers hold exactly the same quads. RDFLIB_PYTHON is a Python with `rdflib-endpoint` installed
(a separate venv keeps its dependencies out of the project's).

The servers, all on 127.0.0.1, each on its own port:

- ours: `gunicorn -w 1 -k gthread --threads 4 app:app` with KG_STORE=STORE (2 query worker
  processes, the default), KG_QUERY_TIMEOUT=--timeout, KG_MAX_ROWS raised to 10^6 so that every
  engine returns the full result (the public default of 10,000 would truncate some answers);
- oxigraph: `oxigraph serve-read-only --location STORE --union-default-graph --timeout-s --timeout`
  (its option for the default graph as the union of the named graphs, the same dataset ours serves);
- rdflib: rdflib-endpoint's own app (`rdflib_endpoint.SparqlEndpoint` over
  `rdflib.Dataset(default_union=True)` with the N-Quads parsed, exactly what
  `rdflib-endpoint serve FILE.nq` builds) served by uvicorn. rdflib-endpoint has no query timeout
  and evaluates a query on its event loop, so a query that runs past --rdflib-timeout would block
  it for good: the data is loaded once in a parent process that forks the server, and the
  benchmark has the server process killed and forked anew (copy-on-write, instant) after a
  time-out.

Every query is sent the same way to each: HTTP POST of the bound query text as
`application/sparql-query` (the bound texts, with the project's prefixes, are longer than
gunicorn's default request-line limit of 4094 bytes, so GET ?query= is not used) with
`Accept: application/sparql-results+json`, one new connection per request (urllib), the whole
body read and parsed as JSON (a body that does not parse — `oxigraph serve --timeout-s` answers
200 with a truncated body — counts as a failure). Per query: one warm-up request per server,
then RUNS rounds that each time the servers in turn (interleaved, so that load from elsewhere on
the machine spreads over all three); the figure is the median. A server whose warm-up fails or
times out is not timed further on that query (the table shows "> T"). Row counts are compared.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACCEPT = "application/sparql-results+json"


# -- rdflib-endpoint, loaded once and forked (runs under RDFLIB_PYTHON) ---------------------------


def rdflib_serve(port: int, files: list[str]) -> None:
    """Load FILES as `rdflib-endpoint serve` does, then serve forked copies; SIGUSR1 re-forks."""
    import uvicorn
    from rdflib import Dataset
    from rdflib_endpoint import SparqlEndpoint

    started = time.perf_counter()
    dataset = Dataset(store="default", default_union=True)
    for file in files:
        dataset.parse(file)
    loaded = time.perf_counter() - started
    app = SparqlEndpoint(graph=dataset, enable_update=False)
    print(json.dumps({"triples": len(dataset), "load_seconds": round(loaded, 1),
                      "rss_mb": _rss_mb()}), flush=True)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # nobody reads the pipe after the report line: never block on it
    gc.collect()
    gc.freeze()  # keep the collector from writing to every object in the children (copy-on-write)
    child = 0

    def refork(signum, frame):
        if child:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(signum, frame):
        refork(signum, frame)
        os._exit(0)

    signal.signal(signal.SIGUSR1, refork)
    signal.signal(signal.SIGTERM, stop)
    while True:
        child = os.fork()
        if child == 0:
            signal.signal(signal.SIGUSR1, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
            os._exit(0)
        while True:
            try:
                os.waitpid(child, 0)
                break
            except InterruptedError:
                continue
        time.sleep(0.2)


def _rss_mb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


# -- servers ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, argv: list[str], url: str, env: dict | None = None, cwd: str | None = None,
                 log: str | None = None):
        self.name, self.url = name, url
        self.log = open(log or os.devnull, "wb")
        self.process = subprocess.Popen(argv, env={**os.environ, **(env or {})}, cwd=cwd,
                                        stdout=subprocess.PIPE if name == "rdflib" else self.log, stderr=self.log, stdin=subprocess.DEVNULL, start_new_session=True)
        self.info: dict = {}

    def wait_ready(self, limit: float) -> float:
        started = time.perf_counter()
        while time.perf_counter() - started < limit:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.process.returncode}")
            try:
                request("SELECT * WHERE { } LIMIT 1", self.url, 10)
                return time.perf_counter() - started
            except Exception:
                time.sleep(0.5)
        raise SystemExit(f"{self.name} did not answer within {limit:g} s")

    def after_timeout(self) -> None:
        """Bring the server back to an idle state after a request it may still be working on."""

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait()
        self.log.close()


class RdflibServer(Server):
    def read_info(self, limit: float) -> dict:
        """The load report the parent prints once the data is parsed (blocks until then)."""
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"rdflib-endpoint exited while loading ({self.process.poll()})")
        self.info = json.loads(line)
        return self.info

    def after_timeout(self) -> None:
        os.kill(self.process.pid, signal.SIGUSR1)  # the parent kills the busy child and forks a fresh one
        time.sleep(1)
        self.wait_ready(60)


def request(query: str, url: str, timeout: float) -> int:
    """Send QUERY, read and parse the whole SPARQL JSON answer; the number of rows (or -1 for ASK)."""
    req = urllib.request.Request(url, data=query.encode("utf-8"), method="POST", headers={
        "Accept": ACCEPT, "Content-Type": "application/sparql-query; charset=utf-8", "Connection": "close"})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        body = response.read()
    data = json.loads(body)
    if "boolean" in data:
        return -1
    return len(data["results"]["bindings"])


def timed(query: str, url: str, timeout: float) -> tuple[float | None, int | None, str | None]:
    started = time.perf_counter()
    try:
        rows = request(query, url, timeout)
    except (TimeoutError, socket.timeout):
        return None, None, "timeout"
    except urllib.error.HTTPError as error:
        return None, None, f"HTTP {error.code}: {error.read()[:200].decode(errors='replace').strip()}"
    except (urllib.error.URLError, ValueError, KeyError, ConnectionError, OSError) as error:
        return None, None, f"{type(error).__name__}: {str(error)[:200]}"
    return time.perf_counter() - started, rows, None


# -- the run -------------------------------------------------------------------------------------


def geomean(values: list[float]) -> float | None:
    values = [v for v in values if v and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "rdflib-serve":
        rdflib_serve(int(sys.argv[2]), sys.argv[3:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--nquads", help="the store dumped as N-Quads, for rdflib-endpoint")
    parser.add_argument("--rdflib-python", default=sys.executable)
    parser.add_argument("--engines", default="ours,oxigraph,rdflib")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per query, ours and oxigraph")
    parser.add_argument("--rdflib-timeout", type=float, default=180.0, help="seconds per query, rdflib-endpoint")
    parser.add_argument("--rdflib-budget", type=float, default=150.0,
                        help="timed seconds per query for rdflib-endpoint: fewer runs (at least 1) when its warm-up is slow")
    parser.add_argument("--rdflib-load-limit", type=float, default=1800.0)
    parser.add_argument("--only", nargs="*", help="case labels (bench/research_queries.py) to run")
    parser.add_argument("--json", help="write all figures to this file")
    parser.add_argument("--logdir", default="/tmp/bench-sparql-logs")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT / "bench"))
    import research_queries

    cases = [(label, text) for label, text in research_queries.cases() if not args.only or label in args.only]
    engines = args.engines.split(",")
    Path(args.logdir).mkdir(parents=True, exist_ok=True)
    venv_bin = Path(sys.executable).parent
    servers: dict[str, Server] = {}
    timeouts = {"ours": args.timeout, "oxigraph": args.timeout, "rdflib": args.rdflib_timeout}
    report: dict = {"store": args.store, "runs": args.runs, "timeouts": timeouts, "servers": {}, "queries": []}
    try:
        if "rdflib" in engines:  # the slow loader first, so the others start while it parses
            port = free_port()
            servers["rdflib"] = RdflibServer(
                "rdflib", [args.rdflib_python, str(Path(__file__).resolve()), "rdflib-serve", str(port), args.nquads],
                f"http://127.0.0.1:{port}/", log=f"{args.logdir}/rdflib.log")
        if "oxigraph" in engines:
            port = free_port()
            servers["oxigraph"] = Server(
                "oxigraph", [str(venv_bin / "oxigraph"), "serve-read-only", "--location", args.store,
                             "--bind", f"127.0.0.1:{port}", "--union-default-graph", "--timeout-s", str(int(args.timeout))],
                f"http://127.0.0.1:{port}/query", log=f"{args.logdir}/oxigraph.log")
        if "ours" in engines:
            port = free_port()
            servers["ours"] = Server(
                "ours", [str(venv_bin / "gunicorn"), "-w", "1", "-k", "gthread", "--threads", "4", "--bind",
                         f"127.0.0.1:{port}", "--timeout", str(int(args.timeout) + 30), "app:app"],
                f"http://127.0.0.1:{port}/sparql",
                env={"KG_STORE": args.store, "KG_QUERY_TIMEOUT": str(args.timeout), "KG_MAX_ROWS": "1000000",
                     "KG_QUERY_WORKERS": "2"},
                cwd=str(ROOT), log=f"{args.logdir}/ours.log")
        for name in ("ours", "oxigraph"):
            if name in servers:
                ready = servers[name].wait_ready(120)
                report["servers"][name] = {"ready_seconds": round(ready, 2), "url": servers[name].url}
        if "rdflib" in servers:
            started = time.perf_counter()
            info = servers["rdflib"].read_info(args.rdflib_load_limit)
            servers["rdflib"].wait_ready(120)
            info["ready_seconds"] = round(time.perf_counter() - started, 1)
            report["servers"]["rdflib"] = info
            print(f"rdflib-endpoint: {info}", flush=True)

        for label, text in cases:
            entry = {"label": label, "times": {}, "rows": {}, "errors": {}}
            live = []
            entry["warmup"] = {}
            for name in engines:  # warm-up
                seconds, rows, error = timed(text, servers[name].url, timeouts[name])
                entry["warmup"][name] = seconds
                if error:
                    entry["errors"][name] = error
                    if error == "timeout":
                        servers[name].after_timeout()
                else:
                    entry["rows"][name] = rows
                    entry["times"][name] = []
                    live.append(name)
            runs = {name: args.runs for name in live}
            if "rdflib" in live and args.rdflib_budget:  # a slow rdflib query gets fewer runs (at least 1)
                warm = args.rdflib_budget / max(entry["warmup"]["rdflib"], 1e-3)
                runs["rdflib"] = max(1, min(args.runs, int(warm)))
            for round_ in range(args.runs):
                for name in [n for n in live if runs[n] > round_]:
                    seconds, rows, error = timed(text, servers[name].url, timeouts[name])
                    if error:
                        entry["errors"][name] = error
                        live.remove(name)
                        if error == "timeout":
                            servers[name].after_timeout()
                    else:
                        entry["times"][name].append(seconds)
            entry["median"] = {n: statistics.median(t) for n, t in entry["times"].items() if t}
            report["queries"].append(entry)
            print(line(entry, engines, timeouts), flush=True)
    finally:
        for server in servers.values():
            server.stop()

    summarise(report, engines, timeouts)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


def fmt_ms(entry, name, timeouts) -> str:
    if name in entry["median"]:
        return f"{1000 * entry['median'][name]:.0f}"
    error = entry["errors"].get(name, "")
    return f"> {timeouts[name] * 1000:.0f}" if error == "timeout" else f"failed ({error[:40]})"


def line(entry, engines, timeouts) -> str:
    cells = [fmt_ms(entry, n, timeouts) for n in engines]
    rows = sorted({v for v in entry["rows"].values()})
    return f"{entry['label']:38s} " + " ".join(f"{c:>14s}" for c in cells) + f"   rows {rows}"


def summarise(report: dict, engines: list[str], timeouts: dict) -> None:
    print("\n| query | rows | " + " | ".join(f"{n} ms" for n in engines) + " | ours/oxigraph | rdflib/ours |")
    print("|---|---:|" + "---:|" * len(engines) + "---:|---:|")
    ours_ox, rdf_ours, rdf_ours_bound = [], [], []
    for entry in report["queries"]:
        m = entry["median"]
        r1 = m["ours"] / m["oxigraph"] if "ours" in m and "oxigraph" in m else None
        r2 = m["rdflib"] / m["ours"] if "rdflib" in m and "ours" in m else None
        bound = None
        if r2 is None and "ours" in m and entry["errors"].get("rdflib") == "timeout":
            bound = timeouts["rdflib"] / m["ours"]
        if r1:
            ours_ox.append(r1)
        if r2:
            rdf_ours.append(r2)
            rdf_ours_bound.append(r2)
        if bound:
            rdf_ours_bound.append(bound)
        rows = sorted({v for v in entry["rows"].values()})
        mismatch = " (row counts differ!)" if len(rows) > 1 else ""
        n = {k: len(v) for k, v in entry["times"].items()}
        few = f" (rdflib: {n['rdflib']} run{'s' if n['rdflib'] > 1 else ''})" if n.get("rdflib", report["runs"]) < report["runs"] else ""
        print(f"| {entry['label']}{few} | {', '.join(map(str, rows))}{mismatch} | "
              + " | ".join(fmt_ms(entry, n, timeouts) for n in engines)
              + f" | {f'{r1:.2f}' if r1 else '–'} | {f'{r2:.1f}' if r2 else (f'> {bound:.1f}' if bound else '–')} |")
    g1, g2, g3 = geomean(ours_ox), geomean(rdf_ours), geomean(rdf_ours_bound)
    report["geomean"] = {"ours_over_oxigraph": g1, "rdflib_over_ours_completed": g2,
                         "rdflib_over_ours_with_timeouts_as_lower_bounds": g3,
                         "n_ours_oxigraph": len(ours_ox), "n_rdflib_completed": len(rdf_ours),
                         "n_rdflib_with_bounds": len(rdf_ours_bound)}
    print()
    if g1:
        print(f"geometric mean ours/oxigraph over {len(ours_ox)} queries: {g1:.3f}  (goal <= 1.15)")
    if g2:
        print(f"geometric mean rdflib-endpoint/ours over {len(rdf_ours)} queries both completed: {g2:.1f}  (goal >= 10)")
    if g3 and len(rdf_ours_bound) > len(rdf_ours):
        print(f"  with rdflib time-outs counted at the limit ({len(rdf_ours_bound)} queries, a lower bound): >= {g3:.1f}")


if __name__ == "__main__":
    sys.exit(main())
