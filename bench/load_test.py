"""Load: 60 s of mixed concurrent traffic against `gunicorn app:app`, with latency and memory figures.

    flock /tmp/kg-bench.lock .venv/bin/python bench/load_test.py [--store DIR | --synthetic N]
        [--users 20] [--spawn-rate 10] [--duration 60] [--workers 3] [--worker-class gthread]
        [--threads 4] [--query-workers 2] [--out DIR]

Needs the `bench` extra (locust): pip install -e '.[bench]'.

1. The store: DIR as it is; or, by default, an embedded store built from ontology/ and data/
   with `kg load` (in /tmp/kg-load-data/store, built once); or with --synthetic N, N updates of
   bench/synthetic.py loaded with `kg load` (the bulk loader) beside ontology/ and
   data/reference/ (in /tmp/kg-load-synthetic-N/, built once).
2. `gunicorn app:app` on a free loopback port (KG_STORE=the store, KG_QUERY_WORKERS, default
   limits otherwise: 10 s per query), WORKERS workers of WORKER_CLASS. The app is asked for
   /index.json until it answers; nothing else is warmed, so the load starts from cold caches.
3. The IRIs the traffic uses are asked of the store first (updates, countries with updates,
   measure types in use) and handed to bench/locustfile.py (KG_LOAD_TARGETS).
4. locust, headless: USERS users spawned at SPAWN_RATE per second for DURATION seconds, mixed
   traffic (see bench/locustfile.py for the kinds and weights). Meanwhile, once a second, the
   RSS of the gunicorn master, of its workers and of their query-worker subprocesses
   (`python -m kg.query_worker`) is read (psutil), with their number.
5. Everything is stopped; a Markdown report (errors, per-kind p50/p90/p99 and requests/s,
   memory min/max/at end) is printed and written to OUT/report.md, with the raw request log
   (requests.jsonl), the memory samples (memory.csv) and locust's own CSV files.

An error is any status outside 2xx/3xx, a connection error or a timeout, except the 404 that the
`miss:404` kind asks for on purpose (which must be exactly 404). 503 (query timeout, every
worker busy) counts as an error. Exit status 1 when there was any error.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PREFIXES = (
    "PREFIX kg: <https://w3id.org/detention-kg/def/>\n"
    "PREFIX dcterms: <http://purl.org/dc/terms/>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kg(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, "-m", "kg.cli", *args], check=True, env=env, stdout=subprocess.DEVNULL)


def build_store(synthetic: int | None) -> Path:
    """The store to serve: built once with `kg load` in a folder under /tmp."""
    if synthetic is None:
        folder = Path("/tmp/kg-load-data")
        sources = [ROOT / "ontology", ROOT / "data"]
    else:
        folder = Path(f"/tmp/kg-load-synthetic-{synthetic}")
        updates = folder / "updates"
        if not updates.exists():
            subprocess.run([sys.executable, str(ROOT / "bench" / "synthetic.py"), str(synthetic), str(updates)],
                           check=True, stdout=subprocess.DEVNULL)
        sources = [ROOT / "ontology", ROOT / "data" / "reference", updates]
    store = folder / "store"
    done = folder / "built"
    if not done.exists():
        shutil.rmtree(store, ignore_errors=True)
        store.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        kg("load", "--store", str(store), *map(str, sources))
        done.write_text(f"built in {time.monotonic() - started:.1f} s\n")
    return store


def select(base: str, query: str) -> list[dict]:
    url = f"{base}/sparql?" + urllib.parse.urlencode({"query": PREFIXES + query})
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        rows = json.loads(response.read())["results"]["bindings"]
    return [{k: v["value"] for k, v in row.items()} for row in rows]


def targets(base: str) -> dict:
    """IRIs the store holds, for the traffic: spread over the store, not its first rows only."""
    updates = [r["u"] for r in select(base, "SELECT ?u WHERE { ?u a kg:Update } ORDER BY ?u")]
    step = max(1, len(updates) // 200)
    countries = [r["c"] for r in select(base, "SELECT DISTINCT ?c WHERE { ?u kg:country ?c } ORDER BY ?c")]
    types = [r["t"] for r in select(base, "SELECT DISTINCT ?t WHERE { ?m kg:measureType ?t } ORDER BY ?t")]
    labels = [r["l"] for r in select(base, "SELECT DISTINCT ?l WHERE { ?u kg:country ?c . ?c rdfs:label ?l } LIMIT 40")]
    return {"updates": updates[::step][:200], "countries": countries, "measure_types": types,
            "search": [label.split()[0] for label in labels] or ["Germany"], "counts": {
                "updates": len(updates), "countries": len(countries), "measure_types": len(types)}}


class MemorySampler(threading.Thread):
    """RSS of the gunicorn master, its workers and their query workers, once a second."""

    def __init__(self, master_pid: int):
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.master = psutil.Process(master_pid)
        self.samples: list[dict] = []
        self.stop = threading.Event()

    def sample(self) -> dict:
        ps = self.psutil
        row = {"t": time.time(), "master": 0, "workers": 0, "query_workers": 0, "n_workers": 0, "n_query_workers": 0,
               "max_worker": 0, "max_query_worker": 0}
        try:
            row["master"] = self.master.memory_info().rss
            for worker in self.master.children():
                try:
                    rss = worker.memory_info().rss
                    row["workers"] += rss
                    row["n_workers"] += 1
                    row["max_worker"] = max(row["max_worker"], rss)
                    for child in worker.children(recursive=True):
                        try:
                            rss = child.memory_info().rss
                        except ps.NoSuchProcess:
                            continue
                        row["query_workers"] += rss
                        row["n_query_workers"] += 1
                        row["max_query_worker"] = max(row["max_query_worker"], rss)
                except ps.NoSuchProcess:
                    continue
        except ps.NoSuchProcess:
            pass
        row["total"] = row["master"] + row["workers"] + row["query_workers"]
        return row

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(self.sample())
            self.stop.wait(1.0)


def wait_for(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except Exception:
            time.sleep(0.2)
    raise TimeoutError(f"nothing answered at {url}")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def is_error(name: str, status: int | None, error: str | None) -> bool:
    if name == "miss:404":
        return status != 404
    return not status or not 200 <= status < 400  # locust gives status 0 to a connection error


def mb(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def report(args, store: Path, info: dict, rows: list, samples: list[dict], window: tuple[float, float],
           load_before: str, load_after: str, gunicorn_cmd: list[str]) -> str:
    started, ended = window
    seconds = ended - started
    kinds: dict[str, list] = {}
    for name, _, ms, status, error, _ in rows:
        kinds.setdefault(name, []).append((ms, status, error))
    errors = [(name, status, error) for name, _, _, status, error, _ in rows if is_error(name, status, error)]
    per_worker: dict[str, int] = {}
    for row in rows:
        per_worker[row[5] or "none"] = per_worker.get(row[5] or "none", 0) + 1
    lines = [
        f"### Load test: {info['label']} ({dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC)",
        "",
        "```",
        f"command: {' '.join(sys.argv)}",
        f"server: {' '.join(gunicorn_cmd)}  (KG_QUERY_WORKERS={args.query_workers}, other limits default)",
        f"load: locust {info['locust']} headless, {args.users} users, spawn rate {args.spawn_rate}/s, "
        f"{args.duration} s, wait 0-0.2 s between requests",
        f"store: {store} ({info['counts']['updates']} updates, {info['counts']['countries']} countries with updates, "
        f"{info['counts']['measure_types']} measure types in use)",
        f"machine: {os.cpu_count()} cores, python {platform.python_version()}",
        f"load average before: {load_before}",
        f"load average after:  {load_after}",
        "```",
        "",
        f"**{len(rows)} requests in {seconds:.1f} s ({len(rows) / seconds:.1f} requests/s), "
        f"{len(errors)} errors.**",
        "",
    ]
    if errors:
        by: dict[tuple, int] = {}
        for name, status, error in errors:
            by[(name, status, (error or "")[:100])] = by.get((name, status, (error or "")[:100]), 0) + 1
        lines += ["| kind | status | error | count |", "|---|---:|---|---:|"]
        lines += [f"| {n} | {s} | {e} | {c} |" for (n, s, e), c in sorted(by.items(), key=lambda x: -x[1])]
        lines.append("")
    lines += ["| kind | requests | req/s | errors | p50 ms | p90 ms | p99 ms | max ms |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    every = []
    for name in sorted(kinds):
        times = [ms for ms, _, _ in kinds[name]]
        every += times
        n_err = sum(is_error(name, s, e) for _, s, e in kinds[name])
        lines.append(f"| {name} | {len(times)} | {len(times) / seconds:.1f} | {n_err} | {pct(times, .5):.0f} | "
                     f"{pct(times, .9):.0f} | {pct(times, .99):.0f} | {max(times):.0f} |")
    lines.append(f"| **all** | {len(every)} | {len(every) / seconds:.1f} | {len(errors)} | {pct(every, .5):.0f} | "
                 f"{pct(every, .9):.0f} | {pct(every, .99):.0f} | {max(every):.0f} |")
    lines.append("")
    during = [s for s in samples if started <= s["t"] <= ended] or samples
    lines += [f"Memory (RSS, MiB; {len(during)} samples, one a second during the run):", "",
              "| processes | min | max | at end |", "|---|---:|---:|---:|"]
    for key, label in [("master", "gunicorn master"), ("workers", "gunicorn workers (sum)"),
                       ("max_worker", "largest gunicorn worker"), ("query_workers", "query workers (sum)"),
                       ("max_query_worker", "largest query worker"), ("total", "**all together**")]:
        values = [s[key] for s in during]
        lines.append(f"| {label} | {mb(min(values))} | {mb(max(values))} | {mb(values[-1])} |")
    series = " ".join(f"{mb(s['total'])}" for s in during[::10])
    lines += ["", f"All together over time (MiB, every 10 s from the start): {series}."]
    counts_w = sorted({s["n_workers"] for s in during})
    counts_q = sorted({s["n_query_workers"] for s in during})
    lines += ["", f"Process counts seen: gunicorn workers {counts_w}, query workers {counts_q}. "
              f"Requests answered per gunicorn worker (pid: count): "
              + ", ".join(f"{pid}: {n}" for pid, n in sorted(per_worker.items())) + ".", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="an existing embedded store (default: built from data/)")
    parser.add_argument("--synthetic", type=int, help="serve N synthetic updates instead (bench/synthetic.py)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (sync, gthread)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--query-workers", type=int, default=2, help="KG_QUERY_WORKERS per gunicorn worker")
    parser.add_argument("--out", type=Path, help="folder for the report and raw data (default /tmp/kg-load-<time>)")
    args = parser.parse_args(argv)

    store = args.store or build_store(args.synthetic)
    label = f"{args.synthetic} synthetic updates" if args.synthetic else ("data/" if not args.store else str(args.store))
    out = args.out or Path(f"/tmp/kg-load-{dt.datetime.now():%Y%m%d-%H%M%S}")
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn_cmd = [str(BIN / "gunicorn"), "--workers", str(args.workers), "--worker-class", args.worker_class,
                    "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "--timeout", "120"]
    if args.worker_class == "gthread":
        gunicorn_cmd += ["--threads", str(args.threads)]
    gunicorn_cmd.append("app:app")
    env = {**os.environ, "KG_STORE": str(store), "KG_QUERY_WORKERS": str(args.query_workers),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    log = open(out / "gunicorn.log", "wb")
    server = subprocess.Popen(gunicorn_cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    sampler = None
    try:
        wait_for(base + "/index.json", server)
        info = targets(base)
        info["label"] = label
        (out / "targets.json").write_text(json.dumps(info))
        from importlib.metadata import version  # never `import locust` here: it monkey-patches with gevent

        info["locust"] = version("locust")
        sampler = MemorySampler(server.pid)
        sampler.start()
        load_before = open("/proc/loadavg").read().strip()
        started = time.time()
        subprocess.run(
            [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u", str(args.users),
             "-r", str(args.spawn_rate), "-t", f"{args.duration}s", "--host", base, "--csv", str(out / "locust"),
             "--only-summary", "--stop-timeout", "30", "--loglevel", "WARNING", "--exit-code-on-error", "0"],
            env={**os.environ, "KG_LOAD_TARGETS": str(out / "targets.json"), "KG_LOAD_RAW": str(out / "requests.jsonl")},
            check=True, stdout=open(out / "locust.log", "wb"), stderr=subprocess.STDOUT,
        )
        ended = time.time()
        load_after = open("/proc/loadavg").read().strip()
        time.sleep(1.5)  # one more memory sample after the load
    finally:
        if sampler is not None:
            sampler.stop.set()
            sampler.join()
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    rows = [json.loads(line) for line in (out / "requests.jsonl").read_text().splitlines()]
    # req/s over the span of the requests themselves (locust's start-up and stop are not load)
    window = (min(r[1] for r in rows), max(r[1] + r[2] / 1000 for r in rows))
    with open(out / "memory.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(sampler.samples[0]))
        writer.writeheader()
        writer.writerows(sampler.samples)
    text = report(args, store, info, rows, sampler.samples, window, load_before, load_after, gunicorn_cmd)
    (out / "report.md").write_text(text)
    print(text)
    print(f"(raw data in {out})")
    errors = sum(is_error(row[0], row[3], row[4]) for row in rows)
    return 1 if errors else 0  # exit status 1: the goal (0 errors) was not met


if __name__ == "__main__":
    sys.exit(main())
