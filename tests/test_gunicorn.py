"""Many app workers on one embedded store: `gunicorn app:app` with 3 workers; a load seen by one is seen by all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from kg.load import Loader
from kg.store import EmbeddedStore

from conftest import DATA, ROOT, TEST_DATA
from servers import free_port, wait_for

COUNT = "PREFIX kg: <https://w3id.org/detention-kg/def/> SELECT (COUNT(?u) AS ?n) WHERE { ?u a kg:Update }"


def count(base: str) -> tuple[int, str]:
    """The number of updates one worker sees, and that worker's pid (from a response header)."""
    url = f"{base}/sparql?" + urllib.parse.urlencode({"query": COUNT})
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json", "Connection": "close"})
    with urllib.request.urlopen(request, timeout=20) as response:
        body = json.loads(response.read())
        return int(body["results"]["bindings"][0]["n"]["value"]), response.headers["KG-Worker"]


def test_a_load_seen_by_one_worker_is_seen_by_all(tmp_path):
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
    store_path = tmp_path / "store"
    store = EmbeddedStore(store_path)
    Loader(store).load([ROOT / "ontology", DATA / "reference", TEST_DATA / "load" / "2020-07-01-testland.ttl"])
    store.close()
    port = free_port()
    env = {**os.environ, "KG_STORE": str(store_path), "KG_QUERY_WORKERS": "1"}
    server = subprocess.Popen(
        [gunicorn, "--workers", "3", "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "app:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/index.json", server, timeout=60)
        before = {}
        deadline = time.monotonic() + 60
        while len(before) < 3 and time.monotonic() < deadline:  # reach every worker at least once
            n, worker = count(base)
            before[worker] = n
        assert len(before) == 3 and set(before.values()) == {1}, before

        loaded = subprocess.run(
            [sys.executable, "-m", "kg.cli", "load", "--store", str(store_path), str(TEST_DATA / "load" / "2020-07-02-testland.ttl")],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr

        after = {}
        deadline = time.monotonic() + 60
        while len(after) < 3 and time.monotonic() < deadline:
            n, worker = count(base)
            after[worker] = n
        assert after == {worker: 2 for worker in before}, after
    finally:
        server.terminate()
        server.wait(timeout=30)
