"""Load benchmarks of issue 3, in one run: bulk load with validation vs `oxigraph load`, and one-file loads.

    .venv/bin/python bench/bench_load.py [--sizes 1000 10000 100000] [--workdir /tmp/kg-bench]
                                         [--one-file-runs 20] [--seed 0] [--json results.json]

For each size N it generates N synthetic updates (bench/synthetic.py) and the same data as one
N-Quads file, then times, each from a fresh store folder and as a separate process:

* ``oxigraph load --location DIR --file all.nq`` (the `oxigraph` CLI from PyPI, no validation);
* our bulk load with validation (kg.bulk.BulkLoader, embedded store) of the N Turtle files:
  parse, SHACL checks, graphs and provenance written, the store flushed and closed (timed from
  the process's launch, so the interpreter's start and the imports count too).

Throughput is data triples per second (the provenance the bulk load also writes is not
counted); the ratio is ours / oxigraph's (goal ≥ 0.25).

Then, with the largest store: one-file loads of new synthetic updates into an empty store and
into that store, each run a different new file, median of ``--one-file-runs`` (goal: ratio ≤
1.5): with kg.bulk.BulkLoader (what `kg load FILE` runs) and with kg.load.Loader (the editor's
preview-then-load path).
Each scenario reuses one validator whose shapes and context are parsed before timing (a
long-running process); in the empty store it is told the updates the file cross-references (the
store does not have them), in the big store they come from the store, as in real use.

It prints a Markdown report (machine, command, figures) and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
OXIGRAPH = shutil.which("oxigraph", path=str(Path(PYTHON).parent)) or shutil.which("oxigraph")

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _bulk(store_dir: str, source: str, workers: str, launched: str) -> None:
    """In a fresh process: bulk-load SOURCE into a new store at STORE_DIR; timings as JSON on stdout.

    The time runs from LAUNCHED (the parent's clock before it started this process, so the
    interpreter's start and the imports count) until the store is flushed and closed; checking
    what was loaded comes after and is not timed."""
    started = time.perf_counter()
    from kg.bulk import BulkLoader
    from kg.store import EmbeddedStore
    from kg.validate import Validator

    imported = time.perf_counter()
    store = EmbeddedStore(store_dir)
    loader = BulkLoader(store, Validator(known_updates=[]), workers=int(workers) or None)
    summary = loader.load([source])
    store.close()
    done = time.perf_counter()
    total = time.time() - float(launched)
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in usage)
    store = EmbeddedStore(store_dir)
    graphs = len(store.graphs())
    store.close()
    print(json.dumps({
        "total_s": total, "cpu_s": cpu, "imports_s": imported - started, "load_s": done - imported,
        "phases": loader.timings, "loaded": len(summary.loaded), "graphs": graphs,
        "triples": sum(f.outcome.triples for f in summary.loaded),
    }))


def timed(command: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall and CPU seconds (user + system, the process and its children) of a command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result


def count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def bench_size(n: int, work: Path, seed: int, workers: int) -> dict:
    import synthetic

    folder = work / f"{n}"
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    synthetic.generate(n, folder / "updates", seed=seed, dataset=folder / "all.nq")
    generated = time.perf_counter() - started
    triples = count_lines(folder / "all.nq")

    load_before = load_average()
    ox_wall, ox_cpu, _ = timed([OXIGRAPH, "load", "--location", str(folder / "oxigraph-store"), "--file", str(folder / "all.nq")])
    _, _, result = timed(
        [PYTHON, __file__, "_bulk", str(folder / "kg-store"), str(folder / "updates"), str(workers), repr(time.time())]
    )
    detail = json.loads(result.stdout.strip().splitlines()[-1])
    ours_wall, ours_cpu = detail["total_s"], detail["cpu_s"]
    assert detail["loaded"] == n and detail["graphs"] == n and detail["triples"] == triples, detail
    shutil.rmtree(folder / "oxigraph-store", ignore_errors=True)
    figures = {
        "updates": n, "triples": triples, "generate_s": generated,
        "oxigraph_load_s": ox_wall, "oxigraph_load_cpu_s": ox_cpu, "oxigraph_triples_per_s": triples / ox_wall,
        "bulk_s": ours_wall, "bulk_cpu_s": ours_cpu, "bulk_triples_per_s": triples / ours_wall,
        "ratio": ox_wall / ours_wall, "bulk_detail": detail, "load_average": [load_before, load_average()],
    }
    print(
        f"{n:>7} updates, {triples:>8} triples: oxigraph load {ox_wall:7.1f} s ({triples / ox_wall:9.0f} t/s), "
        f"bulk+validation {ours_wall:7.1f} s ({triples / ours_wall:9.0f} t/s), ratio {ox_wall / ours_wall:.2f}",
        flush=True,
    )
    return figures


def bench_one_file(big_store: Path, work: Path, n_big: int, runs: int, seed: int) -> dict:
    """Median one-file load times into an empty store and into the big store."""
    import synthetic
    from kg.bulk import BulkLoader
    from kg.load import Loader
    from kg.store import EmbeddedStore
    from kg.validate import Validator

    folder = work / "one-file"
    shutil.rmtree(folder, ignore_errors=True)
    paths = synthetic.generate(4 * runs, folder / "updates", seed=seed, start=n_big)  # new updates
    vocab = synthetic.vocabulary()

    def targets(path: Path) -> list[str]:
        text = path.read_text()
        return [f"{synthetic.ID}update/{slug}" for slug in _referenced(text)]

    def warm(validator: Validator) -> Validator:
        validator.shapes, validator.context  # parsed once per process, as in a long-running process
        return validator

    results: dict[str, list[float]] = {}
    big = EmbeddedStore(big_store)
    try:
        for label, loader_class, files in (
            ("loader", Loader, paths[: runs]),
            ("bulk", BulkLoader, paths[runs : 2 * runs]),
        ):
            empty_times, big_times = [], []
            empty_validator, big_validator = warm(Validator(known_updates=[])), warm(Validator(known_updates=[]))
            for i, path in enumerate(files):
                empty = EmbeddedStore(folder / f"empty-{label}-{i}")
                empty_validator.known_updates |= set(targets(path))  # the store does not have them
                started = time.perf_counter()
                summary = loader_class(empty, empty_validator).load([path])
                empty_times.append(time.perf_counter() - started)
                assert len(summary.loaded) == 1
                empty.close()
                shutil.rmtree(folder / f"empty-{label}-{i}")
            for path in paths[2 * runs :][: runs] if label == "loader" else paths[3 * runs :]:
                started = time.perf_counter()
                summary = loader_class(big, big_validator).load([path])
                big_times.append(time.perf_counter() - started)
                assert len(summary.loaded) == 1
            results[label] = [statistics.median(empty_times), statistics.median(big_times)]
            print(
                f"one file, {label:6}: empty store {results[label][0] * 1000:7.1f} ms, {n_big} store "
                f"{results[label][1] * 1000:7.1f} ms (medians of {runs}), ratio {results[label][1] / results[label][0]:.2f}",
                flush=True,
            )
    finally:
        big.close()
    del vocab
    return {
        label: {"empty_ms": e * 1000, "big_ms": b * 1000, "ratio": b / e, "runs": runs, "big_store_updates": n_big}
        for label, (e, b) in results.items()
    }


def _referenced(text: str) -> list[str]:
    import re

    return re.findall(r"kg:target update:([A-Za-z0-9-]+)", text)


def machine() -> dict:
    def run(*command):
        try:
            return subprocess.run(command, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "n/a"

    packages = {}
    for name in ("pyoxigraph", "oxigraph", "pyshacl", "rdflib"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = "not installed"
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    return {
        "nproc": run("nproc"), "free -h": run("free", "-h"), "cpu": cpu, "python": platform.python_version(),
        "platform": platform.platform(), "packages": packages, "oxigraph --version": run(OXIGRAPH, "--version"),
        "load average at start": load_average(),
    }


def markdown(info: dict, sizes: list[dict], one: dict, command: str) -> str:
    lines = ["## Run of " + time.strftime("%Y-%m-%d %H:%M:%S %Z"), "", "```", command, "```", ""]
    lines += ["Machine:", "", "```"]
    lines += [f"nproc: {info['nproc']}", f"cpu: {info['cpu']}", f"python: {info['python']} ({info['platform']})"]
    lines += [f"{k}: {v}" for k, v in info["packages"].items()] + [f"oxigraph CLI: {info['oxigraph --version']}"]
    lines += ["free -h:", info["free -h"], f"load average at start: {info['load average at start']}", "```", ""]
    lines += [
        "| updates | triples | `oxigraph load` s | t/s | CPU s | bulk + validation s | t/s | CPU s | ratio (goal ≥ 0.25) | load avg before / after |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in sizes:
        lines.append(
            f"| {s['updates']} | {s['triples']} | {s['oxigraph_load_s']:.1f} | {s['oxigraph_triples_per_s']:.0f} | "
            f"{s['oxigraph_load_cpu_s']:.1f} | {s['bulk_s']:.1f} | {s['bulk_triples_per_s']:.0f} | {s['bulk_cpu_s']:.1f} | "
            f"**{s['ratio']:.2f}** | {s['load_average'][0]} / {s['load_average'][1]} |"
        )
    lines += ["", "Phases of the bulk load (seconds, wall):", ""]
    for s in sizes:
        phases = ", ".join(f"{k} {v:.1f}" for k, v in s["bulk_detail"]["phases"].items())
        lines.append(f"- {s['updates']}: imports {s['bulk_detail']['imports_s']:.1f}, {phases}")
    if one:
        lines += ["", "| one-file load | empty store ms | big store ms | ratio (goal ≤ 1.5) |", "|---|---:|---:|---:|"]
        for label, f in one.items():
            name = "kg.load.Loader (the editor's load)" if label == "loader" else "kg.bulk.BulkLoader (what `kg load FILE` runs)"
            lines.append(f"| {name}, {f['big_store_updates']}-update store, median of {f['runs']} | "
                         f"{f['empty_ms']:.1f} | {f['big_ms']:.1f} | **{f['ratio']:.2f}** |")
    return "\n".join(lines) + "\n"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_bulk":
        _bulk(*sys.argv[2:6])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--workdir", default="/tmp/kg-bench")
    parser.add_argument("--one-file-runs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=0, help="bulk-load partitions (0: automatic)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    if not OXIGRAPH:
        raise SystemExit("the oxigraph CLI is not installed: .venv/bin/pip install oxigraph")
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(ROOT)
    info = machine()
    command = " ".join([os.path.relpath(PYTHON, ROOT), os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    sizes = [bench_size(n, work, args.seed, args.workers) for n in args.sizes]
    largest = max(args.sizes)
    one = bench_one_file(work / f"{largest}" / "kg-store", work, largest, args.one_file_runs, args.seed) if args.one_file_runs else {}
    report = markdown(info, sizes, one, command)
    print()
    print(report)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "sizes": sizes, "one_file": one, "command": command}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
