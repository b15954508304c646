"""`kg serve` on a fresh checkout: builds the embedded store from ontology/ and data/, then reuses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

from kg.store import EmbeddedStore

from conftest import DATA
from servers import free_port, wait_for


def serve(store_dir, port):
    env = {**os.environ, "KG_STORE": str(store_dir), "KG_PORT": str(port)}
    return subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def stop(process) -> str:
    process.terminate()
    output, _ = process.communicate(timeout=20)
    return output


def test_first_start_builds_the_store_and_later_starts_reuse_it(tmp_path):
    store_dir = tmp_path / "store"
    port = free_port()
    first = serve(store_dir, port)
    try:
        wait_for(f"http://127.0.0.1:{port}/", first, timeout=120)
        home = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/index.json").read())
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/id/update/2020-06-14-kazakhstan").read().decode()
    finally:
        output = stop(first)
    files = len(list(DATA.rglob("*.ttl"))) + len(list((DATA.parent / "ontology").glob("*.ttl")))
    assert "built the store:" in output and f"{files} loaded" in output, output
    assert home["counts"]["updates"] == len(list((DATA / "updates").glob("*.ttl")))
    assert "Kazakhstan, 14 June 2020" in page

    store = EmbeddedStore(store_dir)
    version = store.version()
    store.close()

    second = serve(store_dir, port)
    try:
        wait_for(f"http://127.0.0.1:{port}/", second, timeout=60)
    finally:
        output = stop(second)
    assert "built the store" not in output and "serving embedded store at" in output
    store = EmbeddedStore(store_dir)
    assert store.version() == version
    store.close()
