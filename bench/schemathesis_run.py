"""Schemathesis over openapi.yaml against the app served on loopback.

    python bench/schemathesis_run.py [--store FOLDER] [--max-examples N] [--checks LIST]
                                     [--seed S] [--report-dir DIR] [--quiet] [-- EXTRA st run OPTIONS]

Serves the Flask app (`kg.web.create_app`) with werkzeug's threaded server on 127.0.0.1:<free port>
over an embedded store — FOLDER if given, else a fresh one built like the tests' web store (the
ontology, the reference data, the seed update and the three it cites, and tests/data/web's fixture
updates, one of which carries hostile markup) — then runs `schemathesis run openapi.yaml` against
it (examples, coverage and fuzzing phases; positive and negative data) and exits with its status:
0 when no check failed.

Checks (default): not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance, response_headers_conformance, negative_data_rejection. Left out by
default, on purpose: positive_data_acceptance (a well-formed IRI of an unknown resource is a 404,
as linked data requires, not an error of the API), and the checks about authentication, resources
created and deleted, and methods (the documented surface is read-only and public). `--checks all`
runs everything.

Needs `pip install schemathesis`. Nothing is written into the working tree: schemathesis runs in a
temporary folder (its report goes to --report-dir when given).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "openapi.yaml"
DEFAULT_CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
    "response_headers_conformance", "negative_data_rejection",
])
SEED_UPDATES = ("2020-06-14-kazakhstan", "2020-06-10-germany", "2020-06-02-lebanon", "2020-05-26-south-africa")


def web_files() -> list[Path]:
    """What the tests' web_store holds (tests/conftest.py WEB_FILES)."""
    return [
        ROOT / "ontology",
        ROOT / "data" / "reference",
        *(ROOT / "data" / "updates" / f"{slug}.ttl" for slug in SEED_UPDATES),
        *sorted((ROOT / "tests" / "data" / "web").glob("*.ttl")),
    ]


def build_store(folder: Path) -> None:
    from kg.load import Loader
    from kg.store import EmbeddedStore

    store = EmbeddedStore(folder)
    try:
        Loader(store).load(web_files())
    finally:
        store.close()


def serve(store: Path, query_timeout: int):
    """The app on 127.0.0.1:<free port> in a daemon thread; returns (base URL, server, app)."""
    import logging

    from werkzeug.serving import make_server

    from kg.web import create_app

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log: schemathesis reports what matters

    app = create_app({"KG_STORE": str(store), "KG_QUERY_TIMEOUT": str(query_timeout), "KG_MAX_ROWS": "1000"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server, app


# Loaded by schemathesis (SCHEMATHESIS_HOOKS): how to send an application/sparql-query body.
HOOKS = """
import schemathesis


@schemathesis.serializer("application/sparql-query")
def sparql_query(ctx, value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")
"""


def _short(line: str, limit: int = 400) -> str:
    """Long request bodies (100 kB queries) make unreadable logs: cut every line."""
    return line if len(line) <= limit else line[:limit] + f" … [{len(line) - limit} more characters]"


def schemathesis_command() -> list[str]:
    found = shutil.which("schemathesis") or shutil.which("st")
    beside = Path(sys.executable).parent / "schemathesis"
    if beside.exists():
        found = str(beside)
    if not found:
        raise SystemExit("schemathesis is not installed: pip install schemathesis")
    return [found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="an existing embedded store (default: build a fresh one)")
    parser.add_argument("--max-examples", type=int, default=25, help="test cases per operation and phase (default 25)")
    parser.add_argument("--checks", default=DEFAULT_CHECKS, help="schemathesis checks (comma-separated, or all)")
    parser.add_argument("--seed", type=int, default=20260101, help="random seed, for a reproducible run")
    parser.add_argument("--workers", default="2", help="concurrent schemathesis workers (default 2)")
    parser.add_argument("--query-timeout", type=int, default=5, help="KG_QUERY_TIMEOUT of the served app (s)")
    parser.add_argument("--report-dir", type=Path, help="write JUnit and NDJSON reports here")
    parser.add_argument("--quiet", action="store_true", help="print only the summary and failures")
    parser.add_argument("extra", nargs="*", help="more `schemathesis run` options (after --)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kg-schemathesis-") as scratch:
        scratch = Path(scratch)
        store = args.store
        if store is None:
            started = time.monotonic()
            store = scratch / "store"
            build_store(store)
            print(f"built a store in {time.monotonic() - started:.1f} s", flush=True)
        base, server, app = serve(store, args.query_timeout)
        command = [
            *schemathesis_command(), "run", str(SPEC), "--url", base,
            "--checks", args.checks, "--max-examples", str(args.max_examples), "--seed", str(args.seed),
            "--workers", str(args.workers), "--phases", "examples,coverage,fuzzing",
            "--request-timeout", str(args.query_timeout + 10), "--suppress-health-check", "all",
            "--output-truncate", "true",
        ]
        if args.report_dir is not None:
            args.report_dir.mkdir(parents=True, exist_ok=True)
            command += ["--report", "junit,ndjson", "--report-dir", str(args.report_dir.resolve())]
        command += args.extra
        print("$ " + " ".join(command), flush=True)
        started = time.monotonic()
        env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": "kg_schemathesis_hooks",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(scratch), os.environ.get("PYTHONPATH")]))}
        (scratch / "kg_schemathesis_hooks.py").write_text(HOOKS, encoding="utf-8")
        try:
            done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True)
        finally:
            server.shutdown()
            if app.extensions.get("kg_runner") is not None:
                app.extensions["kg_runner"].close()
        elapsed = time.monotonic() - started
        lines = [_short(line) for line in (done.stdout or "").splitlines()]
        if args.quiet:
            keep = [i for i, line in enumerate(lines) if "FAILURES" in line or "SUMMARY" in line]
            lines = lines[keep[0]:] if keep else lines[-40:]
        print("\n".join(lines))
        if done.returncode and done.stderr:
            print("\n".join(_short(line) for line in done.stderr.splitlines()[-60:]), file=sys.stderr)
        print(f"schemathesis exited with {done.returncode} after {elapsed:.1f} s", flush=True)
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
