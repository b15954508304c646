"""The query worker pool replaces a worker that ran a long query by a fresh, warmed one.

A process that has run a long query keeps that query's heap, and its later queries run 10-25 %
slower (bench/RESULTS.md, "Worn query workers"). These tests use the real pool on the web fixture
store and look at the worker processes themselves: which process answers, which exit, and that no
request waits for a worker to start: the spare is started and warmed in the background.
"""

from __future__ import annotations

import os

import pytest

from kg.runner import Limits, QueryRunner
from servers import eventually

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def idle_pids(runner: QueryRunner) -> list[int]:
    return [worker.process.pid for worker in list(runner.pool._idle.queue)]


def spare_pid(runner: QueryRunner) -> int | None:
    spare = runner.pool._spare
    return spare.process.pid if spare is not None else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def count(runner: QueryRunner) -> int:
    return int(runner.run(COUNT).rows[0]["n"])


@pytest.fixture
def make_runner(web_store):
    made = []

    def make(recycle_after: float, workers: int = 1) -> QueryRunner:
        runner = QueryRunner(None, Limits(timeout=30, max_rows=100, workers=workers, recycle_after=recycle_after),
                             store_path=web_store)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.close()


def test_a_worn_worker_is_swapped_for_a_warmed_spare(make_runner):
    runner = make_runner(recycle_after=1e-9)  # every query counts as long
    expected = count(runner)
    (first,) = idle_pids(runner)
    assert runner.pool._idle.queue[0].worn, "the worker that ran the query is marked worn"
    spare = eventually(lambda: spare_pid(runner), "a spare worker started and warmed in the background")
    assert spare != first

    # The next query is answered by the spare, not by the worn worker, and gives the same answer.
    assert count(runner) == expected
    eventually(lambda: not alive(first), "the worn worker to exit")
    assert first not in idle_pids(runner) and len(idle_pids(runner)) == 1
    # The spare has now run a long query too, so another spare is prepared: the pool keeps its size.
    eventually(lambda: spare_pid(runner) not in (None, first, spare), "the next spare")
    assert len(idle_pids(runner)) == 1
    assert count(runner) == expected


def test_short_queries_keep_their_worker(make_runner):
    runner = make_runner(recycle_after=60)
    answers = {count(runner) for _ in range(5)}
    assert len(answers) == 1
    (worker,) = list(runner.pool._idle.queue)
    assert not worker.worn and runner.pool._spare is None and runner.pool._preparing is None
    assert idle_pids(runner) == [worker.process.pid]


def test_recycling_off_keeps_every_worker(make_runner):
    runner = make_runner(recycle_after=0)
    count(runner)
    (pid,) = idle_pids(runner)
    for _ in range(3):
        count(runner)
    assert idle_pids(runner) == [pid]
    assert runner.pool._spare is None and runner.pool._preparing is None


def test_close_stops_the_spare_and_the_workers(make_runner):
    runner = make_runner(recycle_after=1e-9, workers=2)
    count(runner)
    eventually(lambda: spare_pid(runner), "a spare")
    pids = idle_pids(runner) + [spare_pid(runner)]
    runner.close()
    eventually(lambda: not any(alive(pid) for pid in pids), "every worker and the spare to exit", timeout=10)
    assert runner.pool._spare is None


def test_the_setting_reaches_the_pool(tmp_path, web_store):
    from kg.web import create_app, get_runner

    app = create_app({"TESTING": True, "KG_STORE": str(web_store), "KG_QUERY_RECYCLE": "0.75"})
    with app.app_context():
        runner = get_runner()
        try:
            assert runner.limits.recycle_after == 0.75 and runner.pool.recycle_after == 0.75
        finally:
            runner.close()
