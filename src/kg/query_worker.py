"""A query worker process: runs SPARQL on a read-only handle of the embedded store.

Oxigraph has no query timeout, so the runner (kg.runner) sends each query to one of these
processes and kills it if it overruns. Imports stay minimal so a replacement starts quickly.
The handle is a snapshot: it is reopened whenever the store's version marker changes.
"""

from __future__ import annotations

import os

MARKER = "kg-version"  # a file in the store folder, rewritten after every write


def marker_state(store_path: str) -> tuple:
    """What identifies the store's current version from outside (cheap: one stat)."""
    try:
        info = os.stat(os.path.join(store_path, MARKER))
        return (info.st_mtime_ns, info.st_size, info.st_ino)
    except FileNotFoundError:
        return ()


def _term(term):
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return ("u", term.value)
    if isinstance(term, ox.BlankNode):
        return ("b", term.value)
    if isinstance(term, ox.Literal):
        return ("l", term.value, term.language, None if term.language else term.datatype.value)
    return None


def _run(store, request: dict):
    import pyoxigraph as ox

    kwargs = {"use_default_graph_as_union": not request.get("default_graphs")}
    if request.get("default_graphs"):
        kwargs["default_graph"] = [ox.NamedNode(g) for g in request["default_graphs"]]
    if request.get("named_graphs"):
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in request["named_graphs"]]
    results = store.query(request["query"], **kwargs)
    cap = request["max_rows"]
    if isinstance(results, ox.QueryBoolean):
        return {"kind": "ask", "boolean": bool(results)}
    if isinstance(results, ox.QuerySolutions):
        names = [v.value for v in results.variables]
        rows, truncated = [], False
        for solution in results:
            if len(rows) == cap:
                truncated = True
                break
            rows.append([_term(solution[name]) for name in names])
        return {"kind": "select", "variables": names, "rows": rows, "truncated": truncated}
    triples, truncated = [], False
    for triple in results:
        if len(triples) == cap:
            truncated = True
            break
        triples.append((_term(triple.subject), _term(triple.predicate), _term(triple.object)))
    return {"kind": "graph", "triples": triples, "truncated": truncated}


def serve(requests, replies, store_path: str) -> None:
    """Answer query requests from REQUESTS on REPLIES until None arrives or the pipe closes."""
    import pyoxigraph as ox

    store, seen = None, None
    connection = replies
    while True:
        try:
            request = requests.recv()
        except EOFError:
            return
        if request is None:
            return
        try:
            state = marker_state(store_path)
            if store is None or state != seen:
                store = None
                store = ox.Store.read_only(store_path)
                seen = state
            connection.send(("ok", _run(store, request)))
        except SyntaxError as error:
            connection.send(("syntax", str(error)))
        except OSError as error:
            connection.send(("store", str(error)))
        except Exception as error:  # anything else the engine raises: report it, keep serving
            connection.send(("error", f"{type(error).__name__}: {error}"))


def main(argv: list[str]) -> None:
    """python -m kg.query_worker STORE_PATH READ_FD WRITE_FD (started by kg.runner)."""
    from multiprocessing.connection import Connection

    store_path, read_fd, write_fd = argv[0], int(argv[1]), int(argv[2])
    serve(Connection(read_fd, writable=False), Connection(write_fd, readable=False), store_path)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
